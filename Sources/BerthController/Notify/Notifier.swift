import AsyncHTTPClient
public import BerthModel
import Foundation
public import Logging
import NIOCore
public import ServiceLifecycle

/// Sends notices to the configured channels without ever holding up a reconcile: rounds are
/// handed over without waiting (`submit`), deliveries wait in a bounded queue that drops its
/// oldest when full, and each is sent with a deadline and retried with growing delays.
public actor Notifier: Service {
    /// One channel to send to, its credentials read.
    public struct Target: Sendable {
        public var channel: NotificationManifest.Channel
        public var url: String
        public var secret: [UInt8]?
        public var events: Set<NotificationManifest.Event>

        public init(channel: NotificationManifest.Channel, url: String, secret: [UInt8]? = nil, events: Set<NotificationManifest.Event>) {
            self.channel = channel
            self.url = url
            self.secret = secret
            self.events = events
        }
    }

    /// How hard to try.
    public struct Delivery: Sendable {
        public var attempts: Int
        public var firstRetry: Duration
        public var timeout: Duration
        public var capacity: Int

        public init(attempts: Int = 4, firstRetry: Duration = .milliseconds(500), timeout: Duration = .seconds(5), capacity: Int = 100) {
            self.attempts = attempts
            self.firstRetry = firstRetry
            self.timeout = timeout
            self.capacity = capacity
        }
    }

    let targets: [Target]
    let delivery: Delivery
    let metrics: Metrics
    let logger: Logger
    let host: String
    private var tracker = NoticeTracker()
    private var pending: [(notice: Notice, target: Target)] = []
    private let rounds: AsyncStream<(WatchRound, String)>
    private nonisolated let roundsIn: AsyncStream<(WatchRound, String)>.Continuation
    private let doorbell: AsyncStream<Void>
    private let ring: AsyncStream<Void>.Continuation

    public init(targets: [Target], delivery: Delivery = Delivery(), metrics: Metrics, logger: Logger) {
        self.targets = targets
        self.delivery = delivery
        self.metrics = metrics
        self.logger = logger
        self.host = ProcessInfo.processInfo.hostName
        (rounds, roundsIn) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(delivery.capacity))
        (doorbell, ring) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Hands a finished round over; never waits.
    public nonisolated func submit(_ round: WatchRound, stack: String) { roundsIn.yield((round, stack)) }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.intake() }
            group.addTask { await self.send() }
            await group.next()
            group.cancelAll()
        }
    }

    private func intake() async {
        for await (round, stack) in rounds.cancelOnGracefulShutdown() {
            for notice in tracker.notices(after: round, stack: stack) { post(notice) }
        }
    }

    /// Sends `notice` to every target that wants its event (besides those rounds make).
    public func post(_ notice: Notice) {
        for target in targets where target.events.contains(notice.event) { enqueue(notice, target) }
    }

    /// Queues a delivery; when the queue is full the oldest goes, counted.
    func enqueue(_ notice: Notice, _ target: Target) {
        if pending.count >= delivery.capacity {
            let dropped = pending.removeFirst()
            logger.warning("notification queue full; dropped a \(dropped.notice.event.rawValue) notice for \(dropped.target.channel.rawValue)")
            Task { [metrics] in await metrics.recordNotification(channel: dropped.target.channel.rawValue, outcome: "dropped") }
        }
        pending.append((notice, target))
        ring.yield()
    }

    private func send() async {
        for await _ in doorbell.cancelOnGracefulShutdown() {
            while !pending.isEmpty && !Task.isCancelled {
                let (notice, target) = pending.removeFirst()
                let sent = await deliver(notice, to: target)
                await metrics.recordNotification(channel: target.channel.rawValue, outcome: sent ? "sent" : "failed")
            }
        }
    }

    /// Sends one notice, retrying failures with doubling delays. True once a receiver said 2xx.
    func deliver(_ notice: Notice, to target: Target) async -> Bool {
        let request = NotificationFormat.request(notice, channel: target.channel, host: host, delivery: UUID().uuidString, secret: target.secret)
        var delay = delivery.firstRetry
        for attempt in 1...max(delivery.attempts, 1) {
            var http = HTTPClientRequest(url: target.url)
            http.method = .POST
            for (name, value) in request.headers { http.headers.add(name: name, value: value) }
            http.body = .bytes(ByteBuffer(bytes: request.body))
            var problem: String
            var final = false
            do {
                let response = try await HTTPClient.shared.execute(http, timeout: .nanoseconds(delivery.timeout.nanoseconds))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                if (200..<300).contains(response.status.code) { return true }
                problem = "answered \(response.status.code)"
                // A request the receiver refuses as such will not pass on a retry.
                final = (400..<500).contains(response.status.code) && ![408, 429].contains(response.status.code)
            } catch {
                problem = "\(error)"
            }
            // The URL is not logged: it may hold a token.
            logger.warning("notification to \(target.channel.rawValue) failed (attempt \(attempt) of \(delivery.attempts)): \(problem)")
            if final { break }
            if attempt < delivery.attempts {
                try? await Task.sleep(for: delay)
                delay *= 2
            }
        }
        return false
    }

    /// The targets the Stack's `notify:` names, credentials read from Berth's environment or files.
    /// - Throws: `ManifestErrors` naming the field of a variable not set or a file not readable.
    public static func targets(
        _ notifications: [NotificationManifest], environment: [String: String], directory: String
    ) throws(ManifestErrors) -> [Target] {
        try NotificationManifest.resolve(notifications, environment: environment, directory: directory) { path in
            try? String(contentsOfFile: path, encoding: .utf8)
        }.map { Target(channel: $0.channel, url: $0.url, secret: $0.secret.map { Array($0.utf8) }, events: Set($0.events)) }
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

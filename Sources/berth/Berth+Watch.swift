import ArgumentParser
import BerthController
import BerthEngine
import BerthModel
import BerthStore
import Foundation
import Logging
import ServiceLifecycle

extension Berth {
    /// Keeps a stack converged until stopped.
    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "watch",
            abstract: "Keep a stack converged: reconcile on Engine events, manifest edits and a periodic resync.",
            discussion: """
                Runs until SIGTERM or SIGINT, which let the reconcile in flight finish, then exit 0. Each \
                reconcile is logged in the state file with its trigger (startup, event, manifest, resync, \
                backoff, retry). A service that keeps dying, or whose steps keep failing, is repaired with \
                growing delays (0.25 s, 0.5 s, 1 s, … up to 5 min) while the rest of the stack converges; \
                a container someone removed or stopped is repaired at once. Only one watch per stack runs at a time.
                """)

        @OptionGroup var stack: StackOptions
        @OptionGroup var git: GitOptions
        @Option(help: "With --git: how often to fetch the ref (e.g. 60s, 5m; bare numbers are seconds).")
        var interval = "60s"
        @Option(
            name: .customLong("git-webhook-secret"),
            help: "With --git and --listen: a file holding the secret that signs POST /hooks/git (GitHub, Gitea, Forgejo, GitLab).",
            completion: .file())
        var webhookSecret: String?
        @OptionGroup var common: CommonOptions
        @Option(help: "Seconds between full resyncs, whatever the events say.")
        var resync = 30
        @Option(help: "Serve the status page (/), /healthz, /readyz and /metrics on PORT (loopback) or HOST:PORT (e.g. 0.0.0.0:9464).")
        var listen: String?
        @Option(help: "/readyz fails when no reconcile converged the stack within this many seconds.")
        var readyWithin = 600
        @Option(
            help: ArgumentHelp(
                "Send notifications to CHANNEL=URL (repeatable; channels: webhook, ntfy, slack), besides the Stack's 'notify:'.",
                discussion: "A webhook is signed with HMAC-SHA256 when BERTH_NOTIFY_SECRET is set."))
        var notify: [String] = []
        @Option(help: "Events for --notify channels, comma-separated: failed, rolled-back, crash-loop, drift-repaired.")
        var notifyOn = NotificationManifest.Event.defaults.map(\.rawValue).joined(separator: ",")

        func validate() throws {
            guard resync > 0 else { throw ValidationError("--resync must be at least 1 second") }
            guard readyWithin > 0 else { throw ValidationError("--ready-within must be at least 1 second") }
            _ = try flagTargets()
            guard (DurationText.parse(interval) ?? .zero) >= .seconds(1) else {
                throw ValidationError("--interval takes a duration of at least 1s (60s, 5m, 90), not '\(interval)'")
            }
            if webhookSecret != nil && (git.url == nil || listen == nil) {
                throw ValidationError("--git-webhook-secret goes with --git URL and --listen ADDRESS (the webhook is POST /hooks/git there)")
            }
            if let listen, Self.split(listen) == nil {
                throw ValidationError(
                    "--listen takes PORT or HOST:PORT with a port from 0 (any free one) to 65535, not '\(listen)': 9464 or 127.0.0.1:9464 for this host only, 0.0.0.0:9464 for every interface"
                )
            }
        }

        /// `HOST:PORT`, `[IPv6]:PORT`, or `PORT` alone on loopback; nil with an empty host or a
        /// port out of range.
        static func split(_ address: String) -> (String, Int)? {
            // A bare port is this host only: the status page names services and is not for everyone.
            if let port = Int(address), (0...65535).contains(port) { return ("127.0.0.1", port) }
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port)
            else { return nil }
            var host = String(address[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return host.isEmpty ? nil : (host, port)
        }

        func run() async throws {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = .info
                return handler
            }
            let logger = Logger(label: "berth.watch")
            let metrics = Metrics()
            let follower = try git.follower(
                statePath: common.statePath, store: try common.openStore(concurrentReads: true),
                interval: DurationText.parse(interval) ?? .seconds(60), metrics: metrics)
            let loaded: LoadedStack
            if let follower {
                loaded = try await firstStack(follower, logger: logger)
            } else {
                loaded = try stack.load()
            }
            let json = common.json
            do {
                try await withSession(common, stack: loaded.name, purpose: "watch", lockTimeout: .zero) { session in
                    try await watch(loaded, follower, session, metrics: metrics, logger: logger, json: json)
                }
            } catch let error as LockError {
                throw fail("berth watch: \(error)")
            }
        }

        /// The webhook secret: the file's first line.
        static func secret(from file: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CommandFailure("--git-webhook-secret \(file): cannot read the file")
            }
            let line = String(decoding: data.prefix(4096), as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { throw CommandFailure("--git-webhook-secret \(file): the file is empty") }
            return Array(line.utf8)
        }

        /// The `--notify CHANNEL=URL` targets.
        func flagTargets() throws -> [Notifier.Target] {
            var events = Set<NotificationManifest.Event>()
            for name in notifyOn.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
                guard let event = NotificationManifest.Event(rawValue: name) else {
                    throw ValidationError(
                        "--notify-on: unknown event '\(name)'; events: \(NotificationManifest.Event.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                events.insert(event)
            }
            let secret = ProcessInfo.processInfo.environment["BERTH_NOTIFY_SECRET"].flatMap { $0.isEmpty ? nil : Array($0.utf8) }
            return try notify.map { text in
                let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let channel = NotificationManifest.Channel(rawValue: parts[0]),
                    parts[1].hasPrefix("http://") || parts[1].hasPrefix("https://"), URL(string: parts[1])?.host != nil
                else {
                    throw ValidationError("--notify takes CHANNEL=URL with a channel of webhook, ntfy or slack and an http(s) URL")
                }
                return Notifier.Target(channel: channel, url: parts[1], secret: channel == .webhook ? secret : nil, events: events)
            }
        }

        /// The stack to start with, from a followed repository: the ref's commit once it can be
        /// fetched (retried with growing delays: a daemon starts before the network does), or
        /// the commit last applied from it meanwhile, which keeps the host as it is.
        private func firstStack(_ follower: GitFollower, logger: Logger) async throws -> LoadedStack {
            var attempt = 0
            while true {
                do {
                    try await follower.fetch()
                    return try await follower.stack(current: nil, reload: true)
                } catch let error as InvalidCommit {
                    if let stack = try? await follower.lastApplied() {
                        logger.error("manifests invalid, host left on commit \(GitOrigin.short(stack.origin?.commit ?? "")):\n\(error)")
                        return stack
                    }
                    throw CommandFailure("\(error)\nnothing was changed.")
                } catch {
                    if let stack = try? await follower.lastApplied() {
                        logger.warning("\(error); starting from commit \(GitOrigin.short(stack.origin?.commit ?? "")), applied before")
                        return stack
                    }
                    attempt += 1
                    let delay = Backoff(base: .seconds(1), cap: .seconds(60)).delay(attempt: attempt)
                    logger.warning("\(error); trying again in \(delay)")
                    try await Task.sleep(for: delay)
                }
            }
        }

        private func watch(
            _ loaded: LoadedStack, _ follower: GitFollower?, _ session: Session, metrics: Metrics, logger: Logger, json: Bool
        ) async throws {
            metrics.bootstrapSwiftMetrics()
            let targets: [Notifier.Target]
            do {
                targets =
                    try Notifier.targets(
                        loaded.manifest.notifications, environment: ProcessInfo.processInfo.environment, directory: loaded.manifest.directory)
                    + flagTargets()
            } catch let errors as ManifestErrors {
                throw ManifestFailure(errors: errors)
            }
            let notifier = targets.isEmpty ? nil : Notifier(targets: targets, metrics: metrics, logger: logger)
            let printer = Output.watchPrinter(json: json)
            let name = loaded.name
            let loop = ControlLoop(
                watching: follower ?? stack.source.source, options: stack.reconcileOptions,
                configuration: WatchConfiguration(resync: .seconds(resync)),
                engine: session.engine, store: session.store, metrics: metrics, logger: logger,
                onRound: { round in
                    printer(round)
                    notifier?.submit(round, stack: name)
                })
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: loop)]
            if let listen, let (host, port) = Self.split(listen) {
                let hook = try follower.flatMap { follower in
                    try webhookSecret.map { GitWebhook(secret: try Self.secret(from: $0), follower: follower, metrics: metrics, logger: logger) }
                }
                let server = StatusServer(
                    host: host, port: port, metrics: metrics, store: session.store, stack: loaded.name, readyWithin: .seconds(readyWithin),
                    gitHook: hook)
                services.append(.init(service: StatusService(server: server, address: listen, logger: logger), successTerminationBehavior: .ignore))
            }
            if let notifier {
                services.append(.init(service: notifier, successTerminationBehavior: .ignore))
                logger.info(
                    "notifying \(targets.map(\.channel.rawValue).joined(separator: ", ")) (\(targets.count) channel\(targets.count == 1 ? "" : "s"))")
            }
            logger.info(
                "watching \(loaded.name) (\(follower?.description ?? stack.source.source.description)) on \(session.engine.product) \(session.engine.engineVersion) (API \(session.engine.apiVersion)), resync every \(resync)s"
            )
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}

/// Runs the status server as a service of the group: stops when the group shuts down. It says
/// it serves once it is bound (with the port it got), and a failed bind ends `watch` with why.
struct StatusService: Service {
    let server: StatusServer
    let address: String
    let logger: Logger
    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await server.run { [logger] port in
                    logger.info("serving the status page, /healthz, /readyz and /metrics on \(server.host):\(port)")
                }
            }
        } catch is CancellationError {
            // Graceful shutdown: stopping is the expected way out.
        } catch {
            // NIO says `bind(descriptor:ptr:bytes:): Address already in use (errno: 98)`.
            var reason = "\(error)".components(separatedBy: "): ").last ?? "\(error)"
            if let errno = reason.range(of: " (errno:") {
                reason = String(reason[..<errno.lowerBound]).trimmingCharacters(in: CharacterSet(charactersIn: ")"))
            }
            throw CommandFailure("cannot listen on \(address): \(reason); choose another --listen address or port")
        }
    }
}

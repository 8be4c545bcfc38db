public import BerthEngine
public import BerthStore
public import Foundation
public import Logging
import NIOConcurrencyHelpers
public import ServiceLifecycle

/// When `berth watch` runs a round: timing only; what a round does is the `RoundReconciler`'s.
public struct WatchConfiguration: Sendable {
    /// A full reconcile at least this often, whatever the events say.
    public var resync: Duration
    /// How long to gather a burst of triggers into one reconcile.
    public var debounce: Duration
    /// Spacing of repairs of a crash-looping service, and of rounds requeued one after another.
    public var crashLoop: CrashLoopTracker
    /// Spacing of retries while the Engine is unreachable.
    public var engineRetry: Backoff
    /// How long one request for events lasts before the next one continues it (see `followEvents`).
    public var eventWindow: Duration

    public init(
        resync: Duration = .seconds(30), debounce: Duration = .milliseconds(25),
        crashLoop: CrashLoopTracker = CrashLoopTracker(backoff: Backoff(base: .milliseconds(250), cap: .seconds(300)), stableAfter: .seconds(10)),
        engineRetry: Backoff = Backoff(base: .milliseconds(500), cap: .seconds(30)), eventWindow: Duration = .seconds(300)
    ) {
        self.resync = resync
        self.debounce = debounce
        self.crashLoop = crashLoop
        self.engineRetry = engineRetry
        self.eventWindow = eventWindow
    }
}

/// One finished round of the loop, for the CLI to print.
public struct WatchRound: Sendable {
    public var trigger: Trigger
    /// Nil when the round failed before reconciling (invalid manifests, Engine unreachable).
    public var report: ReconcileReport?
    public var error: String?
    /// Crash-looping services (repaired twice or more in a row) and the wait before their next repair.
    public var held: [String: Duration]

    public init(trigger: Trigger, report: ReconcileReport? = nil, error: String? = nil, held: [String: Duration] = [:]) {
        self.trigger = trigger
        self.report = report
        self.error = error
        self.held = held
    }
}

/// Something besides the Engine and the manifest files that asks for rounds: a followed Git
/// repository's poller. Runs as long as the loop; pushes triggers.
public protocol TriggerSource: Sendable {
    func run(into queue: TriggerQueue) async
}

extension GitFollower: TriggerSource {}

/// The Engine's event stream, the one Engine call the loop makes itself.
public protocol EngineEventSource: Sendable {
    /// Events from `since` (nil: now); with `until`, the stream finishes normally at that time.
    func events(filters: [String: [String]], since: String?, until: Date?) -> AsyncThrowingStream<EngineEvent, any Error>
}

/// Keeps a stack converged by scheduling rounds of its `RoundReconciler`: on Engine events for
/// the stack's containers and networks (`EventTable`), on edits of its manifests, every `resync`,
/// and at startup. Level-based and coalescing; a requeued round is retried with growing delays,
/// an unreachable Engine with backoff; a crash-looping service is held back with growing delays
/// while the rest of the stack converges. On SIGTERM/SIGINT it finishes the round in flight and
/// returns. It never loads manifests, takes locks or reads a plan: that is behind the contract.
public final class ControlLoop: Service, Sendable {
    let configuration: WatchConfiguration
    let reconciler: any RoundReconciler
    let events: any EngineEventSource
    let metrics: Metrics
    let logger: Logger
    let onRound: @Sendable (WatchRound) -> Void
    let sources: [any TriggerSource]
    let queue = TriggerQueue()
    let state: LoopState

    public init(
        configuration: WatchConfiguration, reconciler: any RoundReconciler, events: any EngineEventSource, sources: [any TriggerSource] = [],
        metrics: Metrics = Metrics(), logger: Logger = Logger(label: "berth.watch"), onRound: @escaping @Sendable (WatchRound) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.reconciler = reconciler
        self.events = events
        self.sources = sources
        self.metrics = metrics
        self.logger = logger
        self.onRound = onRound
        self.state = LoopState(tracker: configuration.crashLoop)
    }

    /// The loop of `berth watch`: the stack read from `source`, reconciled on `engine`, logged in
    /// `store`. A followed repository also polls for new commits.
    public convenience init(
        watching source: any StackFeed, options: ReconcileOptions, configuration: WatchConfiguration = WatchConfiguration(),
        engine: any EngineClient, store: ReconcileStore, metrics: Metrics = Metrics(), logger: Logger = Logger(label: "berth.watch"),
        onRound: @escaping @Sendable (WatchRound) -> Void = { _ in }
    ) {
        let stack = WatchedStack(source: source, options: options, engine: engine, store: store, metrics: metrics, logger: logger)
        self.init(
            configuration: configuration, reconciler: stack, events: engine, sources: [source as? GitFollower].compactMap { $0 }, metrics: metrics,
            logger: logger, onRound: onRound)
    }

    public func run() async throws {
        let (stack, watched) = await reconciler.prepare()
        let queue = self.queue
        // Only files that can change the desired state: not the state file, locks or editors' temporaries.
        let watcher = try? ManifestWatcher(directories: watched.directories) { name in
            guard watched.matters(name) else { return }
            Task { await queue.push(Trigger(.manifest, name)) }
        }
        defer { watcher?.stop() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.followEvents(stack: stack, filters: EventTable.filters) }
            group.addTask { await self.followSwarmEvents(stack: stack) }
            group.addTask { await self.resyncPeriodically() }
            for source in sources { group.addTask { await source.run(into: queue) } }
            await queue.push(Trigger(.startup, "watch started"))
            for await _ in queue.doorbell.cancelOnGracefulShutdown() {
                try? await Task.sleep(for: configuration.debounce)
                let batch = await queue.drain()
                guard !batch.isEmpty else { continue }
                await round(batch)
            }
            group.cancelAll()
        }
        logger.info("watch stopped")
    }

    // MARK: Triggers

    /// Engine events for the stack's containers and networks; reconnects with backoff when the Engine goes away.
    ///
    /// The Engine sends nothing on a quiet stream, so a connection that silently died would look
    /// the same as a quiet host. The stream is therefore asked for in windows (`until`): the Engine
    /// closes each at its end and the next one starts where it ended, missing nothing; a window
    /// still open well after its end has stalled, and is retried like a lost Engine.
    private func followEvents(stack: String, filters: [String: [String]]) async {
        var attempt = 0
        // From now: without `since`, Podman replays its whole event log up to `until`.
        var since: String? = DockerClient.timestamp(Date())
        while !Task.isCancelled {
            let until = Date().addingTimeInterval(configuration.eventWindow.seconds)
            do {
                for try await event in events.events(filters: filters, since: since, until: until) {
                    attempt = 0
                    switch EventTable.meaning(of: event, stack: stack, scope: await state.scope) {
                    case .stoppedByHand(let container): await state.stoppedByHand(container)
                    case .reconcile(let trigger): await queue.push(trigger)
                    case nil: break
                    }
                }
                since = DockerClient.timestamp(until)
                continue
            } catch {
                // The round the reconnect asks for reads the host afresh.
                since = DockerClient.timestamp(Date())
                if Task.isCancelled { return }
                logger.warning("engine event stream ended: \(error)")
            }
            if Task.isCancelled { return }
            attempt += 1
            await metrics.setEngineUp(false)
            try? await Task.sleep(for: configuration.engineRetry.delay(attempt: attempt))
            await queue.push(Trigger(.retry, "event stream reconnect"))
        }
    }

    /// Service events, once a round has found the stack on a swarm: only a swarm manager has
    /// them, and an Engine that is not one (Podman) may refuse the filter.
    private func followSwarmEvents(stack: String) async {
        while !Task.isCancelled, await state.scope.services.isEmpty {
            do { try await Task.sleep(for: .seconds(1)) } catch { return }
        }
        await followEvents(stack: stack, filters: EventTable.swarmFilters)
    }

    private func resyncPeriodically() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.resync) } catch { return }
            await queue.push(Trigger(.resync, "every \(configuration.resync)"))
        }
    }

    /// Pushes `trigger` after `delay`, replacing any earlier pending wake-up of the same kind.
    private func wake(after delay: Duration, _ trigger: Trigger) async {
        let queue = self.queue
        await state.schedule(
            trigger.kind,
            Task {
                try? await Task.sleep(for: delay)
                if !Task.isCancelled { await queue.push(trigger) }
            })
    }

    // MARK: One round

    /// The Engine events pushed while a round runs (the loop drains the queue only between
    /// rounds), each handed out once.
    private func lateEvents() -> LateEvents {
        let queue = self.queue
        let seen = NIOLockedValueBox(0)
        return LateEvents {
            let new = await queue.peek(from: seen.withLockedValue { $0 })
            seen.withLockedValue { $0 = new.endIndex }
            return new.contains { $0.kind == .event }
        }
    }

    private func round(_ batch: [Trigger]) async {
        let began = ContinuousClock.now
        var request = await state.request(for: batch, at: began)
        request.late = lateEvents()
        await metrics.roundStarted("\(request.trigger.kind.rawValue): \(request.trigger.detail)")
        let result = await reconciler.reconcile(request)
        await metrics.roundEnded()
        let now = ContinuousClock.now
        await state.finished(request, result, began: began, at: now)
        let held = await state.backoff(at: now)
        await reconciler.backoffChanged(held)
        await metrics.setBackoff(held.mapValues { ($0.notBefore - now).seconds })

        switch result.next {
        case .engineUnavailable(let error):
            let delay = configuration.engineRetry.delay(attempt: await state.engineFailed())
            logger.warning("reconcile failed (\(error)); retrying in \(delay)")
            await wake(after: delay, Trigger(.retry, "after: \(error)"))
        case .requeue(let after, let reason):
            // Requeued rounds one after another back off like a crash loop: a step that keeps
            // failing on no particular service (a network) must not spin the loop.
            let delay = max(after, configuration.crashLoop.backoff.delay(attempt: await state.requeued()))
            if let earliest = held.values.map(\.notBefore).min(), earliest - now > delay {
                await wake(after: earliest - now, Trigger(.backoff, held.keys.sorted().joined(separator: ", ")))
            } else {
                await wake(after: delay, Trigger(.retry, reason))
            }
        case .done:
            // A service held back this round gets its repair when its backoff ends.
            if !request.hold.isEmpty, let earliest = held.values.map(\.notBefore).min() {
                await wake(after: earliest - now, Trigger(.backoff, held.keys.sorted().joined(separator: ", ")))
            }
        }
        let crashLooping = held.filter { $0.value.failures >= 2 }
        onRound(WatchRound(trigger: request.trigger, report: result.report, error: result.error, held: crashLooping.mapValues { $0.notBefore - now }))
    }
}

/// The loop's mutable state, isolated.
actor LoopState {
    private var tracker: CrashLoopTracker
    private var engineFailures = 0
    private var requeues = 0
    private var wakeups: [TriggerKind: Task<Void, Never>] = [:]
    /// The stack's networks and containers, as the last round reported them.
    private(set) var scope = StackScope()
    /// Containers `docker stop` or `docker kill` ended, by id; forgotten once started again.
    private var stoppedByHand = Set<String>()

    init(tracker: CrashLoopTracker) { self.tracker = tracker }

    /// The round a batch of triggers asks for: named after its most specific trigger, leaving
    /// crash-looping services alone.
    func request(for batch: [Trigger], at now: ContinuousClock.Instant) -> RoundRequest {
        let primary = batch.min { $0.kind < $1.kind }!
        var details: [String] = []
        for trigger in batch where trigger.kind == primary.kind && !details.contains(trigger.detail) { details.append(trigger.detail) }
        return RoundRequest(
            trigger: Trigger(primary.kind, details.prefix(5).joined(separator: ", ")),
            reload: batch.contains { $0.kind == .manifest || $0.kind == .git },
            hold: Set(tracker.held(at: now).keys), recheck: Set(batch.compactMap(\.container)), stoppedByHand: stoppedByHand)
    }

    /// Takes in what a round did: repairs toward backoff, containers started, the stack's scope.
    func finished(_ request: RoundRequest, _ result: RoundResult, began: ContinuousClock.Instant, at now: ContinuousClock.Instant) {
        tracker.recordRepairs(result.repaired, at: now, observedAt: began)
        stoppedByHand.subtract(result.started)
        if let scope = result.scope { self.scope = scope }
        if case .engineUnavailable = result.next {} else { engineFailures = 0 }
        if case .requeue = result.next {} else { requeues = 0 }
    }

    /// Services held back now, with their failure counts.
    func backoff(at now: ContinuousClock.Instant) -> [String: CrashLoopTracker.Entry] {
        let held = tracker.held(at: now)
        return tracker.entries.filter { held[$0.key] != nil }
    }

    /// Counts one more round the Engine could not serve; returns how many in a row.
    func engineFailed() -> Int {
        engineFailures += 1
        return engineFailures
    }

    /// Counts one more requeued round; returns how many in a row.
    func requeued() -> Int {
        requeues += 1
        return requeues
    }

    func stoppedByHand(_ id: String) { stoppedByHand.insert(id) }

    func schedule(_ kind: TriggerKind, _ task: Task<Void, Never>) {
        wakeups[kind]?.cancel()
        wakeups[kind] = task
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

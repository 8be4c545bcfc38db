import BerthEngine
import BerthModel
public import BerthStore
import Foundation
public import Logging
public import ServiceLifecycle

/// How `berth watch` runs.
public struct WatchConfiguration: Sendable {
    public var source: StackSource
    public var options: ReconcileOptions
    /// A full reconcile at least this often, whatever the events say.
    public var resync: Duration
    /// How long to gather a burst of triggers into one reconcile.
    public var debounce: Duration
    /// Spacing of repairs of a crash-looping service.
    public var crashLoop: CrashLoopTracker
    /// Spacing of retries while the Engine is unreachable.
    public var engineRetry: Backoff

    public init(
        source: StackSource, options: ReconcileOptions, resync: Duration = .seconds(30), debounce: Duration = .milliseconds(25),
        crashLoop: CrashLoopTracker = CrashLoopTracker(backoff: Backoff(base: .milliseconds(250), cap: .seconds(300)), stableAfter: .seconds(10)),
        engineRetry: Backoff = Backoff(base: .milliseconds(500), cap: .seconds(30))
    ) {
        self.source = source
        self.options = options
        self.resync = resync
        self.debounce = debounce
        self.crashLoop = crashLoop
        self.engineRetry = engineRetry
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
}

/// Keeps a stack converged: reconciles on Engine events for its containers and networks, on
/// edits of its manifests, every `resync`, and at startup. Level-based and coalescing; a failing
/// Engine is retried with backoff; a crash-looping service is repaired with growing delays while the
/// rest of the stack converges. On SIGTERM/SIGINT it finishes the reconcile in flight and returns.
public final class ControlLoop: Service, Sendable {
    let configuration: WatchConfiguration
    let engine: any EngineClient
    let store: ReconcileStore
    let metrics: Metrics
    let logger: Logger
    let onRound: @Sendable (WatchRound) -> Void
    let queue = TriggerQueue()
    let state: LoopState

    public init(
        configuration: WatchConfiguration, engine: any EngineClient, store: ReconcileStore, metrics: Metrics = Metrics(),
        logger: Logger = Logger(label: "berth.watch"), onRound: @escaping @Sendable (WatchRound) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.engine = engine
        self.store = store
        self.metrics = metrics
        self.logger = logger
        self.onRound = onRound
        self.state = LoopState(tracker: configuration.crashLoop)
    }

    public func run() async throws {
        let loaded = try? configuration.source.load()
        let stackName = loaded?.name ?? configuration.source.fallbackName
        let queue = self.queue
        // Only files that can change the desired state: not the state file, locks or editors' temporaries.
        let watched = loaded?.watched ?? WatchedFiles(directories: [], names: [], anyManifest: false)
        let watcher = try? ManifestWatcher(directories: watched.directories) { name in
            guard watched.matters(name) else { return }
            Task { await queue.push(Trigger(.manifest, name)) }
        }
        defer { watcher?.stop() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.followEvents(stack: stackName) }
            group.addTask { await self.resyncPeriodically() }
            await queue.push(Trigger(.startup, "watch started"))
            for await _ in queue.doorbell.cancelOnGracefulShutdown() {
                try? await Task.sleep(for: configuration.debounce)
                let batch = await queue.drain()
                guard !batch.isEmpty else { continue }
                await reconcile(batch)
            }
            group.cancelAll()
        }
        logger.info("watch stopped")
    }

    // MARK: Triggers

    /// Engine events for the stack's containers and networks; reconnects with backoff when the Engine goes away.
    private func followEvents(stack: String) async {
        var attempt = 0
        while !Task.isCancelled {
            do {
                // Filtered by action at the Engine: every healthcheck run on the host emits exec_*
                // events, and receiving them all would keep an idle loop busy.
                let filters = ["type": ["container", "network"], "event": Self.relevantActions]
                for try await event in engine.events(filters: filters, since: nil) {
                    attempt = 0
                    if let trigger = await trigger(for: event, stack: stack) { await queue.push(trigger) }
                }
            } catch {
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

    static let relevantActions = ["kill", "die", "stop", "destroy", "rename", "pause", "oom", "health_status", "disconnect"]

    /// Which events mean the stack may have drifted: its containers dying, stopping, going away,
    /// being renamed or turning unhealthy; its networks losing a container or going away. The
    /// trigger names the container the event is about, for the round to read it fresh.
    private func trigger(for event: EngineEvent, stack: String) async -> Trigger? {
        let name = event.actor.attributes["name"] ?? String(event.actor.id.prefix(12))
        switch event.type {
        case "container":
            guard event.actor.attributes[Resolver.Label.stack] == stack else { return nil }
            // `docker stop` and `docker kill` send `kill` before the container dies: that death
            // was someone's hand, not a crash (its `die` wakes the round).
            if event.action == "kill" {
                await state.stoppedByHand(event.actor.id)
                return nil
            }
            let actions = ["die", "stop", "destroy", "rename", "pause", "oom", "health_status: unhealthy"]
            return actions.contains(event.action) ? Trigger(.event, "\(event.action) \(name)", container: event.actor.id) : nil
        case "network":
            guard ["disconnect", "destroy"].contains(event.action), await state.networks.contains(name) else { return nil }
            let container = event.actor.attributes["container"]
            let about = container.map { " (container \($0.prefix(12)))" } ?? ""
            return Trigger(.event, "network \(event.action) \(name)\(about)", container: container)
        default:
            return nil
        }
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

    private func reconcile(_ batch: [Trigger]) async {
        let primary = batch.min { $0.kind < $1.kind }!
        var details: [String] = []
        for trigger in batch where trigger.kind == primary.kind && !details.contains(trigger.detail) { details.append(trigger.detail) }
        let detail = details.prefix(5).joined(separator: ", ")
        let trigger = Trigger(primary.kind, detail)
        let started = ContinuousClock.now
        var options = configuration.options
        options.trigger = trigger.kind.rawValue
        options.triggerDetail = trigger.detail

        let stack: LoadedStack
        do {
            stack = try await state.stack(configuration.source, reload: batch.contains { $0.kind == .manifest })
        } catch {
            let name = await state.lastStackName ?? configuration.source.fallbackName
            manifestsInvalid(error, stack: name, options: options, trigger: trigger)
            return
        }

        let now = ContinuousClock.now
        let held = await state.held(at: now)
        options.hold = Set(held.keys)
        options.recheck = Set(batch.compactMap(\.container))
        do {
            let lock = try await StackLock.reconcile(stateFile: store.path, stack: stack.name, timeout: .seconds(600))
            let report = try await Reconciler(engine: engine, store: store).apply(stack, options)
            withExtendedLifetime(lock) {}
            await state.engineRecovered()
            await metrics.setEngineUp(true)
            await state.setNetworks(Set(report.desired.networks.map(\.engineName)))
            await record(report, trigger: trigger, seconds: (ContinuousClock.now - started).seconds)
            let backoff = await state.backoff(at: ContinuousClock.now)
            let heldNow = backoff.mapValues(\.notBefore)
            persist(backoff, stack: stack.name)
            // A service held back this round, or one whose step failed, gets its next try when its
            // backoff ends, not at the next event or resync (a failure may send no event at all).
            let failed = report.results.values.contains { if case .failed = $0.status { true } else { false } }
            if !options.hold.isEmpty || failed {
                if let earliest = heldNow.values.min() {
                    await wake(after: earliest - ContinuousClock.now, Trigger(.backoff, heldNow.keys.sorted().joined(separator: ", ")))
                } else if failed {
                    await wake(after: max(configuration.crashLoop.backoff.base, .milliseconds(250)), Trigger(.retry, "a step failed"))
                }
            }
            // The Engine was still removing a container: its `destroy` wakes the next round, and
            // this wake-up covers a `destroy` that arrived while this round was planning.
            if report.outcome == .pending { await wake(after: .milliseconds(250), Trigger(.retry, "engine still removing a container")) }
            let crashLooping = backoff.filter { $0.value.failures >= 2 }
            onRound(WatchRound(trigger: trigger, report: report, error: nil, held: crashLooping.mapValues { $0.notBefore - ContinuousClock.now }))
        } catch let errors as ManifestErrors {
            manifestsInvalid(errors, stack: stack.name, options: options, trigger: trigger)
        } catch {
            let attempt = await state.engineFailed()
            let delay = configuration.engineRetry.delay(attempt: attempt)
            logger.warning("reconcile failed (\(error)); retrying in \(delay)")
            await metrics.setEngineUp(false)
            await metrics.recordReconcile(trigger: trigger.kind.rawValue, outcome: "error", seconds: (ContinuousClock.now - started).seconds)
            await wake(after: delay, Trigger(.retry, "after: \(error)"))
            onRound(WatchRound(trigger: trigger, report: nil, error: "\(error)", held: [:]))
        }
    }

    private func record(_ report: ReconcileReport, trigger: Trigger, seconds: Double) async {
        await metrics.recordReconcile(trigger: trigger.kind.rawValue, outcome: report.outcome.rawValue, seconds: seconds)
        var repaired: [String] = []
        for step in report.plan.steps where step.operation.isWrite {
            let result = report.results[step.id]
            await metrics.recordDrift(step.cause.kind)
            await metrics.recordAction(step.operation.kind, outcome: result?.outcome ?? "skipped")
            logger.info(
                "\(step.operation.kind) \(step.operation.target) (\(step.cause)): \(result?.outcome ?? "not run")\(result?.error.map { " — \($0)" } ?? "")"
            )
            // Restarting a container that exited on its own counts toward crash-loop backoff, and so
            // does any failed step: a service that cannot be fixed is retried with growing delays,
            // not on every event. A container someone removed, stopped or killed is repaired at
            // once, every time: that is drift, not a crash loop.
            var isCrashRepair = false
            if case .startContainer(let ref) = step.operation, case .stopped = step.cause {
                isCrashRepair = if case .existing(let id, _) = ref { !(await state.wasStoppedByHand(id)) } else { true }
            }
            let counts = result.map { $0.succeeded ? isCrashRepair : true } ?? false
            if counts, let service = report.desired.containers.first(where: { step.operation.target.contains("container \($0.name)") })?.service {
                repaired.append(service)
            }
        }
        await state.recordRepairs(Array(Set(repaired)), at: ContinuousClock.now)
        await metrics.setBackoff(await state.held(at: ContinuousClock.now).mapValues { ($0 - ContinuousClock.now).seconds })
        logger.info("reconcile (\(trigger.kind.rawValue): \(trigger.detail)) → \(report.outcome.rawValue), \(report.plan.changeCount) change(s)")
        for rollback in report.rollback {
            logger.warning(
                "rollout failed its health gate; rolled back in reconcile #\(rollback.reconcileID ?? 0) → \(rollback.outcome.rawValue): \(rollback.holds.map { "\($0.service): \($0.reason)" }.joined(separator: "; "))"
            )
        }
    }

    /// Invalid manifests leave the host as it is; the round is logged as failed with the errors.
    private func manifestsInvalid(_ error: any Error, stack: String, options: ReconcileOptions, trigger: Trigger) {
        let message = "manifests invalid, host left as it is:\n\(error)"
        logger.error("\(message)")
        recordFailure(stack: stack, options: options, error: message)
        onRound(WatchRound(trigger: trigger, report: nil, error: message, held: [:]))
    }

    /// Saves the crash-loop backoff for `berth status`, which runs in another process.
    private func persist(_ backoff: [String: CrashLoopTracker.Entry], stack: String) {
        let now = ContinuousClock.now
        let records = backoff.map { service, entry in
            ServiceBackoffRecord(service: service, failures: entry.failures, notBefore: Date().addingTimeInterval((entry.notBefore - now).seconds))
        }
        try? store.saveBackoff(records, stack: stack)
    }

    private func recordFailure(stack: String, options: ReconcileOptions, error: String) {
        var record = ReconcileRecord(
            stack: stack, trigger: options.trigger, profiles: options.profiles ?? [], environment: options.environment, manifestDigest: "")
        record.triggerDetail = options.triggerDetail
        if let id = try? store.begin(record) {
            try? store.finish(id, outcome: "failed", error: error, driftCount: 0, engineReads: 0, engineWrites: 0)
        }
    }
}

/// The loop's mutable state, isolated.
actor LoopState {
    private var tracker: CrashLoopTracker
    private var loaded: LoadedStack?
    private var engineFailures = 0
    private var wakeups: [TriggerKind: Task<Void, Never>] = [:]
    private(set) var networks = Set<String>()
    /// Containers `docker stop` or `docker kill` ended, by id; forgotten once repaired.
    private var stoppedByHand = Set<String>()

    init(tracker: CrashLoopTracker) { self.tracker = tracker }

    /// The name of the last stack that loaded, for logging a round whose manifests do not.
    var lastStackName: String? { loaded?.name }

    func stack(_ source: StackSource, reload: Bool) throws -> LoadedStack {
        if reload || loaded == nil { loaded = try source.load() }
        return loaded!
    }

    func held(at now: ContinuousClock.Instant) -> [String: ContinuousClock.Instant] { tracker.held(at: now) }

    /// Services held back now, with their failure counts.
    func backoff(at now: ContinuousClock.Instant) -> [String: CrashLoopTracker.Entry] {
        let held = tracker.held(at: now)
        return tracker.entries.filter { held[$0.key] != nil }
    }

    func recordRepairs(_ services: [String], at now: ContinuousClock.Instant) { tracker.recordRepairs(services, at: now) }

    func engineFailed() -> Int {
        engineFailures += 1
        return engineFailures
    }

    func engineRecovered() { engineFailures = 0 }

    func setNetworks(_ names: Set<String>) { networks = names }

    func stoppedByHand(_ id: String) { stoppedByHand.insert(id) }

    /// Whether `id` was stopped by someone; asking forgets it, so its next death counts again.
    func wasStoppedByHand(_ id: String) -> Bool { stoppedByHand.remove(id) != nil }

    func schedule(_ kind: TriggerKind, _ task: Task<Void, Never>) {
        wakeups[kind]?.cancel()
        wakeups[kind] = task
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

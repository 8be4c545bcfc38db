import BerthEngine
import BerthModel
public import BerthStore
import Foundation
public import Logging

/// The stack `berth watch` keeps converged, as the loop's `RoundReconciler`: each round loads the
/// manifests (again when one changed), takes the stack lock, applies, and logs every step and
/// metric. A round whose manifests do not load leaves the host alone and is logged as failed.
public actor WatchedStack: RoundReconciler {
    let source: any StackFeed
    let options: ReconcileOptions
    let engine: any EngineClient
    let store: ReconcileStore
    let metrics: Metrics
    let logger: Logger
    /// The last manifests that loaded: rounds not caused by an edit go on with them even while
    /// an edit leaves the files invalid.
    private var loaded: LoadedStack?

    public init(source: any StackFeed, options: ReconcileOptions, engine: any EngineClient, store: ReconcileStore, metrics: Metrics, logger: Logger) {
        self.source = source
        self.options = options
        self.engine = engine
        self.store = store
        self.metrics = metrics
        self.logger = logger
    }

    public func prepare() async -> (stack: String, watched: WatchedFiles) {
        loaded = try? await source.stack(current: nil, reload: true)
        return (loaded?.name ?? source.fallbackName, loaded?.watched ?? WatchedFiles(directories: [], names: [], anyManifest: false))
    }

    public func reconcile(_ request: RoundRequest) async -> RoundResult {
        let started = ContinuousClock.now
        let occasion = Occasion(trigger: request.trigger, hold: request.hold, recheck: request.recheck)

        var stack: LoadedStack
        let previous = loaded
        do {
            stack = try await source.stack(current: loaded, reload: request.reload)
            loaded = stack
        } catch {
            return manifestsInvalid(error, stack: loaded?.name ?? source.fallbackName, trigger: request.trigger)
        }
        do {
            let lock = StackLock.path(stateFile: store.path, stack: stack.name, purpose: "reconcile")
            let report = try await StackLock.holding(lock, timeout: .seconds(600)) {
                // What another Berth process did while this round waited counts: say, a
                // rollback to an earlier commit, which holds the ref's commit back.
                let latest = try await source.stack(current: stack, reload: false)
                if latest.origin != stack.origin { (stack, loaded) = (latest, latest) }
                return try await Reconciler(engine: engine, store: store).apply(stack, options, occasion, late: request.late)
            }
            await metrics.setEngineUp(true)
            await record(report, trigger: request.trigger, seconds: (ContinuousClock.now - started).seconds)
            let (repaired, restarted) = Self.repairs(in: report, stoppedByHand: request.stoppedByHand)
            let held = await source.reconciled(report, stack: stack)
            return RoundResult(
                next: held ? .requeue(after: .zero, reason: "commit held back") : Self.next(after: report), report: report, repaired: repaired,
                started: restarted,
                scope: StackScope(
                    networks: Set(report.desired.networks.map(\.engineName)), containers: Set(report.desired.containers.map(\.name)),
                    services: report.desired.target == .swarm
                        ? Set(report.desired.containers.map { SwarmServiceSpec.name(of: $0, stack: report.desired.stack) }) : []))
        } catch let errors as ManifestErrors {
            let (error, keepPrevious) = await source.rejected(stack, errors)
            if keepPrevious { loaded = previous }
            return manifestsInvalid(error, stack: stack.name, trigger: request.trigger)
        } catch {
            await metrics.setEngineUp(false)
            await metrics.recordReconcile(trigger: request.trigger.kind.rawValue, outcome: "error", seconds: (ContinuousClock.now - started).seconds)
            return RoundResult(next: .engineUnavailable("\(error)"), error: "\(error)")
        }
    }

    public func backoffChanged(_ held: [String: CrashLoopTracker.Entry]) {
        guard let stack = loaded?.name else { return }
        let now = ContinuousClock.now
        let records = held.map { service, entry in
            ServiceBackoffRecord(service: service, failures: entry.failures, notBefore: Date().addingTimeInterval((entry.notBefore - now).seconds))
        }
        try? store.saveBackoff(records, stack: stack)
    }

    /// A failed step is tried again soon (a failure may send no event at all); so is a container
    /// the Engine was still removing (its `destroy` may have come while the round planned).
    static func next(after report: ReconcileReport) -> RoundResult.Next {
        if report.results.values.contains(where: { if case .failed = $0.status { true } else { false } }) {
            return .requeue(after: .milliseconds(250), reason: "a step failed")
        }
        if report.outcome == .pending { return .requeue(after: .milliseconds(250), reason: "engine still removing a container") }
        return .done
    }

    /// Which services' repairs count toward crash-loop backoff, and which containers were started.
    /// Starting a container that exited on its own counts, and so does any step that did not
    /// succeed: a service that cannot be fixed is retried with growing delays, not on every event.
    /// A container someone removed, stopped or killed is repaired at once, every time: that is
    /// drift, not a crash loop.
    static func repairs(in report: ReconcileReport, stoppedByHand: Set<String>) -> (repaired: Set<String>, restarted: Set<String>) {
        var repaired = Set<String>()
        var restarted = Set<String>()
        for step in report.plan.steps where step.operation.isWrite {
            guard let result = report.results[step.id] else { continue }
            var crashRepair = false
            if case .startContainer = step.operation, case .stopped = step.cause {
                if let id = step.containerID { restarted.insert(id) }
                crashRepair = step.containerID.map { !stoppedByHand.contains($0) } ?? true
            }
            if result.succeeded ? crashRepair : true, let service = step.service, report.desired.container(service) != nil {
                repaired.insert(service)
            }
        }
        return (repaired, restarted)
    }

    private func record(_ report: ReconcileReport, trigger: Trigger, seconds: Double) async {
        await metrics.record(report, trigger: trigger.kind.rawValue, seconds: seconds)
        for step in report.plan.steps where step.operation.isWrite {
            let result = report.results[step.id]
            logger.info(
                "\(step.operation.kind) \(step.operation.target) (\(step.cause)): \(result?.outcome.rawValue ?? "not run")\(result?.error.map { " — \($0)" } ?? "")"
            )
        }
        logger.info("reconcile (\(trigger.kind.rawValue): \(trigger.detail)) → \(report.outcome.rawValue), \(report.plan.changeCount) change(s)")
        for rollback in report.rollback {
            logger.warning(
                "rollout failed its health gate; rolled back in reconcile #\(rollback.reconcileID ?? 0) → \(rollback.outcome.rawValue): \(rollback.holds.map { "\($0.service): \($0.reason)" }.joined(separator: "; "))"
            )
        }
    }

    /// Invalid manifests leave the host as it is; the round is logged as failed with the errors.
    private func manifestsInvalid(_ error: any Error, stack: String, trigger: Trigger) -> RoundResult {
        let message =
            switch error {
            case is ManifestErrors: "manifests invalid, host left as it is:\n\(error)"
            case is InvalidCommit: "not applied, host left as it is: \(error)"
            default: "cannot read the stack, host left as it is: \(error)"
            }
        logger.error("\(message)")
        var record = ReconcileRecord(
            stack: stack, trigger: trigger.kind.rawValue, profiles: options.profiles ?? [], environment: options.environment, manifestDigest: "")
        record.triggerDetail = trigger.detail
        record.origin = (error as? InvalidCommit)?.origin
        if let id = try? store.begin(record) {
            try? store.finish(id, outcome: "failed", error: message, driftCount: 0, engineReads: 0, engineWrites: 0)
        }
        return RoundResult(next: .done, error: message)
    }
}

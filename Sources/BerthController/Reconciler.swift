import BerthEngine
import BerthModel
public import BerthStore
import Foundation
import NIOConcurrencyHelpers

/// observe → resolve → plan → execute → log, once. Level-based: it looks only at the manifests
/// and the host, never at what triggered it.
public struct Reconciler: Sendable {
    let engine: any EngineClient
    let store: ReconcileStore
    /// What the stack owns, listed while its manifests loaded; the first observation takes it.
    let early: EarlyListing?

    public init(engine: any EngineClient, store: ReconcileStore, early: EarlyListing? = nil) {
        self.engine = engine
        self.store = store
        self.early = early
    }

    /// Resolves and plans without changing the host: reads only, plus the preflight probe of a
    /// connection switch (a short-lived container, removed again).
    /// - Parameter early: what the stack owns, when its listing was started earlier.
    /// - Throws: `ManifestErrors` when resolution fails; `EngineError` when the Engine cannot be read.
    public func preview(
        _ stack: LoadedStack, _ options: ReconcileOptions, _ occasion: Occasion = .apply, early: EarlyListing? = nil
    ) async throws -> Preview {
        // Without --profile / --environment, a stack keeps what it was last applied with, as long
        // as its manifests still know them (a Compose project imported as manifests may not). No
        // profiles at all is what a Compose project was applied with: a stack with default
        // profiles takes those instead.
        var options = options
        let remembered = try store.selection(stack: stack.name)
        let manifest = stack.manifest
        options.profiles =
            options.profiles
            ?? remembered.map(\.profiles).flatMap {
                $0.allSatisfy(manifest.profiles.contains) && !($0.isEmpty && !manifest.defaultProfiles.isEmpty) ? $0 : nil
            }
        options.environment = options.environment ?? remembered?.environment.flatMap { manifest.environment($0) == nil ? nil : $0 }
        if Self.mayTargetSwarm(manifest) {
            let wanted = try resolve(stack, options, facts: NetworkFacts())
            if wanted.target == .swarm {
                early?.cancel()
                return try await swarmPreview(wanted, stack, options, remembered: remembered)
            }
        }
        let observer = Observer(engine: engine)
        async let observing = observer.observe(
            stack: stack.name, networks: manifest.networkEngineNames, recheck: occasion.recheck, early: early)
        // The host matters to resolution only through network facts (`${network.NAME.gateway}`),
        // which most stacks never name: resolve while the host is read, and again once it is
        // read only when the stack named one (or the first one failed: a pending fact can fail a check).
        let settled = (try? resolve(stack, options, facts: .unknownYet)).flatMap { $0.pendingFacts.isEmpty ? $0 : nil }
        let log = try StackLog(store, stack: stack.name, includingStopped: !options.startStopped)
        // The images are inspected while the lists are read, when the resolution is settled.
        let images = { @Sendable (wanted: DesiredState?) -> [String: ObservedImage]? in
            guard let wanted else { return nil }
            return try await observer.images(Set(wanted.containers.map(\.image) + log.holds.map(\.spec.image)))
        }
        async let settledImages = images(settled)
        var observed = try await observing
        if !observed.swarmServices.isEmpty {
            throw ExecutionError(
                "stack \(stack.name) runs on this Engine's swarm (services \(observed.swarmServices.sorted().joined(separator: ", "))), and its manifests now say 'target: engine'; set 'target: swarm', or take the services down first with 'berth down \(stack.name)'"
            )
        }
        let wanted = try settled ?? resolve(stack, options, facts: observed.facts)
        try await observer.lookUp(.missing(for: wanted, in: observed), into: &observed)
        if let inspected = try await settledImages {
            observed.images = inspected
        } else {
            observed.images = try await images(wanted) ?? [:]
        }
        // --pull asks only about images that came from a registry: one built or imported here has
        // none to ask (and asking would send the Engine to Docker Hub).
        let checked = wanted.containers.filter { spec in
            guard spec.build == nil, !spec.image.unicodeScalars.contains("@") else { return false }
            let fromRegistry = observed.images[spec.image]?.digest(for: spec.image) != nil
            return spec.pullPolicy == .always || (options.pull && spec.pullPolicy != .never && fromRegistry)
        }
        observed.registryDigests = await observer.registryDigests(Set(checked.map(\.image)))
        observed.buildContexts = Observer.buildContexts(wanted)
        (observed.hooksRun, observed.failedStarts, observed.adoptedVolumes) = (log.hooksRun, log.failedStarts, log.adoptedVolumes)
        let (desired, applied, ended) = wanted.holding(log.holds, observed: observed)
        // Only services whose spec changed need their previous spec, to say what changed.
        let changed = Set(desired.containers.filter { log.appliedHashes[$0.service] != $0.specHash }.map(\.service))
        let switches = switches(stack, options, from: remembered, to: wanted, observed: observed)
        observed.preflight = await Preflight(engine: engine, stack: stack.name).check(switches)
        let plan = Planner.plan(
            desired: desired, observed: observed, previous: try store.appliedSpecs(stack: stack.name, services: changed), switches: switches,
            options: Planner.Options(replaceConflicts: options.replaceConflicts, hold: occasion.hold.union(log.stopped.keys)))
        return Preview(
            wanted: wanted, desired: desired, observed: observed, plan: plan, holds: applied, endedHolds: ended, switches: switches,
            previousSelection: switches.isEmpty ? nil : remembered, stoppedOnPurpose: log.stopped)
    }

    /// The connections `wanted` moves to another target than the selection last applied had.
    private func switches(
        _ stack: LoadedStack, _ options: ReconcileOptions, from remembered: StackSelection?, to wanted: DesiredState, observed: ObservedState
    ) -> [ConnectionSwitch] {
        guard let applied = previouslyApplied(stack, options, from: remembered, to: wanted, facts: observed.facts) else { return [] }
        return ConnectionSwitch.between(applied: applied, desired: wanted, observed: observed)
    }

    /// The stack resolved with the selection it was last applied with, when `wanted` is another.
    func previouslyApplied(
        _ stack: LoadedStack, _ options: ReconcileOptions, from remembered: StackSelection?, to wanted: DesiredState, facts: NetworkFacts
    ) -> DesiredState? {
        guard let remembered, remembered.profiles != wanted.profiles || remembered.environment != wanted.environment else { return nil }
        var before = options
        (before.profiles, before.environment) = (remembered.profiles, remembered.environment)
        return try? resolve(stack, before, facts: facts)
    }

    /// Converges the host to the stack and logs the reconcile: observe → resolve → plan (one
    /// `preview`) → execute → record → roll back if a gate or a profile switch failed.
    public func apply(
        _ stack: LoadedStack, _ options: ReconcileOptions, _ occasion: Occasion = .apply, late: LateEvents? = nil,
        onEvent: @escaping @Sendable (ExecutionEvent) -> Void = { _ in }
    ) async throws -> ReconcileReport {
        let early = self.early.flatMap { $0.take(stack.name) ? $0 : nil }
        var before = engine.callCounts
        let startedAt = Date()
        if options.retryFailed { try store.deleteHolds(stack: stack.name) }
        if options.startStopped { try store.deleteStopped(stack: stack.name) }
        var preview = try await settledPreview(stack, options, occasion, takingOnLateRepairs: late != nil, early: early)
        // Counted from before the listing; a listing cancelled unused (a swarm stack) is not counted.
        if let early, let listed = try? await early.callsBefore { before = listed }
        var record = ReconcileRecord(
            stack: stack.name, trigger: occasion.trigger.kind.rawValue, profiles: preview.desired.profiles, environment: preview.desired.environment,
            manifestDigest: stack.digest, startedAt: startedAt)
        record.triggerDetail = occasion.trigger.detail.isEmpty ? nil : occasion.trigger.detail
        record.origin = stack.origin
        let reconcileID = try begin(record)
        // A switch refused by its preflight changes nothing, the remembered selection included.
        if preview.plan.refused {
            return try finish(
                reconcileID, desired: preview.desired, plan: preview.plan, results: [:], since: before, startedAt: startedAt)
        }
        if !preview.endedHolds.isEmpty { try store.deleteHolds(stack: stack.name, services: preview.endedHolds.map(\.service)) }
        // Remembered before acting, so an interrupted switch continues on the next plain apply.
        try store.saveSelection(StackSelection(profiles: preview.desired.profiles, environment: preview.desired.environment), stack: stack.name)

        var results: [Int: StepResult] = [:]
        if !preview.desired.pendingFacts.isEmpty {
            (preview, results) = try await settleNetworkFacts(
                preview, stack, options, occasion, reconcileID: reconcileID, onEvent: onEvent)
        }
        let desired = preview.desired
        var plan = preview.plan
        // Under watch, drift that arrives while the plan runs is repaired beside it.
        if let late, preview.switches.isEmpty, desired.target != .swarm {
            let executed = await executeTakingOnLateRepairs(
                preview, stack, options, occasion, late: late, reconcileID: reconcileID, onEvent: onEvent)
            (plan, preview.plan, preview.observed) = (executed.plan, executed.plan, executed.observed)
            results.merge(executed.results) { _, b in b }
        } else {
            results.merge(await execute(plan, reconcileID: reconcileID, desired: desired, onEvent: onEvent)) { _, b in b }
        }

        // Record: volumes adopted, what now runs, each replaced container with its gate result, the reconcile.
        for step in plan.steps where results[step.id]?.succeeded == true {
            if case .adoptVolume(let name) = step.operation { try store.saveAdoption(volume: name, stack: stack.name, reconcileID: reconcileID) }
        }
        let failedServices = Set(plan.steps.filter { results[$0.id]?.succeeded == false }.compactMap(\.service))
        let applied = try store.appliedHashes(stack: stack.name)
        try store.saveApplied(
            desired.containers.filter { !failedServices.contains($0.service) && applied[$0.service] != $0.specHash }, stack: stack.name,
            reconcileID: reconcileID)
        let ledger = RolloutLedger(engine: engine, store: store, stack: stack.name, reconcileID: reconcileID)
        let rollouts = try await ledger.record(plan: plan, results: results, desired: desired, observed: preview.observed, swarm: preview.swarm)
        let failedSwitch = occasion.rollsBackFailures ? Self.failedSwitch(preview, failed: failedServices, rollouts: rollouts) : nil
        var report = try finish(
            reconcileID, desired: desired, plan: plan, results: results, since: before, startedAt: startedAt,
            failure: failedSwitch?.reason)
        report.rollouts = rollouts
        report.holds = preview.holds
        report.observed = preview.observed
        report.stoppedOnPurpose = preview.stoppedOnPurpose

        if let failedSwitch {
            report.rollback = [try await switchBack(stack, options, failedSwitch, onEvent: onEvent)]
        } else if occasion.rollsBackFailures {
            try await rollBackFailedRollouts(&report, stack, options, preview: preview, ledger: ledger, onEvent: onEvent)
        }
        return report
    }

    /// The preview to act on. When the Engine is still removing a container (say, the in-flight
    /// removal of a killed Berth, or one removed by hand whose `die` woke this round), waits for
    /// it, up to about 10 s, instead of planning around it and ending `pending`. A removal
    /// usually ends within 100 ms of the container's death, so the first looks are close together:
    /// each wait is time a removed container is not running.
    /// Under watch (`takingOnLateRepairs`), a plan with anything else to do acts at once instead.
    private func settledPreview(
        _ stack: LoadedStack, _ options: ReconcileOptions, _ occasion: Occasion, takingOnLateRepairs: Bool,
        early: EarlyListing?
    ) async throws -> Preview {
        var preview = try await self.preview(stack, options, occasion, early: early)
        func waits() -> Bool {
            // A swarm's waits are its own orchestration (tasks starting): nothing to wait out here.
            preview.desired.target != .swarm
                && preview.plan.waitsOutRemovals(takingOnLateRepairs: takingOnLateRepairs && preview.switches.isEmpty)
        }
        for attempt in 0..<68 where waits() {
            try await Task.sleep(for: .milliseconds(attempt < 20 ? 25 : 200))
            preview = try await self.preview(stack, options, occasion)
        }
        return preview
    }

    /// Values that need a network's facts (its gateway) wait until the network exists: the
    /// networks are created first, then the host is observed, resolved and planned again. A
    /// container is never created with a placeholder in its spec.
    private func settleNetworkFacts(
        _ preview: Preview, _ stack: LoadedStack, _ options: ReconcileOptions, _ occasion: Occasion, reconcileID: Int64,
        onEvent: @escaping @Sendable (ExecutionEvent) -> Void
    ) async throws -> (Preview, [Int: StepResult]) {
        let networkSteps = preview.plan.steps.filter { if case .createNetwork = $0.operation { $0.dependsOn.isEmpty } else { false } }
        let first = Plan(stack: preview.plan.stack, steps: networkSteps)
        let results = await execute(first, reconcileID: reconcileID, desired: preview.desired, onEvent: onEvent)
        var again = try await self.preview(stack, options, occasion)
        if !again.desired.pendingFacts.isEmpty {
            again.plan = Plan(
                stack: again.plan.stack,
                conflicts: again.desired.pendingFacts.map {
                    Conflict(
                        resource: $0, reason: "the Engine does not report this fact even after creating the network; pin it in the Network's ipam")
                })
        }
        return (again, results)
    }

    /// A switch is all or nothing: one consumer failing its gate sends every consumer back to the
    /// previous target, which was kept running for that (the planner removes a retired target
    /// only after all consumers passed their gates).
    private func switchBack(
        _ stack: LoadedStack, _ options: ReconcileOptions, _ failed: (previous: StackSelection, reason: String),
        onEvent: @escaping @Sendable (ExecutionEvent) -> Void
    ) async throws -> ReconcileReport {
        try store.saveSelection(failed.previous, stack: stack.name)
        var back = options.goingBack
        (back.profiles, back.environment) = (failed.previous.profiles, failed.previous.environment)
        return try await apply(stack, back, .rollback(failed.reason), onEvent: onEvent)
    }

    /// A rollout that failed its gate goes back to the last healthy revision, held there until the
    /// manifests or the image behind the tag change.
    private func rollBackFailedRollouts(
        _ report: inout ReconcileReport, _ stack: LoadedStack, _ options: ReconcileOptions, preview: Preview, ledger: RolloutLedger,
        onEvent: @escaping @Sendable (ExecutionEvent) -> Void
    ) async throws {
        let heldServices = Set(preview.holds.map(\.service))
        let failed = report.rollouts.filter { $0.outcome == .failed && !heldServices.contains($0.service) }
        guard !failed.isEmpty else { return }
        let holds = try await ledger.holdsAfterFailure(failed, wanted: preview.wanted)
        guard !holds.isEmpty else { return }
        for hold in holds { try store.saveHold(hold, stack: stack.name) }
        let reason = holds.map { "\($0.service): \($0.reason)" }.joined(separator: "; ")
        let rollback = try await apply(stack, options.goingBack, .rollback(reason), onEvent: onEvent)
        if let rollbackID = rollback.reconcileID {
            try store.markRolledBack(reconcileID: report.reconcileID ?? 0, services: holds.map(\.service), by: rollbackID)
            for index in report.rollouts.indices where holds.contains(where: { $0.service == report.rollouts[index].service }) {
                report.rollouts[index].rolledBackIn = rollbackID
            }
        }
        report.rollback = [rollback]
    }

    /// Puts `service` back on an earlier healthy revision on request (`berth rollback`): the newest
    /// other than what runs now, or the one that ran as of reconcile `to`. The service is held
    /// there until its manifests or the image behind its tag change.
    /// - Throws: `RollbackError` when there is nothing to go back to.
    public func rollback(
        _ stack: LoadedStack, service: String, to: Int64?, _ options: ReconcileOptions,
        onEvent: @escaping @Sendable (ExecutionEvent) -> Void = { _ in }
    ) async throws -> ReconcileReport {
        let preview = try await preview(stack, options)
        guard let wanted = preview.wanted.container(service) else {
            throw RollbackError("service \(service) is not active in stack \(stack.name) (with the current profiles)")
        }
        let current = preview.desired.container(service)
        // What runs now: a container's image id, or on a swarm the image its service names (even
        // while its tasks restart: the service's spec is the revision the swarm runs).
        let runningImage =
            preview.observed.containers.first { $0.stack == stack.name && $0.service == service && $0.isRunning }?.imageID
            ?? preview.swarm?.services.first { $0.stack == stack.name && $0.spec.service == service }?.spec.image
        let excluding = to == nil ? runningImage.flatMap { current?.revisionKey(imageID: $0) } : nil
        let ledger = RolloutLedger(engine: engine, store: store, stack: stack.name, reconcileID: 0)
        guard let revision = try store.healthyRevision(stack: stack.name, service: service, excluding: excluding, asOf: to),
            let spec = await ledger.runnable(revision)
        else {
            let when = to.map { "as of reconcile #\($0)" } ?? "other than the one running now"
            throw RollbackError("no healthy revision of \(service) \(when) is on record in \(store.path)")
        }
        let image = RollbackHold.imageBehind(wanted.image, observed: preview.observed)
        let reason = "rollback requested to the revision healthy in reconcile #\(revision.reconcileID)"
        try store.saveHold(
            RollbackHold(
                service: service, replacedSpecHash: wanted.specHash, replacedImageID: image.id, replacedDigest: image.digest, spec: spec,
                reason: reason, reconcileID: revision.reconcileID), stack: stack.name)
        return try await apply(stack, options.goingBack, .rollback("\(service): \(reason)"), onEvent: onEvent)
    }

    /// Takes the volume `name`, made outside Berth, into `stack` on request (`berth adopt volume`):
    /// the stack must want a volume of that name and the volume must exist. Logged as a reconcile.
    /// - Returns: nil when the volume is the stack's already.
    public func adopt(volume name: String, in stack: LoadedStack, _ options: ReconcileOptions) async throws -> ReconcileReport? {
        let preview = try await preview(stack, options)
        guard preview.desired.volumes.contains(where: { $0.engineName == name && !$0.external }) else {
            throw AdoptError("stack \(stack.name) has no volume named \(name) on the Engine (with the current profiles); see berth render")
        }
        guard let volume = preview.observed.volumes.first(where: { $0.name == name }) else { throw AdoptError("volume \(name) does not exist") }
        if volume.stack == stack.name || preview.observed.adoptedVolumes.contains(name) { return nil }
        let before = engine.callCounts
        let startedAt = Date()
        let plan = Plan(stack: stack.name, steps: [PlanStep(id: 1, operation: .adoptVolume(name: name), cause: .adopted, dependsOn: [])])
        var record = ReconcileRecord(
            stack: stack.name, trigger: TriggerKind.adopt.rawValue, profiles: preview.desired.profiles, environment: preview.desired.environment,
            manifestDigest: stack.digest, startedAt: startedAt)
        record.triggerDetail = "volume \(name)"
        let reconcileID = try begin(record)
        let results = await execute(plan, reconcileID: reconcileID, desired: preview.desired, onEvent: { _ in })
        if results[1]?.succeeded == true { try store.saveAdoption(volume: name, stack: stack.name, reconcileID: reconcileID) }
        return try finish(
            reconcileID, desired: preview.desired, plan: plan, results: results, since: before, startedAt: startedAt)
    }

    /// Removes the stack's containers and networks (and named volumes with `removeVolumes`).
    public func down(
        stack name: String, removeVolumes: Bool, trigger: TriggerKind = .down, onEvent: @escaping @Sendable (ExecutionEvent) -> Void = { _ in }
    ) async throws -> ReconcileReport {
        let before = engine.callCounts
        let startedAt = Date()
        let observed = try await Observer(engine: engine).observe(stack: name)
        var plan = Planner.down(stack: name, observed: observed, removeVolumes: removeVolumes)
        if let swarm = try await swarmDown(stack: name) { plan = swarm.followed(by: plan) }
        let reconcileID = try begin(
            ReconcileRecord(stack: name, trigger: trigger.rawValue, profiles: [], environment: nil, manifestDigest: "", startedAt: startedAt))
        let results = await execute(plan, reconcileID: reconcileID, desired: DesiredState(stack: name), onEvent: onEvent)
        // A stack taken down keeps no deliberate stops: whatever brings it back starts everything.
        if results.values.allSatisfy(\.succeeded) { try store.deleteStopped(stack: name) }
        return try finish(
            reconcileID, desired: DesiredState(stack: name), plan: plan, results: results, since: before, startedAt: startedAt)
    }

    /// A connection switch whose consumers did not all come up on the new target, if any.
    static func failedSwitch(_ preview: Preview, failed: Set<String>, rollouts: [RolloutRecord]) -> (previous: StackSelection, reason: String)? {
        guard let previous = preview.previousSelection else { return nil }
        let unhealthy = failed.union(rollouts.filter { $0.outcome == .failed }.map(\.service))
        let broken = preview.switches.compactMap { move -> String? in
            let failing = move.consumers.filter(unhealthy.contains)
            guard !failing.isEmpty else { return nil }
            return "\(move.title): \(failing.joined(separator: ", ")) did not pass its health gate on \(move.to.address)"
        }
        guard !broken.isEmpty else { return nil }
        let back = previous.profiles.joined(separator: ",")
        return (previous, "profile switch failed, going back to [\(back)]: " + broken.joined(separator: "; "))
    }

    /// Logs a reconcile as running. The caller holds the stack's lock, so a reconcile of the stack
    /// still logged as running belongs to a process that is gone: it is marked interrupted first.
    private func begin(_ record: ReconcileRecord) throws -> Int64 {
        var record = record
        record.engine = "\(engine.product) \(engine.engineVersion)"
        try store.markInterrupted(stack: record.stack)
        return try store.begin(record)
    }

    /// Logs how the reconcile ended (its actions are logged as they run), and builds its report.
    /// - Parameters:
    ///   - failure: why the reconcile failed as a whole although its steps may have succeeded.
    private func finish(
        _ reconcileID: Int64, desired: DesiredState, plan: Plan, results: [Int: StepResult], since before: EngineCallCounts,
        startedAt: Date, failure: String? = nil
    ) throws -> ReconcileReport {
        let outcome = failure == nil ? Self.outcome(plan: plan, results: results) : .failed
        let calls = engine.callCounts.since(before)
        let firstError =
            failure ?? plan.checks.first(where: \.failed).map(\.description) ?? plan.steps.compactMap { step in
                results[step.id]?.error.map { "#\(step.id) \(step.operation.kind): \($0)" }
            }.first
            ?? plan.conflicts.first.map { "\($0.resource): \($0.reason)" }
        let endedAt = Date()
        try store.finish(
            reconcileID, outcome: outcome.rawValue, error: firstError, driftCount: plan.changeCount, engineReads: calls.reads,
            engineWrites: calls.writes, at: endedAt)
        var report = ReconcileReport(
            reconcileID: reconcileID, stack: desired.stack, desired: desired.redacted, plan: plan, results: results, outcome: outcome,
            engineCalls: calls, startedAt: startedAt, endedAt: endedAt)
        report.failure = failure
        return report
    }

    func resolve(_ stack: LoadedStack, _ options: ReconcileOptions, facts: NetworkFacts) throws(ManifestErrors) -> DesiredState {
        try Resolver.resolve(
            stack.manifest,
            stack.request(profiles: options.profiles, environment: options.environment, processEnvironment: options.processEnvironment, facts: facts))
    }

    /// Runs a plan, logging each action as it starts and as it ends, each in its own short
    /// transaction: a process killed mid-apply leaves the actions it began in the log (marked
    /// `interrupted` by the next reconcile), and when the log cannot be written (a full disk) a
    /// step fails before it touches the Engine, so the host never changes without a record.
    /// Hook output and errors are stripped of the desired state's secret values first.
    func execute(
        _ plan: Plan, reconcileID: Int64, desired: DesiredState, onEvent: @escaping @Sendable (ExecutionEvent) -> Void
    ) async -> [Int: StepResult] {
        let store = self.store
        let stack = desired.stack
        let logged = NIOLockedValueBox<[Int: Int64]>([:])
        @Sendable func action(_ step: PlanStep, _ outcome: ActionOutcome, at date: Date) -> ActionRecord {
            ActionRecord(
                reconcileID: reconcileID, step: step.id, kind: step.operation.kind.rawValue, target: step.operation.target,
                reason: step.cause.description, startedAt: date, endedAt: nil, outcome: outcome, error: nil, service: step.service,
                containerID: step.containerID)
        }
        let gate: @Sendable (PlanStep) throws -> Void = { step in
            do {
                let id = try store.record(action(step, .running, at: Date()))
                logged.withLockedValue { $0[step.id] = id }
            } catch {
                throw ExecutionError("the reconcile log cannot be written (\(error)); not changing the host without a record")
            }
        }
        var results = await Executor(engine: engine, stack: stack).execute(plan, gate: gate) { event in
            switch event {
            case .hookRan(let step, let containerID, let hook, let result):
                // Written at once: a hook runs once per container lifetime, even across a crash.
                let output = desired.redactingSecrets(in: String((result.stdout + result.stderr).suffix(2000)))
                try? store.recordHook(
                    HookRunRecord(
                        containerID: containerID, hook: hook, stack: stack, service: step.service ?? "", exitCode: result.exitCode,
                        output: output, ranAt: Date()))
                onEvent(.hookRan(step, containerID: containerID, hook: hook, result: ExecResult.redacted(result, by: desired)))
            case .finished(let step, var result):
                result.redactError(by: desired)
                if let id = logged.withLockedValue({ $0[step.id] }) {
                    try? store.end(action: id, outcome: result.outcome, error: result.error, containerID: result.containerID, at: result.endedAt)
                } else {
                    var skipped = action(step, result.outcome, at: result.startedAt)
                    (skipped.endedAt, skipped.error) = (result.endedAt, result.error)
                    _ = try? store.record(skipped)
                }
                onEvent(.finished(step, result))
            case .output(let step, let text):
                onEvent(.output(step, desired.redactingSecrets(in: text)))  // a build may echo a secret build arg
            default:
                onEvent(event)
            }
        }
        for id in results.keys { results[id]?.redactError(by: desired) }
        return results
    }

    static func outcome(plan: Plan, results: [Int: StepResult]) -> ReconcileOutcome {
        if plan.refused { return .failed }
        let failures = plan.steps.filter { results[$0.id]?.succeeded == false }.count
        if failures > 0 { return failures == plan.steps.count ? .failed : .partial }
        if !plan.conflicts.isEmpty { return .conflict }
        if !plan.waiting.isEmpty { return .pending }
        return plan.steps.isEmpty ? .converged : .changed
    }
}

/// Why `berth adopt` cannot act.
public struct AdoptError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Why `berth rollback` cannot act.
public struct RollbackError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension StepResult {
    mutating func redactError(by desired: DesiredState) {
        switch status {
        case .failed(let message): status = .failed(desired.redactingSecrets(in: message))
        case .skipped(let message): status = .skipped(desired.redactingSecrets(in: message))
        case .succeeded: break
        }
    }
}

extension ExecResult {
    static func redacted(_ result: ExecResult, by desired: DesiredState) -> ExecResult {
        ExecResult(
            exitCode: result.exitCode, stdout: desired.redactingSecrets(in: result.stdout), stderr: desired.redactingSecrets(in: result.stderr))
    }
}

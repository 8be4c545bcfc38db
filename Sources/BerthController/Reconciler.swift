public import BerthEngine
public import BerthModel
public import BerthStore
public import Foundation

/// The choices of one reconcile.
public struct ReconcileOptions: Sendable {
    public var profiles: [String]?
    public var environment: String?
    /// Why it runs, as logged: `apply`, `down`, `event`, `resync`, …
    public var trigger: String
    /// What exactly triggered it (an event, a file), for the log.
    public var triggerDetail: String?
    public var replaceConflicts: Bool
    /// Services to leave alone this time (crash-loop backoff).
    public var hold: Set<String> = []
    public var processEnvironment: [String: String]

    public init(
        profiles: [String]? = nil, environment: String? = nil, trigger: String = "apply", replaceConflicts: Bool = false,
        processEnvironment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.profiles = profiles
        self.environment = environment
        self.trigger = trigger
        self.replaceConflicts = replaceConflicts
        self.processEnvironment = processEnvironment
    }
}

/// How a reconcile ended.
public enum ReconcileOutcome: String, Sendable, Codable {
    /// Nothing to do: the host already matched.
    case converged
    /// Steps ran and all succeeded.
    case changed
    /// Some steps failed or were skipped; others succeeded.
    case partial
    /// Every attempted step failed.
    case failed
    /// Something Berth does not own is in the way.
    case conflict

    /// Whether the host now matches the manifests.
    public var isConverged: Bool { self == .converged || self == .changed }
}

/// Everything a reconcile did, for output and tests.
public struct ReconcileReport: Sendable {
    public var reconcileID: Int64?
    public var stack: String
    /// Secrets redacted.
    public var desired: DesiredState
    public var plan: Plan
    public var results: [Int: StepResult]
    public var outcome: ReconcileOutcome
    public var engineCalls: EngineCallCounts
    public var startedAt: Date
    public var endedAt: Date
}

/// observe → resolve → plan → execute → log, once. Level-based: it looks only at the manifests
/// and the host, never at what triggered it.
public struct Reconciler: Sendable {
    let engine: any EngineClient
    let store: ReconcileStore

    public init(engine: any EngineClient, store: ReconcileStore) {
        self.engine = engine
        self.store = store
    }

    /// Resolves and plans without touching the host (reads only).
    /// - Throws: `ManifestErrors` when resolution fails; `EngineError` when the Engine cannot be read.
    public func preview(_ stack: LoadedStack, _ options: ReconcileOptions) async throws -> (
        desired: DesiredState, observed: ObservedState, plan: Plan
    ) {
        // Without --profile / --environment, a stack keeps what it was last applied with, as long
        // as its manifests still know them (a Compose project imported as manifests may not).
        var options = options
        let remembered = try store.selection(stack: stack.name)
        let manifest = stack.manifest
        options.profiles = options.profiles ?? remembered.map(\.profiles).flatMap { $0.allSatisfy(manifest.profiles.contains) ? $0 : nil }
        options.environment = options.environment ?? remembered?.environment.flatMap { manifest.environment($0) == nil ? nil : $0 }
        let observer = Observer(engine: engine)
        var observed = try await observer.observe()
        let desired = try resolve(stack, options, facts: observed.facts)
        observed.images = try await observer.images(Set(desired.containers.map(\.image)))
        observed.buildContexts = Observer.buildContexts(desired)
        observed.hooksRun = try store.hooksRun(stack: stack.name)
        observed.failedStarts = try store.failedStarts(stack: stack.name)
        // Only services whose spec changed need their previous spec, to say what changed.
        let applied = try store.appliedHashes(stack: stack.name)
        let changed = Set(desired.containers.filter { applied[$0.service] != $0.specHash }.map(\.service))
        let plan = Planner.plan(
            desired: desired, observed: observed, previous: try store.appliedSpecs(stack: stack.name, services: changed),
            options: Planner.Options(replaceConflicts: options.replaceConflicts, hold: options.hold))
        return (desired, observed, plan)
    }

    /// Converges the host to the stack and logs the reconcile.
    public func apply(_ stack: LoadedStack, _ options: ReconcileOptions, onEvent: @escaping @Sendable (ExecutionEvent) -> Void = { _ in })
        async throws -> ReconcileReport
    {
        let before = engine.callCounts
        let startedAt = Date()
        var (desired, _, plan) = try await preview(stack, options)
        var record = ReconcileRecord(
            stack: stack.name, trigger: options.trigger, profiles: desired.profiles, environment: desired.environment,
            manifestDigest: stack.digest, startedAt: startedAt)
        record.triggerDetail = options.triggerDetail
        let reconcileID = try store.begin(record)
        // Remembered before acting, so an interrupted switch continues on the next plain apply.
        try store.saveSelection(StackSelection(profiles: desired.profiles, environment: desired.environment), stack: stack.name)
        var results: [Int: StepResult] = [:]
        var actions: [ActionRecord] = []

        // Values that need a network's facts (its gateway) wait until the network exists.
        if !desired.pendingFacts.isEmpty {
            let networkSteps = plan.steps.filter { if case .createNetwork = $0.operation { $0.dependsOn.isEmpty } else { false } }
            let first = Plan(stack: plan.stack, steps: networkSteps)
            let firstResults = await execute(first, reconcileID: reconcileID, desired: desired, onEvent: onEvent, actions: &actions)
            results.merge(firstResults) { a, _ in a }
            (desired, _, plan) = try await preview(stack, options)
            if !desired.pendingFacts.isEmpty {
                // Never create a container with a placeholder in its spec.
                plan = Plan(
                    stack: plan.stack,
                    conflicts: desired.pendingFacts.map {
                        Conflict(
                            resource: $0, reason: "the Engine does not report this fact even after creating the network; pin it in the Network's ipam"
                        )
                    })
            }
        }
        results.merge(await execute(plan, reconcileID: reconcileID, desired: desired, onEvent: onEvent, actions: &actions)) { _, b in b }

        let failedServices = Set(plan.steps.filter { results[$0.id]?.succeeded == false }.compactMap(\.service))
        let applied = try store.appliedHashes(stack: stack.name)
        try store.saveApplied(
            desired.containers.filter { !failedServices.contains($0.service) && applied[$0.service] != $0.specHash }, stack: stack.name,
            reconcileID: reconcileID)
        return try finish(reconcileID, desired: desired, plan: plan, results: results, actions: actions, since: before, startedAt: startedAt)
    }

    /// Removes the stack's containers and networks (and named volumes with `removeVolumes`).
    public func down(
        stack name: String, removeVolumes: Bool, trigger: String = "down", onEvent: @escaping @Sendable (ExecutionEvent) -> Void = { _ in }
    ) async throws -> ReconcileReport {
        let before = engine.callCounts
        let startedAt = Date()
        let observed = try await Observer(engine: engine).observe()
        let plan = Planner.down(stack: name, observed: observed, removeVolumes: removeVolumes)
        let reconcileID = try store.begin(
            ReconcileRecord(stack: name, trigger: trigger, profiles: [], environment: nil, manifestDigest: "", startedAt: startedAt))
        var actions: [ActionRecord] = []
        let results = await execute(plan, reconcileID: reconcileID, desired: DesiredState(stack: name), onEvent: onEvent, actions: &actions)
        return try finish(
            reconcileID, desired: DesiredState(stack: name), plan: plan, results: results, actions: actions, since: before, startedAt: startedAt)
    }

    /// Logs the actions and how the reconcile ended, and builds its report.
    private func finish(
        _ reconcileID: Int64, desired: DesiredState, plan: Plan, results: [Int: StepResult], actions: [ActionRecord], since before: EngineCallCounts,
        startedAt: Date
    ) throws -> ReconcileReport {
        for action in actions { try store.record(action) }
        let outcome = Self.outcome(plan: plan, results: results)
        let calls = engine.callCounts.since(before)
        let firstError =
            plan.steps.compactMap { step in results[step.id]?.error.map { "#\(step.id) \(step.operation.kind): \($0)" } }.first
            ?? plan.conflicts.first.map { "\($0.resource): \($0.reason)" }
        let endedAt = Date()
        try store.finish(
            reconcileID, outcome: outcome.rawValue, error: firstError, driftCount: plan.changeCount, engineReads: calls.reads,
            engineWrites: calls.writes, at: endedAt)
        return ReconcileReport(
            reconcileID: reconcileID, stack: desired.stack, desired: desired.redacted, plan: plan, results: results, outcome: outcome,
            engineCalls: calls, startedAt: startedAt, endedAt: endedAt)
    }

    func resolve(_ stack: LoadedStack, _ options: ReconcileOptions, facts: NetworkFacts) throws(ManifestErrors) -> DesiredState {
        try Resolver.resolve(
            stack.manifest,
            ResolutionRequest(
                profiles: options.profiles, environment: options.environment, processEnvironment: options.processEnvironment, files: stack.files,
                facts: facts))
    }

    /// Runs a plan, logging each action; hook output and errors are stripped of the desired
    /// state's secret values before they are printed or stored.
    private func execute(
        _ plan: Plan, reconcileID: Int64, desired: DesiredState, onEvent: @escaping @Sendable (ExecutionEvent) -> Void, actions: inout [ActionRecord]
    ) async -> [Int: StepResult] {
        let store = self.store
        let stack = desired.stack
        let executor = Executor(engine: engine, stack: stack)
        var results = await executor.execute(plan) { event in
            if case .hookRan(let step, let containerID, let hook, let result) = event {
                // Written at once: a hook runs once per container lifetime, even across a crash.
                let output = desired.redactingSecrets(in: String((result.stdout + result.stderr).suffix(2000)))
                try? store.recordHook(
                    HookRunRecord(
                        containerID: containerID, hook: hook, stack: stack, service: step.service ?? "", exitCode: result.exitCode,
                        output: output, ranAt: Date()))
                onEvent(.hookRan(step, containerID: containerID, hook: hook, result: ExecResult.redacted(result, by: desired)))
                return
            }
            if case .finished(let step, var result) = event {
                result.redactError(by: desired)
                onEvent(.finished(step, result))
                return
            }
            onEvent(event)
        }
        for id in results.keys { results[id]?.redactError(by: desired) }
        for step in plan.steps {
            guard let result = results[step.id] else { continue }
            actions.append(
                ActionRecord(
                    reconcileID: reconcileID, step: step.id, kind: step.operation.kind, target: step.operation.target,
                    reason: step.cause.description, startedAt: result.startedAt, endedAt: result.endedAt, outcome: result.outcome, error: result.error
                ))
        }
        return results
    }

    static func outcome(plan: Plan, results: [Int: StepResult]) -> ReconcileOutcome {
        let failures = plan.steps.filter { results[$0.id]?.succeeded == false }.count
        if failures > 0 { return failures == plan.steps.count ? .failed : .partial }
        if !plan.conflicts.isEmpty { return .conflict }
        return plan.steps.isEmpty ? .converged : .changed
    }
}

extension PlanStep {
    /// The service a container step acts on, when it is one.
    var service: String? {
        switch operation {
        case .createContainer(let spec): return spec.service
        case .startContainer(let ref), .stopContainer(let ref, _), .renameContainer(let ref, _), .removeContainer(let ref),
            .waitHealthy(let ref, _), .waitCompleted(let ref), .runHook(let ref, _), .connectNetwork(let ref, _), .disconnectNetwork(let ref, _):
            if case .created(let service, _) = ref { return service }
            return nil
        default: return nil
        }
    }
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

import BerthModel

/// Engine events that arrived since the last look, for a round still executing its plan (see
/// `Reconciler.executeTakingOnLateRepairs`). They stay queued for the next round as well, which
/// then finds what was repaired converged.
public struct LateEvents: Sendable {
    /// Whether events about the stack came since the previous call.
    public let poll: @Sendable () async -> Bool

    public init(poll: @escaping @Sendable () async -> Bool) { self.poll = poll }
}

extension Reconciler {
    /// How often a round that executes looks for late events.
    static let lateLookInterval: Duration = .milliseconds(25)

    /// Executes `preview`'s plan; meanwhile, whenever Engine events arrive, plans again and runs
    /// beside it the repairs of services it does not touch (`Plan.lateRepairs`). A burst of
    /// removals the Engine carries out over a second or two is then repaired as it happens,
    /// not one round after another. Every step lands in this reconcile's log; the returned plan
    /// is the original with the later steps appended, and `observed` holds what each late plan
    /// saw of its services.
    func executeTakingOnLateRepairs(
        _ preview: Preview, _ stack: LoadedStack, _ options: ReconcileOptions, _ occasion: Occasion, late: LateEvents, reconcileID: Int64,
        onEvent: @escaping @Sendable (ExecutionEvent) -> Void
    ) async -> (plan: Plan, results: [Int: StepResult], observed: ObservedState) {
        enum Outcome: Sendable {
            case executed([Int: StepResult])
            case look
        }
        var plan = preview.plan
        var observed = preview.observed
        var results: [Int: StepResult] = [:]
        var taken = Set(plan.steps.compactMap(\.service))
        // Events stay unanswered until a look succeeds: a look the Engine failed is made again.
        var unanswered = false
        await withTaskGroup(of: Outcome.self) { group in
            let first = plan
            group.addTask { .executed(await self.execute(first, reconcileID: reconcileID, desired: preview.desired, onEvent: onEvent)) }
            let nextLook: @Sendable () async -> Outcome = {
                try? await Task.sleep(for: Self.lateLookInterval)
                return .look
            }
            group.addTask(operation: nextLook)
            var executing = 1
            while executing > 0, let outcome = await group.next() {
                switch outcome {
                case .executed(let done):
                    results.merge(done) { _, b in b }
                    executing -= 1
                case .look:
                    // Listed, not inspected: the Engine answers an inspect of a container it is
                    // removing only once the removal ends, and a burst's removals end together.
                    // A container gone is what a late repair is for; one listed as still there
                    // gets its look when its own events come.
                    var again = occasion
                    again.recheck = []
                    if await late.poll() { unanswered = true }
                    if unanswered, let later = try? await self.preview(stack, options, again) {
                        unanswered = false
                        let found = later.plan.lateRepairs(excluding: taken)
                        if !found.steps.isEmpty {
                            let repairs = plan.takeOn(found)
                            let services = Set(repairs.steps.compactMap(\.service))
                            taken.formUnion(services)
                            observed.containers.removeAll { $0.service.map(services.contains) == true }
                            observed.containers += later.observed.containers.filter { $0.service.map(services.contains) == true }
                            group.addTask {
                                .executed(await self.execute(repairs, reconcileID: reconcileID, desired: later.desired, onEvent: onEvent))
                            }
                            executing += 1
                        }
                    }
                    group.addTask(operation: nextLook)
                }
            }
            group.cancelAll()
        }
        return (plan, results, observed)
    }
}

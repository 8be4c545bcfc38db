import BerthEngine
import BerthModel
import BerthStore

/// A stack whose target is `swarm` goes through the same apply, log and report as one on a
/// single Engine; only observing and planning differ (`SwarmObserver`, `SwarmPlanner`).
extension Reconciler {
    /// Whether any selection of the stack can target a swarm: only such a stack is resolved once
    /// more before it is observed, so a single-Engine reconcile pays nothing for swarms.
    static func mayTargetSwarm(_ manifest: StackManifest) -> Bool {
        manifest.target == .swarm || manifest.environments.contains { $0.target == .swarm }
    }

    /// The swarm's preview: its services and networks against the stack, with held revisions in
    /// place (`berth rollback`, a failed rollout) and the connections a profile switch moves.
    /// A switch is not probed first on a swarm (a probe would be one more service): the
    /// consumers' rollouts are its gate, and one failing sends them all back.
    func swarmPreview(_ wanted: DesiredState, _ stack: LoadedStack, _ options: ReconcileOptions, remembered: StackSelection?) async throws
        -> Preview
    {
        guard wanted.pendingFacts.isEmpty else {
            throw ExecutionError(
                "\(wanted.pendingFacts.joined(separator: ", ")): a network's gateway or subnet is not known before a swarm allocates it; write the value into the manifests"
            )
        }
        let observer = SwarmObserver(engine: engine)
        try await observer.requireManager()
        let observed = try await observer.observe(
            stack: wanted.stack, services: wanted.containers.map { SwarmServiceSpec.name(of: $0, stack: wanted.stack) },
            networks: wanted.networks.map(\.engineName))
        let (desired, applied, ended) = wanted.holding(try store.holds(stack: wanted.stack), observed: ObservedState())
        let switches = swarmSwitches(stack, options, from: remembered, to: wanted, observed: observed)
        var plan = SwarmPlanner.plan(desired: desired, observed: observed)
        plan.checks = switches.map {
            PreflightCheck(
                connection: $0.connection, profile: $0.to.profile, target: $0.to.address, network: $0.network,
                result: .unchecked("on a swarm the consumers' rollouts are the check; one failing sends every consumer back"))
        }
        var preview = Preview(
            wanted: wanted, desired: desired, observed: ObservedState(), plan: plan, holds: applied, endedHolds: ended, switches: switches,
            previousSelection: switches.isEmpty ? nil : remembered)
        preview.swarm = observed
        return preview
    }

    /// The connections `wanted` moves to another target, for consumers with a running task.
    private func swarmSwitches(
        _ stack: LoadedStack, _ options: ReconcileOptions, from remembered: StackSelection?, to wanted: DesiredState, observed: ObservedSwarm
    ) -> [ConnectionSwitch] {
        guard let applied = previouslyApplied(stack, options, from: remembered, to: wanted, facts: NetworkFacts()) else { return [] }
        let running = Set(observed.services.filter { $0.stack == wanted.stack && $0.runningTasks > 0 }.map(\.spec.service))
        return ConnectionSwitch.between(applied: applied, desired: wanted, running: running)
    }

    /// The stack's swarm services and overlay networks for `down`, when this Engine is a swarm
    /// manager; nothing otherwise.
    func swarmDown(stack: String) async throws -> Plan? {
        guard (try? await engine.info())?.isSwarmManager == true else { return nil }
        let observed = try await SwarmObserver(engine: engine).observe(stack: stack)
        let plan = SwarmPlanner.down(stack: stack, observed: observed)
        return plan.steps.isEmpty ? nil : plan
    }
}

extension Plan {
    /// This plan, then `other`'s steps after all of its own (renumbered).
    func followed(by other: Plan) -> Plan {
        var plan = self
        let offset = steps.count
        let mine = steps.map(\.id)
        for var step in other.steps {
            step.id += offset
            step.dependsOn = step.dependsOn.map { $0 + offset } + mine
            plan.steps.append(step)
        }
        plan.conflicts += other.conflicts
        return plan
    }
}

import BerthEngine
import BerthModel

/// A stack whose target is `swarm` goes through the same apply, log and report as one on a
/// single Engine; only observing and planning differ (`SwarmObserver`, `SwarmPlanner`).
extension Reconciler {
    /// Whether any selection of the stack can target a swarm: only such a stack is resolved once
    /// more before it is observed, so a single-Engine reconcile pays nothing for swarms.
    static func mayTargetSwarm(_ manifest: StackManifest) -> Bool {
        manifest.target == .swarm || manifest.environments.contains { $0.target == .swarm }
    }

    /// The swarm's preview: its services and networks against the stack. Profile switches are
    /// planned as any other spec change here (no preflight probe yet).
    func swarmPreview(_ wanted: DesiredState) async throws -> Preview {
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
        let plan = SwarmPlanner.plan(desired: wanted, observed: observed)
        var preview = Preview(wanted: wanted, desired: wanted, observed: ObservedState(), plan: plan, holds: [], endedHolds: [])
        preview.swarm = observed
        return preview
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

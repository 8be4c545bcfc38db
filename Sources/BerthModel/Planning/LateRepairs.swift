extension Plan {
    /// The part of this plan that a round still executing an earlier plan may run beside it.
    ///
    /// When many containers are removed at once, the Engine removes them over a second or two:
    /// the round their first events wake finds only some gone. Waiting for that round to end
    /// before repairing the rest serializes the repairs behind its starts. A plan made again
    /// while it runs may instead hand over whole services whose containers are gone (create,
    /// attach, start, gate, hooks): nothing of a rollout, no container stopped or crashed (whether
    /// it was stopped by hand decides how its restart counts: the round's business),
    /// no network, volume or removal, no service the round already acts on, and no step that
    /// waits on a step left out.
    public func lateRepairs(excluding taken: Set<String>) -> Plan {
        let byService = Dictionary(grouping: steps.filter { $0.service != nil }, by: { $0.service! })
        var eligible = Set(byService.filter { service, steps in !taken.contains(service) && steps.allSatisfy(\.isPlainRepair) }.keys)
        // Drop services that wait on a step outside the eligible ones, until none does.
        while true {
            let ids = Set(steps.filter { $0.service.map(eligible.contains) == true }.map(\.id))
            let blocked = eligible.filter { service in byService[service]!.contains { !$0.dependsOn.allSatisfy(ids.contains) } }
            if blocked.isEmpty { break }
            eligible.subtract(blocked)
        }
        return Plan(stack: stack, steps: steps.filter { $0.service.map(eligible.contains) == true })
    }

    /// Appends `repairs` (see `lateRepairs`) after this plan's steps, renumbered so no id is
    /// taken twice, and returns them as appended. A service this plan waited on (its container
    /// was still being removed) that they put back waits no more.
    public mutating func takeOn(_ repairs: Plan) -> Plan {
        let appended = repairs.renumbered(from: (steps.map(\.id).max() ?? 0) + 1)
        let services = Set(appended.steps.compactMap(\.service))
        steps += appended.steps
        waiting.removeAll { $0.service.map(services.contains) == true }
        return appended
    }

    /// Whether a round looks again before acting, because the Engine is removing a container
    /// this plan wants back. A round that takes on late repairs acts at once when it has
    /// anything else to do: the removed one is repaired beside it as soon as it is gone, instead
    /// of everything waiting for the slowest removal of a burst.
    public func waitsOutRemovals(takingOnLateRepairs: Bool) -> Bool {
        !waiting.isEmpty && (!takingOnLateRepairs || steps.isEmpty)
    }

    /// This plan's steps numbered from `first` on, their dependencies with them: a later plan's
    /// steps join a round's log without taking an id the round already used.
    public func renumbered(from first: Int) -> Plan {
        let offset = first - (steps.map(\.id).min() ?? first)
        var copy = self
        copy.steps = steps.map { step in
            var moved = step
            moved.id += offset
            moved.dependsOn = step.dependsOn.map { $0 + offset }
            return moved
        }
        return copy
    }
}

extension PlanStep {
    /// A step that puts a missing container back as it was meant to be, touching
    /// nothing else: see `Plan.lateRepairs`.
    var isPlainRepair: Bool {
        switch (operation, cause) {
        case (.createContainer, .missing), (.startContainer, .missing): true
        case (.connectNetwork(.created, _), .missing): true
        case (.waitHealthy, .healthGate), (.runHook, .hookPending), (.waitCompleted(.created), .dependency): true
        default: false
        }
    }
}

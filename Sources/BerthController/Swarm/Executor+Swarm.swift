import BerthEngine
import BerthModel
import Foundation

/// The swarm steps: a service is declared, then watched until the swarm runs it as asked.
extension Executor {
    /// Creates a service. A create that met a service of its name is done when that service is
    /// this stack's with this spec hash (an earlier create whose answer was lost).
    func createService(_ spec: SwarmServiceSpec) async throws {
        let engineSpec = spec.engineSpec(objectIDs: try await objectIDs(for: spec))
        do {
            _ = try await engine.createService(engineSpec)
        } catch let conflict as EngineError where conflict.is(.conflict) {
            let namesakes = try await engine.listServices(labels: [], names: [spec.name])
            guard namesakes.contains(where: { $0.spec.labels == engineSpec.labels }) else { throw conflict }
        }
    }

    func updateService(id: String, version: UInt64, _ spec: SwarmServiceSpec) async throws {
        try await engine.updateService(id, version: version, spec.engineSpec(objectIDs: try await objectIDs(for: spec)))
    }

    /// The ids of the secrets and configs `spec` mounts: a service names them by id, and they
    /// were made by earlier steps of this plan or an earlier reconcile.
    private func objectIDs(for spec: SwarmServiceSpec) async throws -> [String: String] {
        var ids: [String: String] = [:]
        for kind in Set(spec.files.map(\.object.kind)) {
            for object in try await engine.listSwarmObjects(configs: kind == .config, labels: ["\(Resolver.Label.stack)=\(stack)"]) {
                ids[object.spec.name] = object.id
            }
        }
        return ids
    }

    /// Makes a secret or config. One that met an object of its name is done when that object is
    /// this stack's: the name holds a digest of the content, so it holds the same content.
    func createObject(_ object: SwarmObject) async throws {
        guard let content = object.content else { throw ExecutionError("\(object) has no content to send (redacted)") }
        let spec = SwarmObjectSpec(name: object.name, labels: object.labels, data: Data(content.utf8).base64EncodedString())
        do {
            _ = try await engine.createSwarmObject(config: object.kind == .config, spec)
        } catch let conflict as EngineError where conflict.is(.conflict) {
            let namesakes = try await engine.listSwarmObjects(configs: object.kind == .config, labels: [])
            guard namesakes.contains(where: { $0.spec.name == object.name && $0.spec.labels[Resolver.Label.stack] == stack }) else {
                throw conflict
            }
        }
    }

    /// Waits until every replica runs (past its healthcheck: a swarm task stays `starting` until
    /// healthy) and no rolling update is still going. Fails at once when the swarm rolled the
    /// update back or paused it, and at the deadline with the newest task error. Ends without a
    /// verdict when someone else rescales the service meanwhile: the next round judges that.
    func waitService(_ spec: SwarmServiceSpec) async throws {
        let clock = ContinuousClock()
        let end = clock.now + .milliseconds(spec.rolloutDeadlineMilliseconds)
        var lastError: String?
        while true {
            let service = try await engine.inspectService(spec.name)
            // Scaled by another client while this waited (`docker service scale`): the count
            // awaited will never come, and that change's event already asks for the next round.
            if !spec.global, let replicas = service.spec.mode.replicated?.replicas, replicas != spec.replicas { return }
            let state = service.updateStatus?.state
            if let state, ["rollback_started", "rollback_completed", "rollback_paused", "paused"].contains(state) {
                let message = service.updateStatus?.message.map { ": \($0)" } ?? ""
                throw ExecutionError("the swarm did not complete the update (\(state.replacingOccurrences(of: "_", with: " ")))\(message)")
            }
            let tasks = try await engine.listTasks(services: [service.id], wantedRunning: true)
            // Right after an update the swarm still reports the last update as completed and the
            // old tasks as running: only tasks made from the current template count.
            let running = tasks.filter { $0.status.state == "running" && ($0.spec == nil || $0.spec == service.spec.taskTemplate) }.count
            lastError = tasks.compactMap { $0.status.err }.first ?? lastError
            // A global service has one task per eligible node: the swarm's count is the one wanted.
            let wanted = spec.global ? tasks.count : spec.replicas
            if running == wanted, tasks.count == wanted, !spec.global || wanted > 0, state == nil || state == "completed" { return }
            guard clock.now < end else {
                let none = spec.global && wanted == 0 ? "no node satisfies the placement constraints; " : ""
                throw ExecutionError(
                    "\(none)\(running) of \(wanted) tasks running after \(spec.rolloutDeadlineMilliseconds / 1000) s\(lastError.map { "; task error: \($0)" } ?? "")"
                )
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }
}

extension Executor {
    /// Removes a network, waiting up to 30 s while the Engine says it is in use: a removed swarm
    /// service's tasks leave its overlay networks only as they shut down, after the call. A swarm
    /// manager removes an overlay network from the swarm at once but lists its own copy until its
    /// last task container is gone, and a service created meanwhile is refused (`network … not
    /// found`): so the removal ends when the Engine no longer lists it either.
    func removeNetwork(_ name: String) async throws {
        try await waitingOutInUse(EngineTexts.isNetworkInUse) { try await engine.removeNetwork(name) }
        for _ in 0..<120 {
            guard try await engine.listNetworks(labels: [], names: [name]).contains(where: { $0.name == name }) else { return }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Removes a volume, waiting up to 30 s while a container still mounts it (a swarm task's
    /// container after its service was removed).
    func removeVolume(_ name: String) async throws {
        try await waitingOutInUse(EngineTexts.isVolumeInUse) { try await engine.removeVolume(name, force: false) }
    }

    private func waitingOutInUse(_ isInUse: (String) -> Bool, _ removal: () async throws -> Void) async throws {
        var attempt = 0
        while true {
            do {
                return try await removal()
            } catch let error as EngineError where isInUse(error.message) && attempt < 120 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }
}

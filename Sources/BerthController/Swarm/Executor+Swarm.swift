import BerthEngine
import BerthModel

/// The swarm steps: a service is declared, then watched until the swarm runs it as asked.
extension Executor {
    /// Creates a service. A create that met a service of its name is done when that service is
    /// this stack's with this spec hash (an earlier create whose answer was lost).
    func createService(_ spec: SwarmServiceSpec) async throws {
        let engineSpec = spec.engineSpec
        do {
            _ = try await engine.createService(engineSpec)
        } catch let conflict as EngineError where conflict.is(.conflict) {
            let namesakes = try await engine.listServices(labels: [], names: [spec.name])
            guard namesakes.contains(where: { $0.spec.labels == engineSpec.labels }) else { throw conflict }
        }
    }

    /// Waits until every replica runs (past its healthcheck: a swarm task stays `starting` until
    /// healthy) and no rolling update is still going. Fails at once when the swarm rolled the
    /// update back or paused it, and at the deadline with the newest task error.
    func waitService(_ spec: SwarmServiceSpec) async throws {
        let clock = ContinuousClock()
        let end = clock.now + .milliseconds(spec.rolloutDeadlineMilliseconds)
        var lastError: String?
        while true {
            let service = try await engine.inspectService(spec.name)
            let state = service.updateStatus?.state
            if let state, ["rollback_started", "rollback_completed", "rollback_paused", "paused"].contains(state) {
                let message = service.updateStatus?.message.map { ": \($0)" } ?? ""
                throw ExecutionError("the swarm did not complete the update (\(state.replacingOccurrences(of: "_", with: " ")))\(message)")
            }
            let tasks = try await engine.listTasks(services: [service.id])
            let running = tasks.filter { $0.status.state == "running" }.count
            lastError = tasks.compactMap { $0.status.err }.first ?? lastError
            if running == spec.replicas, tasks.count == spec.replicas, state == nil || state == "completed" { return }
            guard clock.now < end else {
                throw ExecutionError(
                    "\(running) of \(spec.replicas) tasks running after \(spec.rolloutDeadlineMilliseconds / 1000) s\(lastError.map { "; task error: \($0)" } ?? "")"
                )
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }
}

extension Executor {
    /// Removes a network, waiting up to 30 s while the Engine says it is in use: a removed swarm
    /// service's tasks leave its overlay networks only as they shut down, after the call.
    func removeNetwork(_ name: String) async throws {
        var attempt = 0
        while true {
            do {
                return try await engine.removeNetwork(name)
            } catch let error as EngineError where EngineTexts.isNetworkInUse(error.message) && attempt < 120 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }
}

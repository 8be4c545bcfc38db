import BerthEngine
import BerthModel

/// Reads a swarm for one stack: its services (by label, and by name whatever holds one the stack
/// wants), their running tasks, and its networks. Reads only.
struct SwarmObserver {
    let engine: any EngineClient

    /// Fails with a message a user can act on when the Engine is not a swarm manager.
    func requireManager() async throws {
        let info = try await engine.info()
        guard info.isSwarmManager else {
            let state = info.swarm?.localNodeState ?? "inactive"
            throw ExecutionError(
                state == "active"
                    ? "this Engine is a swarm worker; 'target: swarm' needs a manager (point DOCKER_HOST at one)"
                    : "this Engine is not part of a swarm (swarm state: \(state)); 'target: swarm' needs a swarm manager: run 'docker swarm init', point DOCKER_HOST at a manager, or use 'target: engine'"
            )
        }
    }

    func observe(stack: String, services wanted: [String] = [], networks wantedNetworks: [String] = []) async throws -> ObservedSwarm {
        let label = "\(Resolver.Label.stack)=\(stack)"
        async let ownServices = engine.listServices(labels: [label], names: [])
        async let ownNetworks = engine.listNetworks(labels: [label], names: [])
        async let secrets = engine.listSwarmObjects(configs: false, labels: [label])
        async let configs = engine.listSwarmObjects(configs: true, labels: [label])
        var services = try await ownServices
        var networks = try await ownNetworks
        let objects =
            try await secrets.map { ObservedSwarmObject(kind: .secret, id: $0.id, name: $0.spec.name, labels: $0.spec.labels) }
            + configs.map { ObservedSwarmObject(kind: .config, id: $0.id, name: $0.spec.name, labels: $0.spec.labels) }
        let missing = wanted.filter { name in !services.contains { $0.spec.name == name } }
        if !missing.isEmpty { services += try await engine.listServices(labels: [], names: missing) }
        let missingNetworks = wantedNetworks.filter { name in !networks.contains { $0.name == name } }
        if !missingNetworks.isEmpty {
            networks += try await engine.listNetworks(labels: [], names: missingNetworks).filter { missingNetworks.contains($0.name) }
        }

        // Services name their networks by id; those outside the stack (an external one) are looked up.
        var names = Dictionary(networks.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let unknown = Set(services.flatMap { $0.spec.taskTemplate.networks ?? [] }.map(\.target)).subtracting(names.keys)
        if !unknown.isEmpty {
            for network in try await engine.listNetworks(labels: [], names: []) where unknown.contains(network.id) {
                names[network.id] = network.name
            }
        }

        async let nodes = engine.listNodes()
        // All tasks: those the swarm is shutting down say which node a lost task was on.
        let tasks = try await engine.listTasks(services: services.map(\.id), wantedRunning: false)
        let byService = Dictionary(grouping: tasks.filter { $0.desiredState == "running" }, by: \.serviceID)
        let lastRunOn = Dictionary(grouping: tasks.filter { $0.status.state == "running" }, by: \.serviceID)
        return ObservedSwarm(
            services: services.map { service in
                let own = byService[service.id] ?? []
                var observed = ObservedSwarmService(
                    id: service.id, version: service.version.index, labels: service.spec.labels,
                    spec: SwarmServiceSpec(observed: service.spec, networkNames: names),
                    runningTasks: own.filter { $0.status.state == "running" }.count, desiredTasks: own.count,
                    taskErrors: own.compactMap(\.status.err), updateState: service.updateStatus?.state)
                observed.taskNodes = Set((lastRunOn[service.id] ?? []).compactMap(\.nodeID) + own.compactMap(\.nodeID))
                return observed
            },
            networks: networks.map(ObservedNetwork.init), objects: objects,
            nodesDown: Dictionary(try await nodes.filter { $0.status.state != "ready" }.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a }))
    }
}

/// Swarm calls: services and their tasks. Only a manager answers them; `info()` says which
/// kind of Engine this is before anything is sent.
extension DockerClient {
    public func info() async throws -> EngineInfo {
        try await call(.get, "/info")
    }

    /// Services with every label in `labels` and, when `names` is not empty, one of those names.
    /// The Engine matches service names by prefix (`web` finds `web2`): the answer is cut to the
    /// exact names here.
    public func listServices(labels: [String] = [], names: [String] = []) async throws -> [SwarmService] {
        var filters = Self.matching(labels: labels, names: [])
        if !names.isEmpty { filters["name"] = names }
        let services: [SwarmService] = try await call(.get, "/services", query: [("filters", Self.filters(filters))])
        return names.isEmpty ? services : services.filter { names.contains($0.spec.name) }
    }

    public func inspectService(_ idOrName: String) async throws -> SwarmService {
        try await call(.get, "/services/\(idOrName)")
    }

    /// Creates a service and returns its id.
    public func createService(_ spec: ServiceSpec) async throws -> String {
        struct Created: Decodable {
            let id: String
            enum CodingKeys: String, CodingKey { case id = "ID" }
        }
        let created: Created = try await call(.post, "/services/create", body: try Self.json(spec))
        return created.id
    }

    /// Replaces a service's spec. `version` is the one the spec was read at: the Engine refuses
    /// the update if someone changed the service since (optimistic concurrency).
    public func updateService(_ id: String, version: UInt64, _ spec: ServiceSpec) async throws {
        struct Answer: Decodable {}
        let _: Answer = try await call(.post, "/services/\(id)/update", query: [("version", String(version))], body: try Self.json(spec))
    }

    public func removeService(_ idOrName: String) async throws {
        try await perform(.delete, "/services/\(idOrName)")
    }

    /// The tasks of the given services that the orchestrator wants running, or (`wantedRunning`
    /// false) all it still keeps, those it is shutting down included.
    public func listTasks(services: [String], wantedRunning: Bool = true) async throws -> [SwarmTask] {
        guard !services.isEmpty else { return [] }
        let filters = ["service": services].merging(wantedRunning ? ["desired-state": ["running"]] : [:]) { a, _ in a }
        return try await call(.get, "/tasks", query: [("filters", Self.filters(filters))])
    }

    /// The secrets (or configs) with every label in `labels`.
    public func listSwarmObjects(configs: Bool, labels: [String]) async throws -> [SwarmObjectSummary] {
        try await call(.get, configs ? "/configs" : "/secrets", query: [("filters", Self.filters(Self.matching(labels: labels, names: [])))])
    }

    /// Makes a secret (or config) and returns its id.
    public func createSwarmObject(config: Bool, _ spec: SwarmObjectSpec) async throws -> String {
        struct Created: Decodable {
            let id: String
            enum CodingKeys: String, CodingKey { case id = "ID" }
        }
        let created: Created = try await call(.post, config ? "/configs/create" : "/secrets/create", body: try Self.json(spec))
        return created.id
    }

    public func removeSwarmObject(config: Bool, _ idOrName: String) async throws {
        try await perform(.delete, config ? "/configs/\(idOrName)" : "/secrets/\(idOrName)")
    }

    /// The swarm's nodes (managers and workers).
    public func listNodes() async throws -> [SwarmNode] {
        try await call(.get, "/nodes")
    }
}

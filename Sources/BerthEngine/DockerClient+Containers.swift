public import Foundation

/// Container calls.
extension DockerClient {
    /// Lists containers (running or not) whose labels match every `key=value` in `labels` and,
    /// when `names` is not empty, whose name is one of them.
    /// On Podman, whose list leaves health out, the same list is asked once per health state
    /// (`PodmanDialect.healthStates`), in parallel: a fixed number of calls whatever the number of containers.
    public func listContainers(labels: [String] = [], names: [String] = [], all: Bool = true) async throws -> [ContainerSummary] {
        let filters = Self.matching(labels: labels, names: names, slash: true)
        let list: @Sendable ([String: [String]]) async throws -> [ContainerSummary] = { filters in
            try await self.call(.get, "/containers/json", query: [("all", all ? "true" : "false"), ("filters", Self.filters(filters))])
        }
        guard product == .podman else { return try await list(filters) }
        async let containers = list(filters)
        let health = try await withThrowingTaskGroup(of: (String, [ContainerSummary]).self) { group in
            for state in PodmanDialect.healthStates {
                group.addTask { (state, try await list(filters.merging(["health": [state]]) { $1 })) }
            }
            var health: [String: String] = [:]
            for try await (state, rows) in group { for row in rows { health[row.id] = state } }
            return health
        }
        return try await containers.map { row in
            var row = row
            row.health = row.health ?? health[row.id]
            return row
        }
    }

    public func inspectContainer(_ id: String) async throws -> ContainerDetails {
        try await call(.get, "/containers/\(id)/json")
    }

    /// Creates a container and returns its id.
    /// - Throws: `EngineError.conflict` when the name is taken, `.notFound` when the image is missing.
    public func createContainer(name: String?, _ request: ContainerCreateRequest) async throws -> String {
        let created: CreatedResponse = try await call(
            .post, "/containers/create", query: [("name", name)], body: try Self.json(request))
        return created.id
    }

    /// Starts a container; starting a running one is not an error.
    public func startContainer(_ id: String) async throws {
        try await perform(.post, "/containers/\(id)/start", accept304: true, idempotent: true)
    }

    /// Stops a container, giving it `timeout` seconds before SIGKILL; stopping a stopped one is not an error.
    public func stopContainer(_ id: String, timeout: Int? = nil) async throws {
        let wait = Int64(timeout ?? 10) + 30
        try await perform(
            .post, "/containers/\(id)/stop", query: [("t", timeout.map(String.init))], timeout: .seconds(wait),
            accept304: true, idempotent: true)
    }

    /// Stops (as `stopContainer`) and starts a container; a stopped one is just started.
    public func restartContainer(_ id: String, timeout: Int? = nil) async throws {
        let wait = Int64(timeout ?? 10) + 30
        try await perform(.post, "/containers/\(id)/restart", query: [("t", timeout.map(String.init))], timeout: .seconds(wait), idempotent: true)
    }

    public func killContainer(_ id: String, signal: String = "SIGKILL") async throws {
        try await perform(.post, "/containers/\(id)/kill", query: [("signal", signal)])
    }

    /// Removes a container. Anonymous volumes go with it only when `volumes` is set; named volumes never do.
    /// Retried like a read: a repeat after a lost answer finds nothing (404), which callers treat as done.
    public func removeContainer(_ id: String, force: Bool = false, volumes: Bool = false) async throws {
        try await perform(
            .delete, "/containers/\(id)", query: [("force", String(force)), ("v", String(volumes))], idempotent: true)
    }

    /// Extracts a tar archive into the container's filesystem at `path` (`docker cp`); works on a
    /// container that was created and not yet started. Repeating it writes the same files again.
    public func copyToContainer(_ id: String, path: String = "/", archive: Data) async throws {
        try await perform(.put, "/containers/\(id)/archive", query: [("path", path)], body: .tar(archive), idempotent: true)
    }

    public func renameContainer(_ id: String, to name: String) async throws {
        try await perform(.post, "/containers/\(id)/rename", query: [("name", name)])
    }

    /// Blocks until the container reaches `condition` (`not-running`, `next-exit`, `removed`).
    public func waitContainer(_ id: String, condition: String = "not-running") async throws -> WaitResponse {
        try await call(.post, "/containers/\(id)/wait", query: [("condition", condition)], timeout: .hours(24))
    }
}

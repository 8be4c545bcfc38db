/// Network and volume calls.
extension DockerClient {
    /// Networks with every label in `labels` and, when `names` is not empty, one of those names.
    public func listNetworks(labels: [String] = [], names: [String] = []) async throws -> [NetworkDetails] {
        try await call(.get, "/networks", query: [("filters", Self.filters(Self.matching(labels: labels, names: names)))])
    }

    /// Inspects a network by id or name.
    public func inspectNetwork(_ idOrName: String) async throws -> NetworkDetails {
        try await call(.get, "/networks/\(idOrName)")
    }

    /// Creates a network and returns its id.
    public func createNetwork(_ request: NetworkCreateRequest) async throws -> String {
        let created: CreatedResponse = try await call(.post, "/networks/create", body: try Self.json(request.forAPI(apiVersion)))
        return created.id
    }

    /// Attaches a container to a network under the given aliases.
    public func connectNetwork(_ network: String, container: String, endpoint: EndpointRequest? = nil) async throws {
        try await perform(
            .post, "/networks/\(network)/connect",
            body: try Self.json(NetworkConnectRequest(container: container, endpointConfig: endpoint)))
    }

    public func disconnectNetwork(_ network: String, container: String, force: Bool = false) async throws {
        try await perform(
            .post, "/networks/\(network)/disconnect",
            body: try Self.json(NetworkDisconnectRequest(container: container, force: force)))
    }

    public func removeNetwork(_ idOrName: String) async throws {
        try await perform(.delete, "/networks/\(idOrName)")
    }

    /// Volumes with every label in `labels` and, when `names` is not empty, one of those names.
    public func listVolumes(labels: [String] = [], names: [String] = []) async throws -> [VolumeDetails] {
        let list: VolumeList = try await call(.get, "/volumes", query: [("filters", Self.filters(Self.matching(labels: labels, names: names)))])
        return list.volumes ?? []
    }

    @discardableResult
    public func createVolume(name: String, driver: String = "local", options: [String: String] = [:], labels: [String: String] = [:])
        async throws -> VolumeDetails
    {
        let request = VolumeCreateRequest(name: name, driver: driver, driverOpts: options.isEmpty ? nil : options, labels: labels)
        return try await call(.post, "/volumes/create", body: try Self.json(request))
    }

    public func removeVolume(_ name: String, force: Bool = false) async throws {
        try await perform(.delete, "/volumes/\(name)", query: [("force", String(force))])
    }
}

public import BerthEngine
public import BerthModel

/// Takes the `ObservedState` snapshot of one stack. Its cost follows the stack, not the host:
/// three label-filtered lists (what the stack owns), the few names its plan needs besides
/// (`NamesToLookUp`), and one inspect per distinct image the desired state names. A host running
/// a thousand other containers answers a no-op with the same calls as an empty one.
public struct Observer: Sendable {
    let engine: any EngineClient
    /// Up to this many names are asked with one name-filtered list; more (a cold apply of a big
    /// stack) with one plain list, which the Engine answers faster than as many patterns.
    public static let namesPerFilter = 16

    public init(engine: any EngineClient) { self.engine = engine }

    /// Swarm tasks' containers carry this label; the swarm runs them, not Berth.
    static let swarmTaskLabel = "com.docker.swarm.task.id"
    static let swarmServiceLabel = "com.docker.swarm.service.name"

    /// The containers, networks and volumes `stack` owns, and the networks in `networks` (the
    /// names its manifests declare, whose gateways resolution may read) whoever owns them.
    ///
    /// `recheck` names containers an Engine event has just reported on; they are inspected too.
    /// Docker 20.10 sends `die` and the network `disconnect` of a dying container before its list
    /// view catches up (the exit handler updates that view last), so a list read at once can still
    /// say `running`. Inspect waits for the container's lock, which the exit handler holds until
    /// it is done, and so sees the end state.
    ///
    /// `early`: the stack's owned objects, when their listing was started before (`EarlyListing`).
    public func observe(
        stack: String, networks declared: Set<String> = [], recheck: Set<String> = [], early: EarlyListing? = nil
    ) async throws -> ObservedState {
        let owned = if let early { try await early.owned } else { try await listOwned(stack: stack) }
        // A swarm task's container carries the stack's labels too, but the swarm runs it.
        let (tasks, own) = owned.containers.partitioned { $0.labels[Self.swarmTaskLabel] != nil }
        var containers = own.map(ObservedContainer.init)
        if !recheck.isEmpty { containers = try await rechecked(containers, ids: recheck) }
        var observed = ObservedState(
            containers: containers,
            networks: owned.networks.map(ObservedNetwork.init),
            volumes: owned.volumes.map { ObservedVolume(name: $0.name, labels: $0.labels) })
        observed.swarmServices = Set(tasks.compactMap { $0.labels[Self.swarmServiceLabel] })
        try await lookUp(NamesToLookUp(networks: declared).subtracting(observed), into: &observed)
        return observed
    }

    /// What a stack owns, found by its label: the part of an observation that needs nothing but
    /// the stack's name.
    public struct Owned: Sendable {
        let containers: [ContainerSummary]
        let networks: [NetworkDetails]
        let volumes: [VolumeDetails]
    }

    /// Lists what `stack` owns: three label-filtered lists, asked at once.
    public func listOwned(stack: String) async throws -> Owned {
        let owner = ["\(Resolver.Label.stack)=\(stack)"]
        async let containers = engine.listContainers(labels: owner, names: [], all: true)
        async let networks = engine.listNetworks(labels: owner, names: [])
        async let volumes = engine.listVolumes(labels: owner, names: [])
        return try await Owned(containers: containers, networks: networks, volumes: volumes)
    }

    /// Adds to `observed` whatever holds one of `names`, whoever owns it; absent names stay absent.
    public func lookUp(_ names: NamesToLookUp, into observed: inout ObservedState) async throws {
        guard !names.isEmpty else { return }
        let engine = self.engine
        let limit = Self.namesPerFilter
        func ask<Row>(_ names: Set<String>, _ list: @Sendable ([String]) async throws -> [Row], name: (Row) -> String) async throws -> [Row] {
            if names.isEmpty { return [] }
            return try await list(names.count <= limit ? names.sorted() : []).filter { names.contains(name($0)) }
        }
        async let containers = ask(names.containers, { try await engine.listContainers(labels: [], names: $0, all: true) }, name: \.name)
        async let networks = ask(names.networks, { try await engine.listNetworks(labels: [], names: $0) }, name: \.name)
        async let volumes = ask(names.volumes, { try await engine.listVolumes(labels: [], names: $0) }, name: \.name)
        let known = Set(observed.containers.map(\.id))
        observed.containers += try await containers.filter { !known.contains($0.id) }.map(ObservedContainer.init)
        let knownNetworks = Set(observed.networks.map(\.id))
        observed.networks += try await networks.filter { !knownNetworks.contains($0.id) }.map(ObservedNetwork.init)
        observed.volumes += try await volumes.map { ObservedVolume(name: $0.name, labels: $0.labels) }
    }

    /// `containers` with those in `ids` read again by inspect; one removed meanwhile is dropped.
    private func rechecked(_ containers: [ObservedContainer], ids: Set<String>) async throws -> [ObservedContainer] {
        let engine = self.engine
        let details = try await concurrently(containers.map(\.id).filter(ids.contains)) { id -> ContainerDetails? in
            do {
                let details = try await engine.inspectContainer(id)
                return details
            } catch let error as EngineError where error.is(.notFound) {
                return nil
            }
        }
        return containers.compactMap { container in
            guard let inspected = details[container.id] else { return container }
            guard let inspected else { return nil }
            var container = container
            container.update(from: inspected)
            return container
        }
    }

    /// Local images for `references`; a missing image is simply absent.
    public func images(_ references: Set<String>) async throws -> [String: ObservedImage] {
        let engine = self.engine
        let images = try await concurrently(references) { reference -> ObservedImage? in
            do {
                let image = try await engine.inspectImage(reference)
                return ObservedImage(image)
            } catch let error as EngineError where error.is(.notFound) {
                return nil
            }
        }
        return images.compactMapValues { $0 }
    }

    /// What each registry serves now for `references`, asked in parallel; a registry that cannot
    /// be reached is an answer too (the planner reports it), not a failure of the reconcile.
    ///
    /// Podman has no `/distribution` endpoint: there the image is pulled (through the Engine, so
    /// its registries, credentials and `insecure` settings apply) and the digest read from what
    /// arrived. An unchanged tag moves no layer; a moved one is pulled a step earlier than on Docker.
    public func registryDigests(_ references: Set<String>) async -> [String: RegistryAnswer] {
        let engine = self.engine
        // Nothing below throws: every failure becomes an answer.
        return
            (try? await concurrently(references) { reference -> RegistryAnswer in
                do {
                    guard engine.product == .podman else { return .digest(try await engine.registryDigest(reference)) }
                    try await engine.pullImage(reference, progress: nil)
                    guard let digest = ObservedImage(try await engine.inspectImage(reference)).digest(for: reference) else {
                        return .unreachable("Podman pulled \(reference) but reports no registry digest for it")
                    }
                    return .digest(digest)
                } catch {
                    return .unreachable("\(error)")
                }
            }) ?? [:]
    }

    /// The digest of each build (its context directory read from disk, and its recipe), by
    /// `BuildSpec.digestKey`.
    public static func buildContexts(_ desired: DesiredState) -> [String: String] {
        var result: [String: String] = [:]
        for build in desired.containers.compactMap(\.build) where result[build.digestKey] == nil {
            if let archive = try? BuildContext.archive(build) { result[build.digestKey] = archive.digest }
        }
        return result
    }
}

extension ObservedImage {
    /// An image as the planner sees it: its `Id` (a config digest under Docker's graph drivers,
    /// the image index's or manifest's digest under the containerd store: compared only with the
    /// `ImageID` of containers of the same Engine) and its registry digests.
    public init(_ details: ImageDetails) {
        self.init(id: details.id, contextDigest: details.labels[Resolver.Label.contextDigest], repoDigests: details.repoDigests)
    }
}

extension ObservedContainer {
    /// A row of the Engine's list as the planner sees it: the image is the one it was made from
    /// (`ImageID`), whatever the image store.
    public init(_ summary: ContainerSummary) {
        self.init(
            id: summary.id, name: summary.name, labels: summary.labels, imageID: summary.imageID, state: summary.state,
            status: summary.status, health: summary.health, networks: Array(summary.networks.keys).sorted(),
            networkIDs: Self.networkIDs(summary.networks.mapValues(\.networkID)),
            networkMode: summary.networkMode)
    }

    /// The id of the network each endpoint was made on, where the Engine tells it: Podman puts the
    /// network's name there (it keeps endpoints by name, so a network made again under the same
    /// name serves them), which says nothing about which network it was.
    static func networkIDs(_ endpoints: [String: String]) -> [String: String] {
        endpoints.filter { name, id in !id.isEmpty && id != name }
    }

    /// Takes name, state, health and networks from an inspect, which is newer than the list's view.
    mutating func update(from details: ContainerDetails) {
        name = details.name.hasPrefix("/") ? String(details.name.dropFirst()) : details.name
        state = details.state.status
        status = details.state.status == "exited" ? "Exited (\(details.state.exitCode))" : details.state.status
        health = details.state.health.map(\.status).flatMap { $0 == "none" ? nil : $0 }
        networks = details.networkSettings.networks.keys.sorted()
        networkIDs = Self.networkIDs(details.networkSettings.networks.mapValues(\.networkID))
    }
}

extension ObservedNetwork {
    init(_ details: NetworkDetails) {
        let config = details.ipam.config?.first
        self.init(
            id: details.id, name: details.name, labels: details.labels, driver: details.driver, internal: details.internal,
            subnet: config?.subnet, gateway: config?.gateway, created: details.created)
    }
}

extension Array {
    /// The elements that satisfy `belongs`, and the others, each in order.
    func partitioned(_ belongs: (Element) -> Bool) -> (matching: [Element], others: [Element]) {
        var matching: [Element] = []
        var others: [Element] = []
        for element in self { if belongs(element) { matching.append(element) } else { others.append(element) } }
        return (matching, others)
    }
}

/// A snapshot of what the Engine has, taken once per reconcile; planning makes no further calls.
public struct ObservedState: Sendable, Equatable {
    public var containers: [ObservedContainer]
    public var networks: [ObservedNetwork]
    public var volumes: [ObservedVolume]
    /// Local images for the references the desired state names; absent = not on the host.
    public var images: [String: ObservedImage]
    /// Digest of each build context directory (by absolute path), as read from disk now.
    public var buildContexts: [String: String]
    /// Hooks already run, as `containerID/hook` (from the reconcile log).
    public var hooksRun: Set<String>
    /// Consecutive failed starts per container (short id), from the reconcile log.
    public var failedStarts: [String: Int] = [:]
    /// What the registry serves now for the references checked this time (`--pull`,
    /// `pull_policy: always`); a reference not checked is absent.
    public var registryDigests: [String: RegistryAnswer] = [:]
    /// Whether each switched connection's new target answered (`Preflight`), read before planning.
    public var preflight: [PreflightCheck] = []
    /// Engine names of volumes Berth did not make that this stack adopted (from the reconcile log).
    public var adoptedVolumes: Set<String> = []
    /// Swarm services whose tasks here carry the stack's labels: the stack runs on this Engine's
    /// swarm, so containers of the same stack must not be made beside them.
    public var swarmServices: Set<String> = []

    public init(
        containers: [ObservedContainer] = [], networks: [ObservedNetwork] = [], volumes: [ObservedVolume] = [],
        images: [String: ObservedImage] = [:], buildContexts: [String: String] = [:], hooksRun: Set<String> = []
    ) {
        self.containers = containers
        self.networks = networks
        self.volumes = volumes
        self.images = images
        self.buildContexts = buildContexts
        self.hooksRun = hooksRun
    }

    /// Gateways and subnets of the observed networks, for `Resolver`. Engine 20.10 leaves the
    /// gateway out of a network created with only a subnet; it is then the subnet's first address.
    public var facts: NetworkFacts {
        var facts = NetworkFacts()
        for network in networks {
            facts.gateways[network.name] = network.gateway ?? network.subnet.flatMap(IPv4.defaultGateway)
            facts.subnets[network.name] = network.subnet
        }
        return facts
    }
}

public struct ObservedImage: Sendable, Equatable {
    public var id: String
    /// The build context digest Berth stamped on an image it built (`berth.context-digest`).
    public var contextDigest: String?
    /// `repository@sha256:…` for each registry manifest this image was pulled or pushed as.
    public var repoDigests: [String]

    public init(id: String, contextDigest: String? = nil, repoDigests: [String] = []) {
        self.id = id
        self.contextDigest = contextDigest
        self.repoDigests = repoDigests
    }

    /// The registry digest of this image for `reference`'s repository, if it has one. Podman
    /// qualifies short names (`docker.io/library/app@…`, `localhost/app@…`): those spellings match too.
    public func digest(for reference: String) -> String? {
        let repository = ImageName.repository(of: reference)
        let spellings = [repository, "docker.io/" + repository, "docker.io/library/" + repository, "localhost/" + repository]
        for entry in repoDigests {
            guard let at = entry.firstIndex(of: "@"), spellings.contains(String(entry[..<at])) else { continue }
            return String(entry[entry.index(after: at)...])
        }
        return nil
    }
}

/// The registry's answer for one image reference.
public enum RegistryAnswer: Sendable, Equatable {
    case digest(String)
    case unreachable(String)
}

public struct ObservedContainer: Sendable, Equatable {
    public var id: String
    public var name: String
    public var labels: [String: String]
    public var imageID: String
    /// `created`, `running`, `restarting`, `paused`, `exited`, `dead`.
    public var state: String
    /// The Engine's status text, e.g. `Exited (137) 2 seconds ago`.
    public var status: String
    /// `healthy`, `unhealthy`, `starting`, or nil without a healthcheck.
    public var health: String?
    /// Engine names of the networks it is attached to.
    public var networks: [String]
    /// The id of each network by name, as its endpoint recorded it; absent for a container never
    /// started (the Engine resolves the name at start). An id that is no longer the network's means
    /// the network was removed and made again: the Engine will not start that container.
    public var networkIDs: [String: String]
    /// The Engine's `NetworkMode`; `container:ID` names the container whose network it shares.
    public var networkMode: String?

    public init(
        id: String, name: String, labels: [String: String], imageID: String, state: String, status: String = "",
        health: String? = nil, networks: [String], networkIDs: [String: String] = [:], networkMode: String? = nil
    ) {
        self.networkMode = networkMode
        self.id = id
        self.name = name
        self.labels = labels
        self.imageID = imageID
        self.state = state
        self.status = status
        self.health = health
        self.networks = networks
        self.networkIDs = networkIDs
    }

    public var stack: String? { labels[Resolver.Label.stack] }
    public var service: String? { labels[Resolver.Label.service] }
    public var specHash: String? { labels[Resolver.Label.specHash] }
    public var isRunning: Bool { state == "running" || state == "restarting" }
    public var shortID: String { String(id.prefix(12)) }

    /// The exit code in `Exited (N) …`, when stopped.
    public var exitCode: Int? {
        guard let open = status.firstIndex(of: "("), let close = status.firstIndex(of: ")"), status.hasPrefix("Exited") else { return nil }
        return Int(status[status.index(after: open)..<close])
    }
}

public struct ObservedNetwork: Sendable, Equatable {
    public var id: String
    public var name: String
    public var labels: [String: String]
    public var driver: String
    public var `internal`: Bool
    public var subnet: String?
    public var gateway: String?
    /// RFC 3339; orders networks that share a name (the Engine allows that after overlapping creates).
    public var created: String

    public init(
        id: String, name: String, labels: [String: String], driver: String, internal: Bool, subnet: String?, gateway: String?,
        created: String = ""
    ) {
        self.id = id
        self.created = created
        self.name = name
        self.labels = labels
        self.driver = driver
        self.internal = `internal`
        self.subnet = subnet
        self.gateway = gateway
    }

    public var stack: String? { labels[Resolver.Label.stack] }

    /// Older first, by creation time then id: of networks sharing a name, the first one stays.
    /// The Engine prints RFC 3339 with trailing zeros of the fraction dropped (`.5Z`, `.45Z`), so
    /// fractions are padded to nanoseconds before the text is compared.
    public static func olderFirst(_ a: ObservedNetwork, _ b: ObservedNetwork) -> Bool {
        (sortableTime(a.created), a.id) < (sortableTime(b.created), b.id)
    }

    static func sortableTime(_ text: String) -> String {
        guard let dot = text.firstIndex(of: ".") else { return text }
        let rest = text[text.index(after: dot)...]
        let digits = rest.prefix { $0.isNumber }
        return text[..<dot] + "." + digits + String(repeating: "0", count: max(0, 9 - digits.count)) + rest.dropFirst(digits.count)
    }
}

public struct ObservedVolume: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]

    public init(name: String, labels: [String: String]) {
        self.name = name
        self.labels = labels
    }

    public var stack: String? { labels[Resolver.Label.stack] }
}

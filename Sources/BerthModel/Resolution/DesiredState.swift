/// The host as it should be: fully resolved, no `${…}` left, secrets marked. Produced by
/// `Resolver.resolve` and consumed by `Planner.plan`.
public struct DesiredState: Sendable, Codable, Equatable {
    public var stack: String
    public var profiles: [String]
    public var environment: String?
    /// One per service active in the chosen profiles, sorted by service name.
    public var containers: [ContainerSpec]
    public var networks: [NetworkSpec]
    public var volumes: [VolumeSpec]
    /// Network facts (e.g. a gateway address) referenced but not yet observable because the
    /// network does not exist; values holding them carry a placeholder until it does.
    public var pendingFacts: [String]
    /// Secrets whose source is not available here (only when the request allowed that, e.g. `validate`).
    public var unavailableSecrets: [String] = []
    /// Where each connection points in the chosen profiles, sorted by name.
    public var connections: [ResolvedConnection] = []
    /// `.swarm` when the stack goes onto a Docker Swarm; nil for a single Engine.
    public var target: DeployTarget?
    /// How each service runs on a swarm (tasks, placement, where secrets go); nil for a single Engine.
    public var swarm: SwarmDeployment?

    public init(
        stack: String, profiles: [String] = [], environment: String? = nil, containers: [ContainerSpec] = [],
        networks: [NetworkSpec] = [], volumes: [VolumeSpec] = [], pendingFacts: [String] = []
    ) {
        self.stack = stack
        self.profiles = profiles
        self.environment = environment
        self.containers = containers
        self.networks = networks
        self.volumes = volumes
        self.pendingFacts = pendingFacts
    }

    public func container(_ service: String) -> ContainerSpec? { containers.first { $0.service == service } }

    /// Replaces every secret value of this state found in `text` (a hook's output, an Engine
    /// error) with `<secret>`, so it can be printed, logged and stored.
    public func redactingSecrets(in text: String) -> String {
        let variables = containers.flatMap { $0.environment.filter { $0.isSecret && $0.value.count >= 3 }.map(\.value) }
        let files = containers.flatMap { ($0.files ?? []).filter { $0.isSecret && $0.content.count >= 3 }.map(\.content) }
        let secrets = Set(variables + files)
        return secrets.sorted { $0.count > $1.count }.reduce(text) { $0.replacingOccurrences(of: $1, with: "<secret>") }
    }

    /// The same state with secret values replaced by their hashes: safe to print, log and store.
    public var redacted: DesiredState {
        var copy = self
        copy.containers = containers.map(\.redacted)
        return copy
    }
}

/// A connection resolved for the chosen profiles: which target its consumers are pointed at.
public struct ResolvedConnection: Sendable, Codable, Equatable {
    public var name: String
    /// The profile whose target was chosen (`default` when none of the active profiles names one).
    public var profile: String
    public var host: String
    public var port: Int?
    /// The stack's own service behind the target, for an internal one.
    public var targetService: String?
    public var consumers: [String]

    public init(name: String, profile: String, host: String, port: Int?, targetService: String?, consumers: [String]) {
        self.name = name
        self.profile = profile
        self.host = host
        self.port = port
        self.targetService = targetService
        self.consumers = consumers
    }

    /// `host:port`, as messages name the target.
    public var address: String { port.map { "\(host):\($0)" } ?? host }
}

/// Everything the Engine needs to create one service's container.
public struct ContainerSpec: Sendable, Codable, Equatable {
    public var service: String
    /// The container's name on the host.
    public var name: String
    /// The image reference with its resolved version, e.g. `berth-demo/app:1.2`.
    public var image: String
    public var build: BuildSpec?
    public var pullPolicy: PullPolicy
    public var command: [String]?
    public var entrypoint: [String]?
    public var environment: [EnvironmentVariable]
    public var ports: [PortSpec]
    public var mounts: [MountSpec]
    public var networks: [NetworkAttachment]
    public var healthcheck: HealthcheckSpec?
    public var restart: Restart
    public var hostname: String?
    public var user: String?
    public var workingDir: String?
    public var initProcess: Bool
    public var stopGraceSeconds: Int
    public var labels: [String: String]
    /// Signals, terminal, capabilities, sysctls, IPC, resource limits; nil when none is set.
    public var runtime: RuntimeOptions?
    /// Files written into the container before it starts; nil when there are none (so a spec
    /// without any hashes as before they existed).
    public var files: [FileSpec]?
    public var dependsOn: [Dependency]
    public var hooks: [HookSpec]
    /// How a change is rolled out; nil = stop-first with the healthcheck's deadline. Not part of
    /// the spec hash: changing it changes the next rollout, not the running container.
    public var update: UpdatePolicy?
    /// Hash of every field that needs a recreate when it changes; see `SpecHash`.
    public var specHash: String

    public var redacted: ContainerSpec {
        var copy = self
        copy.environment = environment.map(\.redacted)
        copy.files = files?.map(\.redacted)
        return copy
    }

    public func variable(_ name: String) -> EnvironmentVariable? { environment.first { $0.name == name } }

    public var updateOrder: UpdateOrder { update?.order ?? .stopFirst }

    /// How long a new container may take to become healthy before its rollout counts as failed.
    public var rolloutDeadlineMilliseconds: Int64? {
        guard let healthcheck, !healthcheck.isDisabled else { return nil }
        return update?.deadlineMilliseconds ?? healthcheck.deadlineMilliseconds
    }

    /// What runs, however its image is named (tag, digest or id): the spec, secrets hashed, with
    /// the image id in place of the reference. Two rollouts with equal keys ran the same thing.
    public func revisionKey(imageID: String) -> String {
        var copy = redacted
        copy.image = imageID
        return SpecHash.compute(copy)
    }

    /// The name a start-first rollout gives the new container while the old one still runs.
    public var stagedName: String { name + "_next" }
}

/// Which container goes first when a service is replaced.
public enum UpdateOrder: String, Sendable, Codable, CaseIterable {
    /// Stop the old container, then start the new one: needed when host ports are published.
    case stopFirst = "stop-first"
    /// Start the new one beside the old, move the network aliases once it is healthy, then remove
    /// the old: no gap for clients that reach the service by its alias.
    case startFirst = "start-first"
}

public struct UpdatePolicy: Sendable, Codable, Equatable {
    public var order: UpdateOrder
    public var deadlineMilliseconds: Int64?

    public init(order: UpdateOrder, deadlineMilliseconds: Int64? = nil) {
        self.order = order
        self.deadlineMilliseconds = deadlineMilliseconds
    }
}

/// A file Berth writes into a container after creating it and before starting it: a Compose
/// secret or config whose source is an environment variable or inline content (a file source is
/// bind-mounted instead). Secret content is carried but never shown.
public struct FileSpec: Sendable, Codable, Equatable, CustomStringConvertible {
    public var target: String
    public var content: String
    public var isSecret: Bool
    /// Permission bits; 0444 (read-only for everyone) when not given, as Compose writes them.
    public var mode: Int
    public var uid: Int
    public var gid: Int

    public init(target: String, content: String, isSecret: Bool, mode: Int = 0o444, uid: Int = 0, gid: Int = 0) {
        self.target = target
        self.content = content
        self.isSecret = isSecret
        self.mode = mode
        self.uid = uid
        self.gid = gid
    }

    /// Content becomes `<sha256:…>` for secrets, as environment values do: comparable, not readable.
    public var redacted: FileSpec {
        guard isSecret, !content.hasPrefix(EnvironmentVariable.redactedPrefix) else { return self }
        var copy = self
        copy.content = EnvironmentVariable.redactedPrefix + String(Digest.sha256Hex(content).prefix(12)) + ">"
        return copy
    }

    /// Where, with which owner and mode, and a digest of the content: never the content itself.
    public var description: String {
        "\(target) mode \(String(mode, radix: 8)) owner \(uid):\(gid) \(isSecret ? "secret" : "sha256:" + Digest.sha256Hex(content).prefix(12))"
    }
}

/// One environment variable of a container. Secret values are carried but never shown.
public struct EnvironmentVariable: Sendable, Codable, Equatable, CustomStringConvertible {
    public var name: String
    public var value: String
    public var isSecret: Bool

    public init(name: String, value: String, isSecret: Bool = false) {
        self.name = name
        self.value = value
        self.isSecret = isSecret
    }

    /// Secret values become `sha256:<first 12 hex>`: still comparable, not readable.
    public var redacted: EnvironmentVariable {
        guard isSecret, !value.hasPrefix(Self.redactedPrefix) else { return self }
        return EnvironmentVariable(name: name, value: Self.redactedPrefix + String(Digest.sha256Hex(value).prefix(12)) + ">", isSecret: true)
    }

    static let redactedPrefix = "<secret sha256:"

    public var description: String { isSecret ? "\(name)=<secret>" : "\(name)=\(value)" }
}

public struct BuildSpec: Sendable, Codable, Equatable {
    /// Absolute path of the build context directory.
    public var context: String
    public var dockerfile: String
    public var args: [String: String]
    public var target: String?
    /// A Dockerfile given as text; sent inside the context as `inlineDockerfileName`.
    public var dockerfileInline: String?
    public var labels: [String: String]?

    public init(
        context: String, dockerfile: String, args: [String: String], target: String? = nil, dockerfileInline: String? = nil,
        labels: [String: String]? = nil
    ) {
        self.context = context
        self.dockerfile = dockerfile
        self.args = args
        self.target = target
        self.dockerfileInline = dockerfileInline
        self.labels = labels
    }

    /// Where an inline Dockerfile is put in the context sent to the Engine.
    public static let inlineDockerfileName = ".berth.inline.Dockerfile"

    /// The Dockerfile the Engine reads, inside the context.
    public var effectiveDockerfile: String { dockerfileInline == nil ? dockerfile : Self.inlineDockerfileName }

    /// What, besides the context's files, decides the image: nil for a plain build, so the digests
    /// of builds made before these options existed stay the same.
    public var recipe: String? {
        guard target != nil || dockerfileInline != nil || !(labels ?? [:]).isEmpty else { return nil }
        return [
            target ?? "", dockerfileInline ?? "", (labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n"),
        ]
        .joined(separator: "\u{1f}")
    }

    /// The key of this build's digest in `ObservedState.buildContexts`: its context directory, and
    /// its recipe when it has one (two services may build one directory to different stages).
    public var digestKey: String { recipe.map { context + "#" + Digest.sha256Hex($0).prefix(16) } ?? context }
}

public struct PortSpec: Sendable, Codable, Equatable, Comparable, CustomStringConvertible {
    public var target: Int
    public var published: Int?
    public var hostIP: String
    public var `protocol`: String

    public init(target: Int, published: Int?, hostIP: String, protocol: String) {
        self.target = target
        self.published = published
        self.hostIP = hostIP
        self.protocol = `protocol`
    }

    public static func < (a: PortSpec, b: PortSpec) -> Bool { a.description < b.description }
    public var description: String {
        let host = published.map { (hostIP.isEmpty ? "" : "\(hostIP):") + "\($0):" } ?? (hostIP.isEmpty ? "" : "\(hostIP)::")
        return "\(host)\(target)/\(`protocol`)"
    }
}

public struct MountSpec: Sendable, Codable, Equatable, Comparable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable { case volume, bind, tmpfs }
    public var kind: Kind
    /// Engine volume name, absolute host path, or nothing for tmpfs.
    public var source: String?
    public var target: String
    public var readOnly: Bool
    /// A bind whose missing host directory the Engine creates (the short syntax, or Compose's
    /// `bind.create_host_path`); otherwise a missing one is an error. How it is made, not what:
    /// left out of `description` and so of the spec hash.
    public var createHostPath: Bool?

    public init(kind: Kind, source: String?, target: String, readOnly: Bool, createHostPath: Bool? = nil) {
        self.kind = kind
        self.source = source
        self.target = target
        self.readOnly = readOnly
        self.createHostPath = createHostPath
    }

    public static func < (a: MountSpec, b: MountSpec) -> Bool { a.target < b.target }
    public var description: String {
        "\(kind.rawValue):\(source ?? ""):\(target)\(readOnly ? ":ro" : "")"
    }
}

public struct NetworkAttachment: Sendable, Codable, Equatable, Comparable {
    /// The Engine's network name.
    public var network: String
    public var aliases: [String]
    public var ipv4Address: String?

    public init(network: String, aliases: [String], ipv4Address: String?) {
        self.network = network
        self.aliases = aliases
        self.ipv4Address = ipv4Address
    }

    public static func < (a: NetworkAttachment, b: NetworkAttachment) -> Bool { a.network < b.network }
}

public struct HealthcheckSpec: Sendable, Codable, Equatable {
    public var test: [String]
    public var intervalMilliseconds: Int64?
    public var timeoutMilliseconds: Int64?
    public var startPeriodMilliseconds: Int64?
    public var retries: Int?

    public init(
        test: [String], intervalMilliseconds: Int64? = nil, timeoutMilliseconds: Int64? = nil, startPeriodMilliseconds: Int64? = nil,
        retries: Int? = nil
    ) {
        self.test = test
        self.intervalMilliseconds = intervalMilliseconds
        self.timeoutMilliseconds = timeoutMilliseconds
        self.startPeriodMilliseconds = startPeriodMilliseconds
        self.retries = retries
    }

    /// The image's own healthcheck turned off. The Engine's word for it is the test `["NONE"]`,
    /// which is also what the spec hash has always encoded.
    public static let disabled = HealthcheckSpec(test: ["NONE"])
    public var isDisabled: Bool { test == ["NONE"] }

    /// How long to wait for `healthy` before calling it a failure: the Engine's own give-up point
    /// (start period + (interval + timeout) × retries) plus slack.
    public var deadlineMilliseconds: Int64 {
        let interval = intervalMilliseconds ?? 30_000
        let timeout = timeoutMilliseconds ?? 30_000
        let retries = Int64(retries ?? 3)
        return (startPeriodMilliseconds ?? 0) + (interval + timeout) * (retries + 1) + 5_000
    }
}

public struct Dependency: Sendable, Codable, Equatable {
    public var service: String
    public var condition: DependencyCondition
}

public struct HookSpec: Sendable, Codable, Equatable {
    public var name: String
    public var command: [String]
}

public struct NetworkSpec: Sendable, Codable, Equatable {
    /// The manifest name services refer to.
    public var name: String
    /// The Engine's name.
    public var engineName: String
    public var driver: String
    public var `internal`: Bool
    public var subnet: String?
    public var gateway: String?
    public var external: Bool
}

public struct VolumeSpec: Sendable, Codable, Equatable {
    public var name: String
    public var engineName: String
    public var driver: String
    /// The driver's options (`driver_opts`), e.g. an NFS export or a tmpfs size; nil without any.
    public var options: [String: String]?
    public var external: Bool
    /// A volume of this name made by someone else is used, on purpose (`adopt: true`).
    public var adopt = false
}

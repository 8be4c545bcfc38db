/// The manifest kinds as written, before resolution. Values may still hold `${VAR}` references;
/// `fieldLocations` maps each field path to where it was written, so resolution errors can
/// point at the right line.

/// A stack: every document in one directory.
public struct StackManifest: Sendable {
    public var name: String
    /// The stack directory; relative paths (builds, bind mounts, env files) are resolved against it.
    public var directory: String
    public var profiles: [String] = []
    public var defaultProfiles: [String] = []
    public var defaultEnvironment: String?
    /// Where the Stack document's own fields are (`default_profiles`, …), for error messages.
    public var stackFieldLocations: [String: SourceLocation] = [:]
    public var services: [ServiceManifest] = []
    public var environments: [EnvironmentManifest] = []
    public var connections: [ConnectionManifest] = []
    public var networks: [NetworkManifest] = []
    public var volumes: [VolumeManifest] = []
    /// Every file read for this stack, with its text, for the manifest digest.
    public var sources: [String: String] = [:]
    /// Compose semantics: an unset `${VAR}` is an empty string (the loader warns) instead of an error.
    public var undefinedVariablesAreBlank = false
    /// Directories outside the stack directory that env and secret files may come from.
    public var readOutside: [String] = []
    /// The age public keys (`age1…`) that `berth secrets` encrypts to, unless an Environment
    /// lists its own. Only public keys: identities never sit in a manifest.
    public var recipients: [String] = []
    /// Where `berth watch` tells people what happened.
    public var notifications: [NotificationManifest] = []
    /// What the stack is converged onto, unless its Environment says otherwise.
    public var target: DeployTarget = .engine
    /// Swarm scheduling for every environment whose target is a swarm; an Environment's own
    /// `swarm:` overrides it per service (a Compose project's `deploy:` lands here).
    public var swarm: SwarmManifest?

    public init(name: String, directory: String) {
        self.name = name
        self.directory = directory
    }

    public func service(_ name: String) -> ServiceManifest? { services.first { $0.name == name } }
    public func environment(_ name: String) -> EnvironmentManifest? { environments.first { $0.name == name } }
}

/// Where each field of one document was written.
public struct FieldLocations: Sendable {
    public var document: SourceLocation
    var fields: [String: SourceLocation] = [:]

    public init(document: SourceLocation) { self.document = document }

    /// The location of `field`, or of its nearest recorded parent, or of the document.
    public func of(_ field: String) -> SourceLocation {
        var path = field
        while true {
            if let location = fields[path] { return location }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return document }
            path = String(path[..<cut])
        }
    }

    mutating func record(_ field: String, _ location: SourceLocation) { fields[field] = location }
}

/// What runs: image, command, ports, volumes, health, restart policy, networks. No per-host values.
public struct ServiceManifest: Sendable {
    public var name: String
    public var image: String
    public var build: BuildManifest?
    public var containerName: String?
    public var hostname: String?
    public var command: [String]?
    public var entrypoint: [String]?
    public var environment: [String: String] = [:]
    public var ports: [PortManifest] = []
    public var volumes: [MountManifest] = []
    public var networks: [NetworkAttachmentManifest] = []
    public var healthcheck: HealthcheckManifest?
    public var restart: Restart = .no
    public var initProcess: Bool = false
    public var stopGracePeriod: Duration?
    public var user: String?
    public var workingDir: String?
    public var dependsOn: [DependencyManifest] = []
    public var profiles: [String] = []
    public var hooks: [HookManifest] = []
    public var labels: [String: String] = [:]
    /// Final values (read while loading), not templates.
    public var runtime = RuntimeOptions()
    /// Files written into the container before it starts (Compose secrets and configs that are
    /// not a host file), final values.
    public var files: [FileSpec] = []
    /// Compose secrets from encrypted files: their content is decrypted at resolution.
    public var sealedFiles: [SealedFileUse] = []
    public var pullPolicy: PullPolicy = .missing
    public var update: UpdateManifest?
    /// How many tasks a Swarm runs; nil = 1. A single Engine runs one container per service.
    public var replicas: Int?
    public var locations: FieldLocations

    public init(name: String, image: String, locations: FieldLocations) {
        self.name = name
        self.image = image
        self.locations = locations
    }
}

public struct BuildManifest: Sendable, Equatable {
    public var context: String
    public var dockerfile: String = "Dockerfile"
    public var args: [String: String] = [:]
    /// The stage of a multi-stage Dockerfile to build (`--target`).
    public var target: String?
    /// A Dockerfile written in the manifest itself, in place of `dockerfile`.
    public var dockerfileInline: String?
    /// Labels of the built image.
    public var labels: [String: String] = [:]
}

/// A port as written: `"8080:80"`, `"127.0.0.1:8080:80/udp"`, or the long form's fields.
public enum PortManifest: Sendable, Equatable {
    case short(String)
    case long(target: String, published: String?, hostIP: String?, protocol: String?)
}

/// A mount as written: `"data:/var/lib/x:ro"`, `"./conf:/etc/app"`, or the long form.
public enum MountManifest: Sendable, Equatable {
    case short(String)
    case long(type: String, source: String?, target: String, readOnly: Bool)
}

public struct NetworkAttachmentManifest: Sendable, Equatable {
    public var network: String
    public var aliases: [String] = []
    public var ipv4Address: String?
}

public struct HealthcheckManifest: Sendable, Equatable {
    public var test: [String]
    public var interval: Duration?
    public var timeout: Duration?
    public var startPeriod: Duration?
    public var retries: Int?
    public var disabled = false

    /// `disable: true` or `test: [NONE]`: the image's own healthcheck is turned off.
    public static let disabled = HealthcheckManifest(test: [], disabled: true)
}

/// When a dependent may start: once the dependency has started, is healthy, or has exited 0.
public enum DependencyCondition: String, Sendable, Codable, CaseIterable {
    case started, healthy, completed
}

public struct DependencyManifest: Sendable, Equatable {
    public var service: String
    public var condition: DependencyCondition
    /// When false (Compose's `required: false`), a dependency that is not active is skipped.
    public var required = true

    public init(service: String, condition: DependencyCondition, required: Bool = true) {
        self.service = service
        self.condition = condition
        self.required = required
    }
}

/// A command run once per container lifetime, after the container is first healthy (or started,
/// without a healthcheck). The seed case: `docker exec db_instance init`.
public struct HookManifest: Sendable, Equatable {
    public var name: String
    public var command: [String]
}

/// When to pull a service's image.
public enum PullPolicy: String, Sendable, Codable, CaseIterable {
    case missing, always, never
}

/// How a changed service is replaced (`update:`).
public struct UpdateManifest: Sendable, Equatable {
    public var order: UpdateOrder = .stopFirst
    /// How long the new container has to become healthy; default from its healthcheck timings.
    public var deadline: Duration?

    public init(order: UpdateOrder = .stopFirst, deadline: Duration? = nil) {
        self.order = order
        self.deadline = deadline
    }
}

/// Runtime values for one host or stage.
public struct EnvironmentManifest: Sendable {
    public var name: String
    public var variables: [String: String] = [:]
    public var envFiles: [String] = []
    public var secrets: [String: SecretSource] = [:]
    /// Image version (tag or commit id) per service.
    public var versions: [String: String] = [:]
    public var timezone: String?
    /// The age public keys this environment's secrets are encrypted to; the Stack's when empty.
    public var recipients: [String] = []
    /// Overrides the Stack's target: dev on one Engine, prod on a swarm, from the same files.
    public var target: DeployTarget?
    /// How this environment's services run when its target is a swarm.
    public var swarm: SwarmManifest?
    public var locations: FieldLocations
}

/// An Environment's `swarm:` block: what only a swarm has, kept out of the services so the same
/// Service manifests run on one Engine in dev and on a swarm in prod.
public struct SwarmManifest: Sendable, Equatable {
    /// nil: the Stack's choice, else `files`.
    public var secrets: SwarmSecretDelivery?
    /// Per service: `mode`, `replicas`, `placement`, as under Compose's `deploy:`.
    public var deploy: [String: SwarmDeployManifest] = [:]
    public init() {}
}

public struct SwarmDeployManifest: Sendable, Equatable {
    public var global = false
    /// Overrides the Service's `replicas` in this environment.
    public var replicas: Int?
    public var constraints: [String] = []
    public var preferences: [String] = []
    /// `dnsrr`: the service's name resolves to its tasks' addresses, not to a virtual IP.
    public var dnsRoundRobin = false
    public init() {}
}

/// What a stack's services become: containers on one Docker Engine, or services of a Docker
/// Swarm (the Engine Berth talks to must then be a swarm manager).
public enum DeployTarget: String, Sendable, Codable, CaseIterable {
    case engine
    case swarm
}

/// Where a secret's value comes from. The value itself never sits in a manifest.
public enum SecretSource: Sendable, Equatable {
    case file(String)
    case environment(String)
    /// An age-encrypted file (binary or armored), decrypted in memory at resolution.
    case age(String)
    /// A SOPS-encrypted YAML, JSON or dotenv file: one key's value, or the whole document.
    case sops(String, key: String?)

    /// The encrypted file, for the sources that have one.
    public var sealedPath: String? {
        switch self {
        case .age(let path), .sops(let path, _): path
        case .file, .environment: nil
        }
    }
}

/// One place `berth watch` sends notifications to, and for which events. A URL that holds a
/// token (a Slack webhook) and a signing key come from Berth's environment or a file, not the
/// manifest.
public struct NotificationManifest: Sendable, Equatable {
    public enum Channel: String, Sendable, CaseIterable {
        /// JSON, signed with HMAC-SHA256 when a secret is given.
        case webhook
        /// An ntfy topic URL (ntfy.sh or self-hosted): plain text with a title, priority and tags.
        case ntfy
        /// A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat): `{"text": …}`.
        case slack
    }

    public enum Event: String, Sendable, CaseIterable {
        /// A reconcile failed (after one that did not).
        case failed
        /// A rollout failed its health gate, or a profile switch failed, and was rolled back.
        case rolledBack = "rolled-back"
        /// A service keeps dying and its repairs are backed off.
        case crashLoop = "crash-loop"
        /// Drift (a container removed, stopped, changed by hand) was repaired.
        case driftRepaired = "drift-repaired"

        public static let defaults: [Event] = [.failed, .rolledBack, .crashLoop]
    }

    /// A literal, or where to read it.
    public enum Value: Sendable, Equatable {
        case literal(String)
        case environment(String)
        case file(String)
    }

    public var channel: Channel
    public var url: Value
    /// The webhook's HMAC key.
    public var secret: Value?
    public var events: [Event]
    public var field: String
    public var location: SourceLocation?

    public init(channel: Channel, url: Value, secret: Value? = nil, events: [Event] = Event.defaults, field: String, location: SourceLocation? = nil)
    {
        self.channel = channel
        self.url = url
        self.secret = secret
        self.events = events
        self.field = field
        self.location = location
    }
}

/// "These services need X": the target per profile and the variables it exports to consumers.
public struct ConnectionManifest: Sendable {
    public var name: String
    public var consumers: [String]
    /// Keyed by profile name; `default` applies when no active profile has a target.
    public var targets: [String: ConnectionTargetManifest]
    /// Variables exported into each consumer; `${host}` and `${port}` name the chosen target.
    public var environment: [String: String]
    public var locations: FieldLocations
}

public struct ConnectionTargetManifest: Sendable, Equatable {
    /// A service of this stack (internal target) …
    public var service: String?
    /// … or an outside host (external target). With `service`, the name consumers reach it by
    /// (e.g. its container name) instead of the service name.
    public var host: String?
    /// Exported as `${port}` when given.
    public var port: String?
}

public struct NetworkManifest: Sendable {
    public var name: String
    /// The Engine's name for it; default `<stack>_<name>`.
    public var engineName: String?
    public var driver = "bridge"
    public var `internal` = false
    public var subnet: String?
    public var gateway: String?
    /// Used, never created or removed.
    public var external = false
    public var locations: FieldLocations
}

public struct VolumeManifest: Sendable {
    public var name: String
    public var engineName: String?
    public var driver = "local"
    /// `driver_opts`: options of the volume driver, as `docker volume create -o` takes them.
    public var driverOptions: [String: String] = [:]
    public var external = false
    /// Use a volume of this name that Berth did not make (its data is mounted as it is).
    public var adopt = false
    public var locations: FieldLocations
}

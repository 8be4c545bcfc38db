/// The Swarm shapes Berth sends and reads (`/services`, `/tasks`, the `Swarm` part of `/info`),
/// as the Engine API 1.41 defines them. Only the fields Berth sets or decides on; the Engine fills
/// in its defaults for the rest and Berth never compares those.

/// `GET /info`'s answer, cut to what says whether this Engine can run a swarm stack.
public struct EngineInfo: Decodable, Sendable, Equatable {
    public struct Swarm: Decodable, Sendable, Equatable {
        /// `inactive`, `pending`, `active`, `error`, `locked`.
        public let localNodeState: String
        /// True on a manager: only managers accept service calls.
        public let controlAvailable: Bool
        public let nodeID: String
        enum CodingKeys: String, CodingKey { case localNodeState = "LocalNodeState", controlAvailable = "ControlAvailable", nodeID = "NodeID" }
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            localNodeState = try container.decodeIfPresent(String.self, forKey: .localNodeState) ?? "inactive"
            controlAvailable = try container.decodeIfPresent(Bool.self, forKey: .controlAvailable) ?? false
            nodeID = try container.decodeIfPresent(String.self, forKey: .nodeID) ?? ""
        }
    }
    public let swarm: Swarm?
    enum CodingKeys: String, CodingKey { case swarm = "Swarm" }

    /// Whether services can be created here: an active swarm whose node is a manager.
    public var isSwarmManager: Bool { swarm?.localNodeState == "active" && swarm?.controlAvailable == true }
}

/// A service's spec: `POST /services/create` and `/services/{id}/update` bodies, and `Spec` in
/// their inspect answers.
public struct ServiceSpec: Codable, Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var taskTemplate: TaskTemplate
    public var mode: Mode
    public var updateConfig: UpdateConfig?
    /// How the swarm rolls a failed update back (the update config's `failureAction: rollback`).
    public var rollbackConfig: UpdateConfig?
    public var endpointSpec: EndpointSpec?

    public init(
        name: String, labels: [String: String], taskTemplate: TaskTemplate, mode: Mode, updateConfig: UpdateConfig?,
        rollbackConfig: UpdateConfig? = nil, endpointSpec: EndpointSpec?
    ) {
        self.name = name
        self.labels = labels
        self.taskTemplate = taskTemplate
        self.mode = mode
        self.updateConfig = updateConfig
        self.rollbackConfig = rollbackConfig
        self.endpointSpec = endpointSpec
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name", labels = "Labels", taskTemplate = "TaskTemplate", mode = "Mode", updateConfig = "UpdateConfig"
        case rollbackConfig = "RollbackConfig", endpointSpec = "EndpointSpec"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        taskTemplate = try container.decode(TaskTemplate.self, forKey: .taskTemplate)
        mode = try container.decodeIfPresent(Mode.self, forKey: .mode) ?? Mode(replicas: 1)
        updateConfig = try container.decodeIfPresent(UpdateConfig.self, forKey: .updateConfig)
        rollbackConfig = try container.decodeIfPresent(UpdateConfig.self, forKey: .rollbackConfig)
        endpointSpec = try container.decodeIfPresent(EndpointSpec.self, forKey: .endpointSpec)
    }

    public struct TaskTemplate: Codable, Sendable, Equatable {
        public var containerSpec: ContainerSpec
        public var resources: Resources?
        public var restartPolicy: RestartPolicy?
        public var networks: [NetworkAttachment]?
        public var placement: Placement?
        public init(
            containerSpec: ContainerSpec, resources: Resources?, restartPolicy: RestartPolicy?, networks: [NetworkAttachment]?,
            placement: Placement? = nil
        ) {
            self.containerSpec = containerSpec
            self.resources = resources
            self.restartPolicy = restartPolicy
            self.networks = networks
            self.placement = placement
        }
        enum CodingKeys: String, CodingKey {
            case containerSpec = "ContainerSpec", resources = "Resources", restartPolicy = "RestartPolicy", networks = "Networks"
            case placement = "Placement"
        }
    }

    /// Which nodes may run the tasks, and how they are spread over them.
    public struct Placement: Codable, Sendable, Equatable {
        public struct Preference: Codable, Sendable, Equatable {
            public struct Spread: Codable, Sendable, Equatable {
                public var spreadDescriptor: String
                enum CodingKeys: String, CodingKey { case spreadDescriptor = "SpreadDescriptor" }
            }
            public var spread: Spread?
            public init(spread: String) { self.spread = Spread(spreadDescriptor: spread) }
            enum CodingKeys: String, CodingKey { case spread = "Spread" }
        }
        public var constraints: [String]?
        public var preferences: [Preference]?
        public init(constraints: [String]?, preferences: [Preference]?) {
            self.constraints = constraints
            self.preferences = preferences
        }
        enum CodingKeys: String, CodingKey { case constraints = "Constraints", preferences = "Preferences" }
    }

    /// A secret or config mounted as a file: `SecretID`/`SecretName` or `ConfigID`/`ConfigName`.
    public struct FileReference: Codable, Sendable, Equatable {
        public struct File: Codable, Sendable, Equatable {
            public var name: String
            public var uid: String
            public var gid: String
            public var mode: UInt32
            public init(name: String, uid: String, gid: String, mode: UInt32) {
                self.name = name
                self.uid = uid
                self.gid = gid
                self.mode = mode
            }
            enum CodingKeys: String, CodingKey { case name = "Name", uid = "UID", gid = "GID", mode = "Mode" }
        }
        public var file: File?
        public var id: String
        public var name: String
        /// Secrets and configs spell their keys differently; the rest is the same.
        public var isConfig = false
        public init(file: File?, id: String, name: String, isConfig: Bool) {
            self.file = file
            self.id = id
            self.name = name
            self.isConfig = isConfig
        }
        enum Keys: String, CodingKey {
            case file = "File", secretID = "SecretID", secretName = "SecretName", configID = "ConfigID", configName = "ConfigName"
        }
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            file = try container.decodeIfPresent(File.self, forKey: .file)
            isConfig = container.contains(.configName) || container.contains(.configID)
            id = try container.decodeIfPresent(String.self, forKey: isConfig ? .configID : .secretID) ?? ""
            name = try container.decodeIfPresent(String.self, forKey: isConfig ? .configName : .secretName) ?? ""
        }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encodeIfPresent(file, forKey: .file)
            try container.encode(id, forKey: isConfig ? .configID : .secretID)
            try container.encode(name, forKey: isConfig ? .configName : .secretName)
        }
    }

    /// What each task's container runs. `Command` is the entrypoint, `Args` its arguments.
    public struct ContainerSpec: Codable, Sendable, Equatable {
        public var image: String
        public var labels: [String: String]?
        public var command: [String]?
        public var args: [String]?
        public var hostname: String?
        public var env: [String]?
        public var dir: String?
        public var user: String?
        public var tty: Bool?
        public var readOnly: Bool?
        public var mounts: [Mount]?
        public var stopSignal: String?
        /// Nanoseconds.
        public var stopGracePeriod: Int64?
        public var healthCheck: ContainerCreateRequest.Healthcheck?
        public var initProcess: Bool?
        public var sysctls: [String: String]?
        public var capabilityAdd: [String]?
        public var capabilityDrop: [String]?
        public var secrets: [FileReference]?
        public var configs: [FileReference]?

        public init(image: String) { self.image = image }

        enum CodingKeys: String, CodingKey {
            case image = "Image", labels = "Labels", command = "Command", args = "Args", hostname = "Hostname", env = "Env", dir = "Dir"
            case user = "User", tty = "TTY", readOnly = "ReadOnly", mounts = "Mounts", stopSignal = "StopSignal"
            case stopGracePeriod = "StopGracePeriod", healthCheck = "Healthcheck", initProcess = "Init", sysctls = "Sysctls"
            case capabilityAdd = "CapabilityAdd", capabilityDrop = "CapabilityDrop", secrets = "Secrets", configs = "Configs"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            image = try container.decode(String.self, forKey: .image)
            labels = try container.decodeIfPresent([String: String].self, forKey: .labels)
            command = try container.decodeIfPresent([String].self, forKey: .command)
            args = try container.decodeIfPresent([String].self, forKey: .args)
            hostname = try container.decodeIfPresent(String.self, forKey: .hostname)
            env = try container.decodeIfPresent([String].self, forKey: .env)
            dir = try container.decodeIfPresent(String.self, forKey: .dir)
            user = try container.decodeIfPresent(String.self, forKey: .user)
            tty = try container.decodeIfPresent(Bool.self, forKey: .tty)
            readOnly = try container.decodeIfPresent(Bool.self, forKey: .readOnly)
            mounts = try container.decodeIfPresent([Mount].self, forKey: .mounts)
            stopSignal = try container.decodeIfPresent(String.self, forKey: .stopSignal)
            stopGracePeriod = try container.decodeIfPresent(Int64.self, forKey: .stopGracePeriod)
            healthCheck = try container.decodeIfPresent(ContainerCreateRequest.Healthcheck.self, forKey: .healthCheck)
            initProcess = try container.decodeIfPresent(Bool.self, forKey: .initProcess)
            sysctls = try container.decodeIfPresent([String: String].self, forKey: .sysctls)
            capabilityAdd = try container.decodeIfPresent([String].self, forKey: .capabilityAdd)
            capabilityDrop = try container.decodeIfPresent([String].self, forKey: .capabilityDrop)
            secrets = try container.decodeIfPresent([FileReference].self, forKey: .secrets)
            configs = try container.decodeIfPresent([FileReference].self, forKey: .configs)
        }
    }

    public struct Mount: Codable, Sendable, Equatable {
        /// Labels a node gives the named volume it makes for the first task that mounts it.
        public struct VolumeOptions: Codable, Sendable, Equatable {
            public var labels: [String: String]?
            public init(labels: [String: String]?) { self.labels = labels }
            enum CodingKeys: String, CodingKey { case labels = "Labels" }
        }
        public var type: String
        public var source: String?
        public var target: String
        public var readOnly: Bool?
        public var volumeOptions: VolumeOptions?
        public init(type: String, source: String?, target: String, readOnly: Bool?, volumeOptions: VolumeOptions? = nil) {
            self.type = type
            self.source = source
            self.target = target
            self.readOnly = readOnly
            self.volumeOptions = volumeOptions
        }
        enum CodingKeys: String, CodingKey {
            case type = "Type", source = "Source", target = "Target", readOnly = "ReadOnly", volumeOptions = "VolumeOptions"
        }
    }

    public struct Resources: Codable, Sendable, Equatable {
        public struct Values: Codable, Sendable, Equatable {
            public var nanoCPUs: Int64?
            public var memoryBytes: Int64?
            public init(nanoCPUs: Int64?, memoryBytes: Int64?) {
                self.nanoCPUs = nanoCPUs
                self.memoryBytes = memoryBytes
            }
            enum CodingKeys: String, CodingKey { case nanoCPUs = "NanoCPUs", memoryBytes = "MemoryBytes" }
        }
        public var limits: Values?
        public var reservations: Values?
        public init(limits: Values?, reservations: Values?) {
            self.limits = limits
            self.reservations = reservations
        }
        enum CodingKeys: String, CodingKey { case limits = "Limits", reservations = "Reservations" }
    }

    public struct RestartPolicy: Codable, Sendable, Equatable {
        /// `none`, `on-failure` or `any`.
        public var condition: String
        public var maxAttempts: Int?
        public init(condition: String, maxAttempts: Int?) {
            self.condition = condition
            self.maxAttempts = maxAttempts
        }
        enum CodingKeys: String, CodingKey { case condition = "Condition", maxAttempts = "MaxAttempts" }
    }

    /// A network by id or name (the Engine answers with the id), with the task's aliases on it.
    public struct NetworkAttachment: Codable, Sendable, Equatable {
        public var target: String
        public var aliases: [String]?
        public init(target: String, aliases: [String]?) {
            self.target = target
            self.aliases = aliases
        }
        enum CodingKeys: String, CodingKey { case target = "Target", aliases = "Aliases" }
    }

    public struct Mode: Codable, Sendable, Equatable {
        public struct Replicated: Codable, Sendable, Equatable {
            public var replicas: Int
            enum CodingKeys: String, CodingKey { case replicas = "Replicas" }
        }
        /// Present (and empty) for a global service: one task per eligible node.
        public struct Global: Codable, Sendable, Equatable {}
        public var replicated: Replicated?
        public var global: Global?
        public init(replicas: Int) { replicated = Replicated(replicas: replicas) }
        public init(global: Bool) { self.global = Global() }
        enum CodingKeys: String, CodingKey { case replicated = "Replicated", global = "Global" }
    }

    public struct UpdateConfig: Codable, Sendable, Equatable {
        public var parallelism: Int
        /// `pause`, `continue` or `rollback`.
        public var failureAction: String
        /// Nanoseconds a new task is watched before the update moves on.
        public var monitor: Int64?
        /// `stop-first` or `start-first`.
        public var order: String
        public init(parallelism: Int, failureAction: String, monitor: Int64?, order: String) {
            self.parallelism = parallelism
            self.failureAction = failureAction
            self.monitor = monitor
            self.order = order
        }
        enum CodingKeys: String, CodingKey { case parallelism = "Parallelism", failureAction = "FailureAction", monitor = "Monitor", order = "Order" }
    }

    public struct EndpointSpec: Codable, Sendable, Equatable {
        /// `vip` (one virtual IP, balanced by the node) or `dnsrr` (the tasks' own addresses).
        public var mode: String?
        public var ports: [Port]?
        public init(mode: String? = nil, ports: [Port]?) {
            self.mode = mode
            self.ports = ports
        }
        enum CodingKeys: String, CodingKey { case mode = "Mode", ports = "Ports" }
    }

    public struct Port: Codable, Sendable, Equatable {
        public var `protocol`: String
        public var targetPort: Int
        public var publishedPort: Int?
        /// `ingress` (every node, through the routing mesh) or `host`.
        public var publishMode: String?
        public init(protocol: String, targetPort: Int, publishedPort: Int?, publishMode: String?) {
            self.protocol = `protocol`
            self.targetPort = targetPort
            self.publishedPort = publishedPort
            self.publishMode = publishMode
        }
        enum CodingKeys: String, CodingKey {
            case `protocol` = "Protocol", targetPort = "TargetPort", publishedPort = "PublishedPort", publishMode = "PublishMode"
        }
    }
}

/// One entry of `GET /services`, or `GET /services/{id}`.
public struct SwarmService: Decodable, Sendable, Equatable {
    public struct Version: Codable, Sendable, Equatable {
        public let index: UInt64
        enum CodingKeys: String, CodingKey { case index = "Index" }
    }
    /// A rolling update's state: `updating`, `paused`, `completed`, `rollback_started`,
    /// `rollback_paused`, `rollback_completed`; absent before the first update.
    public struct UpdateStatus: Decodable, Sendable, Equatable {
        public let state: String?
        public let message: String?
        enum CodingKeys: String, CodingKey { case state = "State", message = "Message" }
    }
    public let id: String
    public let version: Version
    public let spec: ServiceSpec
    public let updateStatus: UpdateStatus?
    enum CodingKeys: String, CodingKey { case id = "ID", version = "Version", spec = "Spec", updateStatus = "UpdateStatus" }
}

/// One entry of `GET /tasks`: a slot's container, as the orchestrator sees it.
public struct SwarmTask: Decodable, Sendable, Equatable {
    public struct Status: Decodable, Sendable, Equatable {
        /// `new` … `starting`, `running`, `complete`, `failed`, `shutdown`, `rejected`, `orphaned`, `remove`.
        public let state: String
        public let message: String?
        public let err: String?
        enum CodingKeys: String, CodingKey { case state = "State", message = "Message", err = "Err" }
    }
    public let id: String
    public let serviceID: String
    /// The node the task was given to; absent while it waits for one.
    public let nodeID: String?
    public let desiredState: String
    public let status: Status
    /// The service's task template as it was when the swarm made this task: a task of an earlier
    /// revision still runs while an update has not reached it.
    public let spec: ServiceSpec.TaskTemplate?
    enum CodingKeys: String, CodingKey {
        case id = "ID", serviceID = "ServiceID", nodeID = "NodeID", desiredState = "DesiredState", status = "Status", spec = "Spec"
    }
}

/// One entry of `GET /nodes`: whether the node is up, by the managers' heartbeat.
public struct SwarmNode: Decodable, Sendable, Equatable {
    public struct Description: Decodable, Sendable, Equatable {
        public let hostname: String?
        enum CodingKeys: String, CodingKey { case hostname = "Hostname" }
    }
    public struct Status: Decodable, Sendable, Equatable {
        /// `unknown`, `down`, `ready` or `disconnected`.
        public let state: String
        enum CodingKeys: String, CodingKey { case state = "State" }
    }
    public let id: String
    public let description: Description?
    public let status: Status
    enum CodingKeys: String, CodingKey { case id = "ID", description = "Description", status = "Status" }

    public var name: String { description?.hostname ?? String(id.prefix(12)) }
}

/// `POST /secrets/create` and `/configs/create`: a name, labels and the content, base64.
public struct SwarmObjectSpec: Codable, Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var data: String
    public init(name: String, labels: [String: String], data: String) {
        self.name = name
        self.labels = labels
        self.data = data
    }
    enum CodingKeys: String, CodingKey { case name = "Name", labels = "Labels", data = "Data" }
}

/// One entry of `GET /secrets` or `GET /configs`. A secret's data is never given back.
public struct SwarmObjectSummary: Decodable, Sendable, Equatable {
    public struct Spec: Decodable, Sendable, Equatable {
        public let name: String
        public let labels: [String: String]
        enum CodingKeys: String, CodingKey { case name = "Name", labels = "Labels" }
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        }
    }
    public let id: String
    public let spec: Spec
    enum CodingKeys: String, CodingKey { case id = "ID", spec = "Spec" }
}

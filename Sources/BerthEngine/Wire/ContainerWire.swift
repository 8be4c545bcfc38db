/// Engine API shapes for containers, limited to the fields Berth reads or writes.

/// One row of `GET /containers/json`: enough to observe a stack without inspecting each container.
public struct ContainerSummary: Decodable, Sendable, Equatable {
    public let id: String
    public let names: [String]
    public let image: String
    public let imageID: String
    public let labels: [String: String]
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`.
    public let state: String
    /// Human status, e.g. `Up 3 minutes (healthy)`.
    public let status: String
    public let networks: [String: EndpointSummary]
    /// `HostConfig.NetworkMode`: a network's name, `default`, `host`, `none`, or `container:ID`
    /// (the Engine records the id of a container named at create).
    public let networkMode: String?
    /// Published ports as the Engine bound them (with the host port it picked, if it picked one).
    public let ports: [PortSummary]

    /// The container's name without the leading slash.
    public var name: String { names.first.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 } ?? id }

    /// `healthy`, `unhealthy`, `starting`, or nil when the Engine did not say (no healthcheck).
    /// From API 1.52 the list has it as `Health.Status`; before, Docker's carries it only in the
    /// status text, and Podman's not even there, so the client fills it in from health-filtered
    /// lists (`DockerClient.listContainers`).
    public internal(set) var health: String?

    public struct PortSummary: Decodable, Sendable, Equatable {
        public let ip: String?
        public let privatePort: Int
        public let publicPort: Int?
        public let type: String
        enum CodingKeys: String, CodingKey { case ip = "IP", privatePort = "PrivatePort", publicPort = "PublicPort", type = "Type" }

        /// `127.0.0.1:8080->80/tcp`, or `80/tcp` when not published, as `docker ps` prints it.
        public var description: String {
            guard let publicPort else { return "\(privatePort)/\(type)" }
            let host = ip.map { $0.unicodeScalars.contains(":") ? "[\($0)]" : $0 } ?? "0.0.0.0"
            return "\(host):\(publicPort)->\(privatePort)/\(type)"
        }
    }

    public struct EndpointSummary: Decodable, Sendable, Equatable {
        public let networkID: String
        public let ipAddress: String
        enum CodingKeys: String, CodingKey { case networkID = "NetworkID", ipAddress = "IPAddress" }
    }

    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", image = "Image", imageID = "ImageID", labels = "Labels"
        case state = "State", status = "Status", networkSettings = "NetworkSettings", hostConfig = "HostConfig", ports = "Ports"
        case health = "Health"
    }
    struct HealthSummary: Decodable {
        let status: String?
        enum CodingKeys: String, CodingKey { case status = "Status" }
    }
    enum NetworkSettingsKeys: String, CodingKey { case networks = "Networks" }
    enum HostConfigKeys: String, CodingKey { case networkMode = "NetworkMode" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        names = try c.decodeIfPresent([String].self, forKey: .names) ?? []
        image = try c.decodeIfPresent(String.self, forKey: .image) ?? ""
        imageID = try c.decodeIfPresent(String.self, forKey: .imageID) ?? ""
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        state = try c.decodeIfPresent(String.self, forKey: .state) ?? ""
        status = try c.decodeIfPresent(String.self, forKey: .status) ?? ""
        if let structured = (try? c.decodeIfPresent(HealthSummary.self, forKey: .health))?.status {
            health = ["healthy", "unhealthy", "starting"].contains(structured) ? structured : nil
        } else {
            health = EngineTexts.health(fromStatus: status)
        }
        let settings = try? c.nestedContainer(keyedBy: NetworkSettingsKeys.self, forKey: .networkSettings)
        networks = (try settings?.decodeIfPresent([String: EndpointSummary].self, forKey: .networks)) ?? [:]
        let host = try? c.nestedContainer(keyedBy: HostConfigKeys.self, forKey: .hostConfig)
        networkMode = try? host?.decodeIfPresent(String.self, forKey: .networkMode)
        ports = (try? c.decodeIfPresent([PortSummary].self, forKey: .ports)) ?? []
    }
}

/// `GET /containers/{id}/json`, the parts decisions and tests need.
public struct ContainerDetails: Decodable, Sendable {
    public let id: String
    public let name: String
    public let image: String
    public let state: State
    public let config: Config
    public let hostConfig: HostConfig
    public let networkSettings: NetworkSettings
    public let mounts: [Mount]

    public struct State: Decodable, Sendable {
        public let status: String
        public let running: Bool
        public let exitCode: Int
        public let startedAt: String
        public let finishedAt: String
        public let health: Health?
        public struct Health: Decodable, Sendable {
            public let status: String
            public let failingStreak: Int?
            /// How many checks the Engine keeps a record of (at most the last five); none yet
            /// means no check has run.
            public let checksRun: Int
            /// The newest check's exit code and output (the probe's own words, e.g. `wget: server
            /// returned error: HTTP/1.1 404 Not Found`), trimmed to 500 characters.
            public let lastCheck: Check?
            public struct Check: Decodable, Sendable {
                public let exitCode: Int
                public let output: String
                enum CodingKeys: String, CodingKey { case exitCode = "ExitCode", output = "Output" }
                public init(from decoder: any Decoder) throws {
                    let c = try decoder.container(keyedBy: CodingKeys.self)
                    exitCode = try c.decodeIfPresent(Int.self, forKey: .exitCode) ?? -1
                    output = String((try c.decodeIfPresent(String.self, forKey: .output) ?? "").prefix(500))
                }
            }
            enum CodingKeys: String, CodingKey { case status = "Status", failingStreak = "FailingStreak", log = "Log" }
            public init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                status = try c.decode(String.self, forKey: .status)
                failingStreak = try c.decodeIfPresent(Int.self, forKey: .failingStreak)
                let log = try c.decodeIfPresent([Check].self, forKey: .log) ?? []
                checksRun = log.count
                lastCheck = log.last
            }
        }
        enum CodingKeys: String, CodingKey {
            case status = "Status", running = "Running", exitCode = "ExitCode", startedAt = "StartedAt"
            case finishedAt = "FinishedAt", health = "Health"
        }
    }
    public struct Config: Decodable, Sendable {
        public let image: String
        public let env: [String]?
        public let cmd: [String]?
        public let labels: [String: String]?
        public let hostname: String?
        public let healthcheck: ContainerCreateRequest.Healthcheck?
        /// Made with a TTY: its output is one raw stream, not multiplexed.
        public let tty: Bool?
        /// Seconds between the stop signal and SIGKILL (`stop_grace_period`); nil: the Engine's 10.
        public let stopTimeout: Int?
        enum CodingKeys: String, CodingKey {
            case image = "Image", env = "Env", cmd = "Cmd", labels = "Labels", hostname = "Hostname", healthcheck = "Healthcheck", tty = "Tty"
            case stopTimeout = "StopTimeout"
        }
    }
    public struct HostConfig: Decodable, Sendable {
        public let restartPolicy: RestartPolicy?
        public let portBindings: [String: [PortBinding]]?
        public let initProcess: Bool?
        enum CodingKeys: String, CodingKey {
            case restartPolicy = "RestartPolicy", portBindings = "PortBindings", initProcess = "Init"
        }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            restartPolicy = try c.decodeIfPresent(RestartPolicy.self, forKey: .restartPolicy)
            // A port with no binding is `null` (Go's nil slice), as the spec's own example shows.
            portBindings = try c.decodeIfPresent([String: [PortBinding]?].self, forKey: .portBindings)?.compactMapValues { $0 }
            initProcess = try c.decodeIfPresent(Bool.self, forKey: .initProcess)
        }
    }
    public struct NetworkSettings: Decodable, Sendable {
        public let networks: [String: Endpoint]
        public struct Endpoint: Decodable, Sendable {
            public let networkID: String
            public let aliases: [String]?
            public let ipAddress: String
            enum CodingKeys: String, CodingKey {
                case networkID = "NetworkID", aliases = "Aliases", ipAddress = "IPAddress"
            }
        }
        enum CodingKeys: String, CodingKey { case networks = "Networks" }
    }
    public struct Mount: Decodable, Sendable {
        public let type: String
        public let name: String?
        public let source: String
        public let destination: String
        enum CodingKeys: String, CodingKey {
            case type = "Type", name = "Name", source = "Source", destination = "Destination"
        }
    }
    enum CodingKeys: String, CodingKey {
        case id = "Id", name = "Name", image = "Image", state = "State", config = "Config"
        case hostConfig = "HostConfig", networkSettings = "NetworkSettings", mounts = "Mounts"
    }
}

/// The body of `POST /containers/create`.
public struct ContainerCreateRequest: Encodable, Sendable, Equatable {
    public var image: String
    public var cmd: [String]?
    public var entrypoint: [String]?
    public var env: [String] = []
    public var labels: [String: String] = [:]
    public var hostname: String?
    public var user: String?
    public var workingDir: String?
    public var exposedPorts: [String: EmptyObject]?
    public var healthcheck: Healthcheck?
    public var stopTimeout: Int?
    public var stopSignal: String?
    public var tty: Bool?
    public var openStdin: Bool?
    public var hostConfig = HostConfig()
    public var networkingConfig: NetworkingConfig?

    public init(image: String) { self.image = image }

    public struct EmptyObject: Codable, Sendable, Equatable { public init() {} }

    public struct Healthcheck: Codable, Sendable, Equatable {
        public var test: [String]
        /// Durations in nanoseconds, as the Engine expects.
        public var interval: Int64?
        public var timeout: Int64?
        public var startPeriod: Int64?
        public var retries: Int?
        public init(test: [String], interval: Int64?, timeout: Int64?, startPeriod: Int64?, retries: Int?) {
            self.test = test
            self.interval = interval
            self.timeout = timeout
            self.startPeriod = startPeriod
            self.retries = retries
        }
        enum CodingKeys: String, CodingKey {
            case test = "Test", interval = "Interval", timeout = "Timeout", startPeriod = "StartPeriod"
            case retries = "Retries"
        }
    }

    public struct HostConfig: Encodable, Sendable, Equatable {
        public var restartPolicy: RestartPolicy?
        public var portBindings: [String: [PortBinding]]?
        public var mounts: [MountRequest]?
        public var networkMode: String?
        public var initProcess: Bool?
        public var extraHosts: [String]?
        /// The Engine removes the container when it exits (`docker run --rm`).
        public var autoRemove: Bool?
        /// `source:target[:ro]` binds: unlike `mounts`, the Engine creates a missing source directory.
        public var binds: [String]?
        public var capAdd: [String]?
        public var capDrop: [String]?
        public var sysctls: [String: String]?
        public var ipcMode: String?
        /// Bytes.
        public var memory: Int64?
        public var memoryReservation: Int64?
        public var nanoCpus: Int64?
        public var pidsLimit: Int64?
        /// `NAME[:ro|:rw]`: containers whose volumes are mounted too.
        public var volumesFrom: [String]?
        /// `CONTAINER:ALIAS`, for the default bridge (a user-defined network takes them per endpoint).
        public var links: [String]?
        public var runtime: String?
        public var privileged: Bool?
        public var readonlyRootfs: Bool?
        public var dns: [String]?
        public var dnsSearch: [String]?
        public var dnsOptions: [String]?
        public var securityOpt: [String]?
        public var shmSize: Int64?
        public var ulimits: [UlimitRequest]?
        public var pidMode: String?
        public var groupAdd: [String]?
        public var devices: [DeviceRequest]?
        public var oomScoreAdj: Int?
        public var cpuShares: Int64?
        public var memorySwap: Int64?
        public var usernsMode: String?
        public var logConfig: LogConfigRequest?
        public init() {}
        enum CodingKeys: String, CodingKey {
            case restartPolicy = "RestartPolicy", portBindings = "PortBindings", mounts = "Mounts"
            case networkMode = "NetworkMode", initProcess = "Init", extraHosts = "ExtraHosts", autoRemove = "AutoRemove"
            case binds = "Binds", capAdd = "CapAdd", capDrop = "CapDrop", sysctls = "Sysctls", ipcMode = "IpcMode"
            case memory = "Memory", memoryReservation = "MemoryReservation", nanoCpus = "NanoCpus", pidsLimit = "PidsLimit"
            case volumesFrom = "VolumesFrom", links = "Links", runtime = "Runtime", privileged = "Privileged", readonlyRootfs = "ReadonlyRootfs"
            case dns = "Dns", dnsSearch = "DnsSearch", dnsOptions = "DnsOptions", securityOpt = "SecurityOpt", shmSize = "ShmSize"
            case ulimits = "Ulimits", pidMode = "PidMode", groupAdd = "GroupAdd", devices = "Devices", oomScoreAdj = "OomScoreAdj"
            case cpuShares = "CpuShares", memorySwap = "MemorySwap", usernsMode = "UsernsMode", logConfig = "LogConfig"
        }
    }

    public struct UlimitRequest: Encodable, Sendable, Equatable {
        public var name: String
        public var soft: Int64
        public var hard: Int64
        public init(name: String, soft: Int64, hard: Int64) {
            self.name = name
            self.soft = soft
            self.hard = hard
        }
        enum CodingKeys: String, CodingKey { case name = "Name", soft = "Soft", hard = "Hard" }
    }

    public struct DeviceRequest: Encodable, Sendable, Equatable {
        public var pathOnHost: String
        public var pathInContainer: String
        public var cgroupPermissions: String
        public init(pathOnHost: String, pathInContainer: String, cgroupPermissions: String) {
            self.pathOnHost = pathOnHost
            self.pathInContainer = pathInContainer
            self.cgroupPermissions = cgroupPermissions
        }
        enum CodingKeys: String, CodingKey {
            case pathOnHost = "PathOnHost", pathInContainer = "PathInContainer", cgroupPermissions = "CgroupPermissions"
        }
    }

    public struct LogConfigRequest: Encodable, Sendable, Equatable {
        public var type: String
        public var config: [String: String]
        public init(type: String, config: [String: String]) {
            self.type = type
            self.config = config
        }
        enum CodingKeys: String, CodingKey { case type = "Type", config = "Config" }
    }

    public struct MountRequest: Encodable, Sendable, Equatable {
        /// `volume`, `bind` or `tmpfs`.
        public var type: String
        public var source: String?
        public var target: String
        public var readOnly: Bool
        public init(type: String, source: String?, target: String, readOnly: Bool) {
            self.type = type
            self.source = source
            self.target = target
            self.readOnly = readOnly
        }
        enum CodingKeys: String, CodingKey {
            case type = "Type", source = "Source", target = "Target", readOnly = "ReadOnly"
        }
    }

    public struct NetworkingConfig: Encodable, Sendable, Equatable {
        public var endpointsConfig: [String: EndpointRequest]
        public init(endpointsConfig: [String: EndpointRequest]) { self.endpointsConfig = endpointsConfig }
        enum CodingKeys: String, CodingKey { case endpointsConfig = "EndpointsConfig" }
    }

    enum CodingKeys: String, CodingKey {
        case image = "Image", cmd = "Cmd", entrypoint = "Entrypoint", env = "Env", labels = "Labels"
        case hostname = "Hostname", user = "User", workingDir = "WorkingDir", exposedPorts = "ExposedPorts"
        case healthcheck = "Healthcheck", stopTimeout = "StopTimeout", hostConfig = "HostConfig"
        case stopSignal = "StopSignal", tty = "Tty", openStdin = "OpenStdin"
        case networkingConfig = "NetworkingConfig"
    }
}

public struct RestartPolicy: Codable, Sendable, Equatable {
    /// `no`, `always`, `unless-stopped`, `on-failure`.
    public var name: String
    public var maximumRetryCount: Int?
    public init(name: String, maximumRetryCount: Int? = nil) {
        self.name = name
        self.maximumRetryCount = maximumRetryCount
    }
    enum CodingKeys: String, CodingKey { case name = "Name", maximumRetryCount = "MaximumRetryCount" }
}

public struct PortBinding: Codable, Sendable, Equatable {
    public var hostIp: String
    public var hostPort: String
    public init(hostIp: String, hostPort: String) {
        self.hostIp = hostIp
        self.hostPort = hostPort
    }
    enum CodingKeys: String, CodingKey { case hostIp = "HostIp", hostPort = "HostPort" }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hostIp = try c.decodeIfPresent(String.self, forKey: .hostIp) ?? ""
        hostPort = try c.decodeIfPresent(String.self, forKey: .hostPort) ?? ""
    }
}

/// One network attachment: aliases and an optional pinned address.
public struct EndpointRequest: Encodable, Sendable, Equatable {
    public var aliases: [String]?
    public var ipv4Address: String?
    /// `CONTAINER:ALIAS` links on this network (a user-defined network keeps them per endpoint).
    public var links: [String]?
    public init(aliases: [String]?, ipv4Address: String? = nil, links: [String]? = nil) {
        self.aliases = aliases
        self.ipv4Address = ipv4Address
        self.links = links
    }
    enum CodingKeys: String, CodingKey { case aliases = "Aliases", ipamConfig = "IPAMConfig", links = "Links" }
    enum IPAMKeys: String, CodingKey { case ipv4Address = "IPv4Address" }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(aliases, forKey: .aliases)
        try c.encodeIfPresent(links, forKey: .links)
        if let ipv4Address {
            var ipam = c.nestedContainer(keyedBy: IPAMKeys.self, forKey: .ipamConfig)
            try ipam.encode(ipv4Address, forKey: .ipv4Address)
        }
    }
}

struct CreatedResponse: Decodable {
    let id: String
    enum CodingKeys: String, CodingKey { case id = "Id" }
}

/// The exit status `POST /containers/{id}/wait` returns.
public struct WaitResponse: Decodable, Sendable {
    public let statusCode: Int
    enum CodingKeys: String, CodingKey { case statusCode = "StatusCode" }
}

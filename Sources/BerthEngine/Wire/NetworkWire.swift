/// Engine API shapes for networks and volumes.

public struct NetworkDetails: Decodable, Sendable, Equatable {
    public let id: String
    public let name: String
    public let driver: String
    public let `internal`: Bool
    public let labels: [String: String]
    /// RFC 3339 creation time; with the id, it orders networks that share a name.
    public let created: String
    public let ipam: IPAM
    /// Attached containers by id (present on inspect, empty on list).
    public let containers: [String: AttachedContainer]

    public struct IPAM: Codable, Sendable, Equatable {
        public var driver: String?
        public var config: [IPAMConfig]?
        public init(driver: String? = "default", config: [IPAMConfig]?) {
            self.driver = driver
            self.config = config
        }
        enum CodingKeys: String, CodingKey { case driver = "Driver", config = "Config" }
    }
    public struct AttachedContainer: Decodable, Sendable, Equatable {
        public let name: String
        enum CodingKeys: String, CodingKey { case name = "Name" }
    }

    enum CodingKeys: String, CodingKey {
        case id = "Id", name = "Name", driver = "Driver", `internal` = "Internal", labels = "Labels"
        case ipam = "IPAM", containers = "Containers", created = "Created"
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        driver = try c.decodeIfPresent(String.self, forKey: .driver) ?? ""
        `internal` = try c.decodeIfPresent(Bool.self, forKey: .internal) ?? false
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        created = try c.decodeIfPresent(String.self, forKey: .created) ?? ""
        ipam = try c.decodeIfPresent(IPAM.self, forKey: .ipam) ?? IPAM(driver: nil, config: nil)
        containers = try c.decodeIfPresent([String: AttachedContainer].self, forKey: .containers) ?? [:]
    }
}

public struct IPAMConfig: Codable, Sendable, Equatable {
    public var subnet: String?
    public var gateway: String?
    public init(subnet: String?, gateway: String?) {
        self.subnet = subnet
        self.gateway = gateway
    }
    enum CodingKeys: String, CodingKey { case subnet = "Subnet", gateway = "Gateway" }
}

/// The body of `POST /networks/create`.
public struct NetworkCreateRequest: Encodable, Sendable, Equatable {
    public var name: String
    public var driver: String
    public var `internal`: Bool
    public var labels: [String: String]
    public var ipam: NetworkDetails.IPAM?
    /// Asks the Engine to refuse a name in use. From API 1.44 it always does, and the field is
    /// deprecated: `forAPI` sends it only to older versions.
    public var checkDuplicate: Bool? = true
    /// An overlay network standalone containers may join too (nil: the Engine's default, no).
    public var attachable: Bool?
    public init(name: String, driver: String, internal: Bool, labels: [String: String], ipam: NetworkDetails.IPAM?) {
        self.name = name
        self.driver = driver
        self.internal = `internal`
        self.labels = labels
        self.ipam = ipam
    }
    /// The body as API `version` defines it.
    public func forAPI(_ version: APIVersion) -> NetworkCreateRequest {
        var request = self
        request.checkDuplicate = version < APIVersion(1, 44) ? true : nil
        return request
    }
    enum CodingKeys: String, CodingKey {
        case name = "Name", driver = "Driver", `internal` = "Internal", labels = "Labels", ipam = "IPAM"
        case checkDuplicate = "CheckDuplicate", attachable = "Attachable"
    }
}

public struct VolumeDetails: Decodable, Sendable, Equatable {
    public let name: String
    public let driver: String
    public let labels: [String: String]
    public let mountpoint: String
    enum CodingKeys: String, CodingKey {
        case name = "Name", driver = "Driver", labels = "Labels", mountpoint = "Mountpoint"
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        driver = try c.decodeIfPresent(String.self, forKey: .driver) ?? "local"
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        mountpoint = try c.decodeIfPresent(String.self, forKey: .mountpoint) ?? ""
    }
}

struct VolumeList: Decodable {
    let volumes: [VolumeDetails]?
    enum CodingKeys: String, CodingKey { case volumes = "Volumes" }
}

struct VolumeCreateRequest: Encodable {
    let name: String
    let driver: String
    let driverOpts: [String: String]?
    let labels: [String: String]
    enum CodingKeys: String, CodingKey { case name = "Name", driver = "Driver", driverOpts = "DriverOpts", labels = "Labels" }
}

struct NetworkConnectRequest: Encodable {
    let container: String
    let endpointConfig: EndpointRequest?
    enum CodingKeys: String, CodingKey { case container = "Container", endpointConfig = "EndpointConfig" }
}

struct NetworkDisconnectRequest: Encodable {
    let container: String
    let force: Bool
    enum CodingKeys: String, CodingKey { case container = "Container", force = "Force" }
}

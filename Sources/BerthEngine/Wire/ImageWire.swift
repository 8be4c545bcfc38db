/// Engine API shapes for images, exec and the event stream.

public struct ImageDetails: Decodable, Sendable, Equatable {
    public let id: String
    public let repoTags: [String]
    public let repoDigests: [String]
    public let labels: [String: String]
    enum CodingKeys: String, CodingKey { case id = "Id", repoTags = "RepoTags", repoDigests = "RepoDigests", config = "Config" }
    enum ConfigKeys: String, CodingKey { case labels = "Labels" }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        repoTags = try c.decodeIfPresent([String].self, forKey: .repoTags) ?? []
        repoDigests = try c.decodeIfPresent([String].self, forKey: .repoDigests) ?? []
        let config = try? c.nestedContainer(keyedBy: ConfigKeys.self, forKey: .config)
        labels = (try? config?.decodeIfPresent([String: String].self, forKey: .labels)) ?? [:]
    }
}

/// `GET /distribution/{name}/json`: what the registry serves for a reference.
struct DistributionInspect: Decodable {
    struct Descriptor: Decodable {
        let digest: String
    }
    let descriptor: Descriptor
    enum CodingKeys: String, CodingKey { case descriptor = "Descriptor" }
}

/// One message of a pull, import or build stream.
public struct ProgressMessage: Decodable, Sendable {
    public let id: String?
    public let status: String?
    /// Build output line.
    public let stream: String?
    /// Why the stream failed: `errorDetail.message`, else the `error` that API 1.48 deprecates.
    public let error: String?
    public let progressDetail: Detail?
    public let aux: Aux?

    public struct Detail: Decodable, Sendable {
        public let current: Int64?
        public let total: Int64?
    }
    struct ErrorDetail: Decodable {
        let message: String?
    }
    enum CodingKeys: String, CodingKey { case id, status, stream, error, errorDetail, progressDetail, aux }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(String.self, forKey: .id)
        status = try c.decodeIfPresent(String.self, forKey: .status)
        stream = try c.decodeIfPresent(String.self, forKey: .stream)
        let detail = (try? c.decodeIfPresent(ErrorDetail.self, forKey: .errorDetail))?.message.flatMap { $0.isEmpty ? nil : $0 }
        let legacy = (try? c.decodeIfPresent(String.self, forKey: .error)) ?? nil
        error = detail ?? legacy.flatMap { $0.isEmpty ? nil : $0 }
        progressDetail = try? c.decodeIfPresent(Detail.self, forKey: .progressDetail)
        aux = try? c.decodeIfPresent(Aux.self, forKey: .aux)
    }
    public struct Aux: Decodable, Sendable {
        public let id: String?
        enum CodingKeys: String, CodingKey { case id = "ID" }
    }
}

/// One message of `GET /events`.
public struct EngineEvent: Decodable, Sendable, Equatable {
    /// `container`, `network`, `volume`, `image`, …
    public let type: String
    /// `create`, `start`, `die`, `destroy`, `rename`, `connect`, `disconnect`, `health_status: healthy`, …
    public let action: String
    public let actor: Actor
    public let timeNano: Int64
    /// Podman's health events carry the status here (Docker's put it in the action).
    public let healthStatus: String?

    public init(type: String, action: String, actor: Actor, timeNano: Int64 = 0, healthStatus: String? = nil) {
        self.type = type
        self.action = action
        self.actor = actor
        self.timeNano = timeNano
        self.healthStatus = healthStatus
    }

    public struct Actor: Decodable, Sendable, Equatable {
        public let id: String
        public let attributes: [String: String]
        public init(id: String, attributes: [String: String]) {
            self.id = id
            self.attributes = attributes
        }
        enum CodingKeys: String, CodingKey { case id = "ID", attributes = "Attributes" }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
            attributes = try c.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:]
        }
    }
    enum CodingKeys: String, CodingKey {
        case type = "Type", action = "Action", actor = "Actor", timeNano, healthStatus = "HealthStatus"
    }
}

struct ExecCreateRequest: Encodable {
    let cmd: [String]
    var attachStdin = false
    let attachStdout = true
    let attachStderr = true
    var tty = false
    var user: String?
    var workingDir: String?
    var env: [String]?
    enum CodingKeys: String, CodingKey {
        case cmd = "Cmd", attachStdin = "AttachStdin", attachStdout = "AttachStdout", attachStderr = "AttachStderr", tty = "Tty"
        case user = "User", workingDir = "WorkingDir", env = "Env"
    }
}

struct ExecStartRequest: Encodable {
    let detach = false
    var tty = false
    enum CodingKeys: String, CodingKey { case detach = "Detach", tty = "Tty" }
}

public struct ExecDetails: Decodable, Sendable {
    public let running: Bool
    public let exitCode: Int?
    enum CodingKeys: String, CodingKey { case running = "Running", exitCode = "ExitCode" }
}

/// The outcome of a one-shot command run inside a container.
public struct ExecResult: Sendable, Equatable {
    public let exitCode: Int
    public let stdout: String
    public let stderr: String

    public init(exitCode: Int, stdout: String, stderr: String) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
    }
}

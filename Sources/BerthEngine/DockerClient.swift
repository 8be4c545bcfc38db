import AsyncHTTPClient
import Foundation
public import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// A typed client for the Docker Engine API.
///
/// One instance holds one HTTP connection pool and the API version negotiated with the Engine
/// at `connect`. Every call is counted (reads vs writes) so callers can prove, for example, that a
/// converged host costs no write calls. Call `shutdown()` when done.
public final class DockerClient: Sendable {
    /// The lowest Engine API version Berth speaks (Docker 20.10).
    public static let minimumAPIVersion = APIVersion(1, 41)
    /// The highest Engine API version whose shapes Berth knows.
    public static let maximumAPIVersion = APIVersion(1, 55)

    public let endpoint: EngineEndpoint
    /// The version used in every request path (`/v1.41/...`).
    public let apiVersion: APIVersion
    /// The Engine's own version string, e.g. `20.10.24` (or Podman's, e.g. `4.3.1`).
    public let engineVersion: String
    /// Docker or Podman, from the `/_ping` answer.
    public let product: EngineProduct

    let http: HTTPClient
    let baseURL: String
    let logger: Logger
    let policy: EngineCallPolicy
    /// A pthread lock, not `Synchronization.Mutex`: the thread sanitizer sees pthread locks, while
    /// the Mutex's futexes on Linux are invisible to it and every counted call was reported as a race.
    let counters = NIOLockedValueBox(EngineCallCounts())
    let crashAfterWrites = ProcessInfo.processInfo.environment["BERTH_CRASH_AFTER_WRITES"].flatMap(Int.init)

    /// Opens a client and negotiates the API version: the highest both sides speak.
    /// - Throws: `EngineError` when the Engine is unreachable or older than API 1.41.
    public static func connect(
        to endpoint: EngineEndpoint? = nil,
        policy: EngineCallPolicy = .standard,
        logger: Logger = Logger(label: "berth.engine")
    ) async throws -> DockerClient {
        let endpoint = try endpoint ?? EngineEndpoint.fromEnvironment()
        var config = HTTPClient.Configuration()
        config.timeout.connect = .seconds(5)
        config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 16
        let baseURL: String
        switch endpoint {
        case .unixSocket(let path):
            let host = path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? path
            baseURL = "http+unix://\(host)"
        case .tcp(let host, let port, nil):
            baseURL = "http://\(host):\(port)"
        case .tcp(let host, let port, let tls?):
            baseURL = "https://\(host):\(port)"
            config.tlsConfiguration = try tls.clientConfiguration()
        }
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        do {
            let version: EngineVersion = try await Self.fetchVersion(http: http, baseURL: baseURL, timeout: policy.readTimeout)
            let negotiated = try Self.negotiate(server: version)
            logger.debug("engine \(version.product) \(version.version), api \(negotiated)")
            return DockerClient(
                endpoint: endpoint, apiVersion: negotiated, engineVersion: version.version, product: version.product,
                http: http, baseURL: baseURL, policy: policy, logger: logger)
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private init(
        endpoint: EngineEndpoint, apiVersion: APIVersion, engineVersion: String, product: EngineProduct,
        http: HTTPClient, baseURL: String, policy: EngineCallPolicy, logger: Logger
    ) {
        self.endpoint = endpoint
        self.apiVersion = apiVersion
        self.engineVersion = engineVersion
        self.product = product
        self.http = http
        self.baseURL = baseURL
        self.policy = policy
        self.logger = logger
    }

    /// Closes the connection pool. Required before the client is released.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// How many calls this client has made so far.
    public var callCounts: EngineCallCounts { counters.withLockedValue { $0 } }

    /// Picks `min(server, maximum)`; refuses servers below `minimumAPIVersion`.
    public static func negotiate(server: EngineVersion) throws -> APIVersion {
        guard let serverMax = APIVersion(server.apiVersion) else {
            throw EngineError.unsupportedVersion("engine reported an unreadable API version '\(server.apiVersion)'")
        }
        guard serverMax >= minimumAPIVersion else {
            throw EngineError.unsupportedVersion(
                "\(server.product) \(server.version) speaks API \(serverMax); Berth needs \(minimumAPIVersion) or newer")
        }
        if let serverMin = server.minAPIVersion.flatMap(APIVersion.init), serverMin > maximumAPIVersion {
            throw EngineError.unsupportedVersion(
                "\(server.product) \(server.version) needs API \(serverMin) or newer; Berth speaks up to \(maximumAPIVersion)")
        }
        return min(serverMax, maximumAPIVersion)
    }

    /// The Engine's version from `/_ping` (its `Api-Version` and `Server` headers), falling back to
    /// `/version`: the ping answers in under a millisecond, `/version` takes ~10 ms on Docker 20.10
    /// (it asks containerd), which every short CLI run would pay.
    /// A read like any other: it gets the policy's read deadline (a busy Engine answers late).
    private static func fetchVersion(http: HTTPClient, baseURL: String, timeout: TimeAmount) async throws -> EngineVersion {
        let ping = try await get(http: http, baseURL + "/_ping", timeout: timeout)
        if let api = ping.headers.first(name: "Api-Version"), let server = ping.headers.first(name: "Server"),
            let slash = server.firstIndex(of: "/")
        {
            let version = server[server.index(after: slash)...].split(separator: " ").first.map(String.init) ?? server
            return EngineVersion(version: version, apiVersion: api, minAPIVersion: nil, product: EngineProduct(server: server))
        }
        let response = try await get(http: http, baseURL + "/version", timeout: timeout)
        return try JSONDecoder().decode(EngineVersion.self, from: response.body)
    }

    private static func get(http: HTTPClient, _ url: String, timeout: TimeAmount) async throws -> (headers: HTTPHeaders, body: ByteBuffer) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Host", value: hostHeader)
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch let error as HTTPClientError {
            throw EngineError.transport("cannot reach the Docker Engine: \(describe(error))")
        } catch let error as NIOSSLError {
            throw EngineError.transport("cannot reach the Docker Engine: TLS handshake failed (\(error))")
        } catch {
            throw EngineError.transport("cannot reach the Docker Engine: \(error)")
        }
        let stream = response.body
        let body = try await Deadline.within(timeout, "GET \(url)") { try await stream.collect(upTo: 1 << 20) }
        guard response.status.code == 200 else {
            throw EngineError.http(Int(response.status.code), String(buffer: body))
        }
        return (response.headers, body)
    }
}

/// A `major.minor` Engine API version.
public struct APIVersion: Sendable, Comparable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public init(_ major: Int, _ minor: Int) {
        self.major = major
        self.minor = minor
    }
    public init?(_ text: String) {
        let parts = text.split(separator: ".")
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        self.init(major, minor)
    }
    public static func < (a: APIVersion, b: APIVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
    public var description: String { "\(major).\(minor)" }
}

/// Counts of Engine calls, split by whether they can change the host.
public struct EngineCallCounts: Sendable, Equatable, Codable {
    enum CodingKeys: String, CodingKey { case reads, writes, retries }
    public var reads = 0
    public var writes = 0
    /// Repeated tries of failed calls (already counted in `reads`/`writes`).
    public var retries = 0
    var successfulWrites = 0
    public init(reads: Int = 0, writes: Int = 0) {
        self.reads = reads
        self.writes = writes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        reads = try container.decode(Int.self, forKey: .reads)
        writes = try container.decode(Int.self, forKey: .writes)
        retries = try container.decodeIfPresent(Int.self, forKey: .retries) ?? 0
    }

    /// The calls made since `earlier`.
    public func since(_ earlier: EngineCallCounts) -> EngineCallCounts {
        var difference = EngineCallCounts(reads: reads - earlier.reads, writes: writes - earlier.writes)
        difference.retries = retries - earlier.retries
        return difference
    }
}

/// What `GET /version` says about the Engine: its release and the API versions it speaks.
public struct EngineVersion: Decodable, Sendable {
    public let version: String
    public let apiVersion: String
    public let minAPIVersion: String?
    public let product: EngineProduct

    public init(version: String, apiVersion: String, minAPIVersion: String?, product: EngineProduct = .docker) {
        self.version = version
        self.apiVersion = apiVersion
        self.minAPIVersion = minAPIVersion
        self.product = product
    }

    enum CodingKeys: String, CodingKey {
        case version = "Version", apiVersion = "ApiVersion", minAPIVersion = "MinAPIVersion", components = "Components"
    }
    struct Component: Decodable {
        let name: String
        enum CodingKeys: String, CodingKey { case name = "Name" }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(String.self, forKey: .version)
        apiVersion = try c.decode(String.self, forKey: .apiVersion)
        minAPIVersion = try c.decodeIfPresent(String.self, forKey: .minAPIVersion)
        let first = (try? c.decodeIfPresent([Component].self, forKey: .components))?.first
        product = first.map { EngineProduct(server: $0.name) } ?? .docker
    }
}

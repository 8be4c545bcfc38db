public import Foundation

/// Where the Docker Engine listens, parsed from `DOCKER_HOST` the way the docker CLI reads it.
///
/// `unix://PATH` (the default socket), plain `tcp://HOST:PORT`, and `tcp://` with client
/// certificates when `DOCKER_TLS_VERIFY` is set (`ca.pem`, `cert.pem`, `key.pem` from
/// `DOCKER_CERT_PATH`, default `~/.docker`), as the docker CLI reads them.
public enum EngineEndpoint: Sendable, Equatable, CustomStringConvertible {
    case unixSocket(path: String)
    case tcp(host: String, port: Int, tls: TLSFiles?)

    /// Client certificate material for `tcp://` with `DOCKER_TLS_VERIFY`.
    public struct TLSFiles: Sendable, Equatable {
        public var caCertificate: String
        public var certificate: String
        public var privateKey: String

        public init(caCertificate: String, certificate: String, privateKey: String) {
            self.caCertificate = caCertificate
            self.certificate = certificate
            self.privateKey = privateKey
        }
    }

    public static let defaultSocketPath = "/var/run/docker.sock"

    /// Reads `DOCKER_HOST` (default: the local unix socket).
    /// - Throws: `EngineError.invalidEndpoint` for a scheme Berth does not understand.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> EngineEndpoint
    {
        guard let value = environment["DOCKER_HOST"], !value.isEmpty else {
            return .unixSocket(path: defaultSocketPath)
        }
        return try parse(value, environment: environment)
    }

    static func parse(_ value: String, environment: [String: String]) throws -> EngineEndpoint {
        if value.hasPrefix("unix://") {
            let path = String(value.dropFirst("unix://".count))
            return .unixSocket(path: path.isEmpty ? defaultSocketPath : path)
        }
        if value.hasPrefix("tcp://") {
            let rest = value.dropFirst("tcp://".count).split(separator: "/").first.map(String.init) ?? ""
            let parts = rest.split(separator: ":")
            guard let host = parts.first, parts.count <= 2 else { throw EngineError.invalidEndpoint(value) }
            let port = parts.count == 2 ? Int(parts[1]) : nil
            let verify = !(environment["DOCKER_TLS_VERIFY"] ?? "").isEmpty
            var tls: TLSFiles?
            if verify {
                let dir = environment["DOCKER_CERT_PATH"] ?? (NSHomeDirectory() + "/.docker")
                tls = TLSFiles(caCertificate: dir + "/ca.pem", certificate: dir + "/cert.pem", privateKey: dir + "/key.pem")
            }
            return .tcp(host: String(host), port: port ?? (verify ? 2376 : 2375), tls: tls)
        }
        throw EngineError.invalidEndpoint(value)
    }

    /// Never includes TLS material; safe to log.
    public var description: String {
        switch self {
        case .unixSocket(let path): "unix://\(path)"
        case .tcp(let host, let port, let tls): "tcp://\(host):\(port)\(tls == nil ? "" : " (tls)")"
        }
    }
}

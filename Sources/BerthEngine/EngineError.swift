/// An error from the Docker Engine or from talking to it.
///
/// Callers branch on the status through the `static` cases (`.notFound`, `.conflict`, …) rather
/// than on message text; `message` is the Engine's own words, for people.
public struct EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Code: Sendable, Equatable {
        case http(status: Int)
        case unsupportedVersion
        case invalidEndpoint
        case transport
        case decoding
        case stream
    }

    let code: Code
    /// The Engine's message (from its `{"message": …}` body) or a description of the failure.
    public let message: String

    /// The HTTP status the Engine answered with, when the failure is an Engine answer.
    public var status: Int? {
        if case .http(let status) = code { return status }
        return nil
    }

    /// A status to match against: `if error.is(.notFound)`.
    public struct Kind: Sendable, Equatable {
        let status: Int
        public static let notFound = Kind(status: 404)
        public static let conflict = Kind(status: 409)
        public static let notModified = Kind(status: 304)
        public static let badRequest = Kind(status: 400)
        public static let serverError = Kind(status: 500)
    }

    /// Whether the Engine answered with this status.
    public func `is`(_ kind: Kind) -> Bool { status == kind.status }

    static func http(_ status: Int, _ message: String) -> EngineError {
        EngineError(code: .http(status: status), message: message)
    }
    static func unsupportedVersion(_ message: String) -> EngineError {
        EngineError(code: .unsupportedVersion, message: message)
    }
    static func invalidEndpoint(_ value: String) -> EngineError {
        EngineError(code: .invalidEndpoint, message: "DOCKER_HOST '\(value)' is not unix://PATH or tcp://HOST:PORT")
    }
    static func transport(_ message: String) -> EngineError { EngineError(code: .transport, message: message) }
    static func decoding(_ message: String) -> EngineError { EngineError(code: .decoding, message: message) }
    static func stream(_ message: String) -> EngineError { EngineError(code: .stream, message: message) }

    /// Bounded text without the message, safe as a metric label.
    public var shortDescription: String {
        switch code {
        case .http(let status): "http_\(status)"
        case .unsupportedVersion: "unsupported_version"
        case .invalidEndpoint: "invalid_endpoint"
        case .transport: "transport"
        case .decoding: "decoding"
        case .stream: "stream"
        }
    }

    public var description: String {
        switch code {
        case .http(let status): "engine answered \(status): \(message)"
        default: message
        }
    }
}

/// What the preflight found for one switch: whether the new target answered from where its
/// consumers will run.
public struct PreflightCheck: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Result: Sendable, Equatable, Codable {
        case answered
        case failed(String)
        /// The probe could not run (no image with `nc` on the host); the health gates decide.
        case unchecked(String)
    }

    public var connection: String
    public var profile: String
    public var target: String
    public var network: String?
    public var result: Result

    public init(connection: String, profile: String, target: String, network: String?, result: Result) {
        self.connection = connection
        self.profile = profile
        self.target = target
        self.network = network
        self.result = result
    }

    public var failed: Bool { if case .failed = result { true } else { false } }

    public var description: String {
        let place = "connection \(connection) (\(profile)): \(target)"
        let from = network.map { " from network \($0)" } ?? ""
        switch result {
        case .answered: return "\(place) answered\(from)"
        case .failed(let reason): return "\(place) did not answer\(from): \(reason); nothing was changed"
        case .unchecked(let reason): return "\(place) not checked: \(reason)"
        }
    }
}

/// When the Engine restarts a container that stopped. Read and written as Compose spells it
/// (`no`, `always`, `unless-stopped`, `on-failure[:N]`), so stored specs and spec hashes are the
/// same as when this was a string.
public enum Restart: Sendable, Equatable, Codable, CustomStringConvertible {
    case no, always, unlessStopped
    case onFailure(maxRetries: Int?)

    /// Nil for anything else (`unknown restart policy`).
    public init?(_ text: String) {
        switch text {
        case "no": self = .no
        case "always": self = .always
        case "unless-stopped": self = .unlessStopped
        case "on-failure": self = .onFailure(maxRetries: nil)
        default:
            guard text.hasPrefix("on-failure:"), let count = Int(text.dropFirst("on-failure:".count)), count >= 0 else { return nil }
            self = .onFailure(maxRetries: count)
        }
    }

    public var description: String {
        switch self {
        case .no: "no"
        case .always: "always"
        case .unlessStopped: "unless-stopped"
        case .onFailure(nil): "on-failure"
        case .onFailure(let count?): "on-failure:\(count)"
        }
    }

    /// The Engine's policy name (`RestartPolicy.Name`).
    public var name: String { description.split(separator: ":").first.map(String.init) ?? "no" }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let restart = Restart(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown restart policy '\(text)'"))
        }
        self = restart
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

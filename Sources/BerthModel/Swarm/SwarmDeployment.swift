import Foundation

/// How a stack's services run on a swarm, resolved from the Environment's `swarm:` block and
/// the services' `replicas`. Only a swarm reads it; a single Engine's desired state has none.
public struct SwarmDeployment: Sendable, Codable, Equatable {
    public var secrets: SwarmSecretDelivery
    /// Every active service, by name.
    public var services: [String: SwarmServiceDeploy]

    public init(secrets: SwarmSecretDelivery = .files, services: [String: SwarmServiceDeploy] = [:]) {
        self.secrets = secrets
        self.services = services
    }
}

/// Where the secret values of a service's environment go on a swarm. A swarm has no secret
/// environment variables: a value in the service spec is readable by anyone who can run
/// `docker service inspect`.
public enum SwarmSecretDelivery: String, Sendable, Codable, CaseIterable {
    /// Each secret variable `X` becomes a Swarm secret mounted at `/run/secrets/X`, and the
    /// service gets `X_FILE=/run/secrets/X` instead (the convention of the postgres, mariadb,
    /// mysql, … images).
    case files
    /// Left in the service's environment, as on a single Engine.
    case environment
}

/// One service's scheduling on a swarm.
public struct SwarmServiceDeploy: Sendable, Codable, Equatable {
    public enum Mode: Sendable, Codable, Equatable {
        case replicated(Int)
        /// One task on every node that satisfies the constraints.
        case global
    }
    public var mode: Mode
    /// Swarm placement constraints, as `docker service create --constraint` takes them
    /// (`node.role == worker`, `node.labels.zone != b`).
    public var constraints: [String]
    /// Spread descriptors (`node.labels.zone`), in order of precedence.
    public var preferences: [String]
    /// Compose's `endpoint_mode: dnsrr`: the name resolves to the tasks' own addresses instead of
    /// a virtual IP (which needs the node's iptables, and cannot front a client that balances
    /// itself). Published ports then need the host mode, which Berth does not map.
    public var dnsRoundRobin = false

    public init(mode: Mode = .replicated(1), constraints: [String] = [], preferences: [String] = [], dnsRoundRobin: Bool = false) {
        self.mode = mode
        self.constraints = constraints
        self.preferences = preferences
        self.dnsRoundRobin = dnsRoundRobin
    }

    /// Whether `text` is a constraint the swarm accepts: `KEY==VALUE` or `KEY!=VALUE`, the key
    /// made of letters, digits, `.`, `-` and `_`. Checked when the manifests are read, not when
    /// the swarm refuses the service halfway through a rollout.
    public static func isValidConstraint(_ text: String) -> Bool {
        for op in ["==", "!="] {
            let parts = text.components(separatedBy: op)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            let keyCharacters = key.unicodeScalars.allSatisfy {
                $0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_".unicodeScalars.contains($0)
            }
            return !key.isEmpty && !value.isEmpty && keyCharacters
        }
        return false
    }
}

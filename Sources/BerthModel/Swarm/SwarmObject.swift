/// A Swarm secret or config: file content the swarm keeps and mounts into every task.
///
/// Both are immutable on a swarm, so a new content is a new object: the name ends in a digest of
/// the content (`shop-DB_PASSWORD-3f9a0c12d4e6`), a changed value is a rolling update of the
/// services onto the new name, and the old one is removed once no service uses it.
public struct SwarmObject: Sendable, Codable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        case secret, config
    }
    public var kind: Kind
    /// The object's versioned name on the swarm.
    public var name: String
    /// nil once redacted, and on an observed reference (the swarm never gives a secret back).
    public var content: String?
    public var labels: [String: String]

    public init(kind: Kind, name: String, content: String?, labels: [String: String] = [:]) {
        self.kind = kind
        self.name = name
        self.content = content
        self.labels = labels
    }

    /// `shop-DB_PASSWORD-<12 hex>`: at most 64 characters of `[A-Za-z0-9_.-]`, as the swarm
    /// allows. The digest is salted with the stack and the logical name, so equal values of two
    /// stacks do not share a fingerprint.
    public static func versionedName(stack: String, logical: String, content: String) -> String {
        let digest = String(Digest.sha256Hex("berth-swarm-object\u{0}\(stack)\u{0}\(logical)\u{0}\(content)").prefix(12))
        let allowed = logical.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "_.-".unicodeScalars.contains(scalar))
                ? Character(scalar) : "_"
        }
        let room = max(1, 64 - stack.count - digest.count - 2)
        let name = "\(stack)-\(String(allowed.prefix(room)))-\(digest)"
        return String(name.suffix(64))
    }

    public var description: String { "\(kind) \(name)" }
}

/// A service's use of a secret or config: which object, mounted where, owned by whom.
public struct SwarmFileReference: Sendable, Codable, Equatable, CustomStringConvertible {
    public var object: SwarmObject
    /// The file's path in the task's container.
    public var target: String
    public var uid: Int
    public var gid: Int
    public var mode: Int

    public init(object: SwarmObject, target: String, uid: Int = 0, gid: Int = 0, mode: Int = 0o444) {
        self.object = object
        self.target = target
        self.uid = uid
        self.gid = gid
        self.mode = mode
    }

    /// What comparing two references looks at: the content is in the versioned name.
    public var description: String { "\(object.name) at \(target) mode \(String(mode, radix: 8)) owner \(uid):\(gid)" }
}

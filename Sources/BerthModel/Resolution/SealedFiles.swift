public import BerthSecrets

/// Encrypted secret files (age, SOPS) read at the edge, and the identities that open them.
/// Resolution decrypts in memory: the plaintext exists only in the desired state it builds,
/// which is redacted before anything prints, logs or stores it.
public struct SealedFiles: Sendable {
    /// File contents by absolute path.
    public var contents: [String: [UInt8]]
    public var identities: [AgeIdentity]
    /// Why no identity could be read (a missing or malformed identity file), said with each secret.
    public var identityProblem: String?

    public init(contents: [String: [UInt8]] = [:], identities: [AgeIdentity] = [], identityProblem: String? = nil) {
        self.contents = contents
        self.identities = identities
        self.identityProblem = identityProblem
    }

    /// What to read from an encrypted file.
    enum Reading {
        /// An age file's content.
        case age
        /// A SOPS document's value at a key, or the whole document when nil.
        case sops(key: String?)
        /// The content, whether the file is age or a whole SOPS document (a Compose secret file).
        case whole
    }

    /// The plaintext of `path`.
    /// - Returns: nil when the file was not read (missing), else the plaintext or why it failed.
    func open(_ path: String, _ reading: Reading) -> Result<String, SecretError>? {
        guard let bytes = contents[path] else { return nil }
        if let identityProblem, identities.isEmpty { return .failure(.unsupported(identityProblem)) }
        do throws(SecretError) {
            switch reading {
            case .sops(let key):
                return .success(try Self.sops(bytes, path: path, key: key, identities))
            case .whole where !Age.isAge(bytes):
                return .success(try Self.sops(bytes, path: path, key: nil, identities))
            case .age, .whole:
                guard Age.isAge(bytes) else {
                    throw .malformed(SOPS.isSOPS(bytes) ? "it is a SOPS document; name it with 'sops:'" : "it is not an age file")
                }
                guard let text = String(validating: try Age.decrypt(bytes, identities: identities), as: UTF8.self) else {
                    throw .unsupported("its plaintext is not UTF-8 text")
                }
                return .success(text)
            }
        } catch {
            return .failure(error)
        }
    }

    private static func sops(_ bytes: [UInt8], path: String, key: String?, _ identities: [AgeIdentity]) throws(SecretError) -> String {
        let document = try SOPS.decrypt(bytes, path: path, identities: identities)
        guard let key else { return try document.rendered() }
        return try document.value(key)
    }

    /// Whether `bytes` are encrypted in a format Berth opens (for Compose, whose `file:`
    /// secrets are plain files unless they are encrypted).
    public static func isSealed(_ bytes: [UInt8]) -> Bool { Age.isAge(bytes) || SOPS.isSOPS(bytes) }
}

/// A Compose secret whose `file:` is encrypted: decrypted at resolution and written into the
/// container like an `environment:` secret, never bind-mounted.
public struct SealedFileUse: Sendable {
    public var target: String
    /// Absolute path of the encrypted file.
    public var path: String
    public var field: String
    public var location: SourceLocation?
    public var mode = 0o444
    public var uid = 0
    public var gid = 0

    public init(target: String, path: String, field: String, location: SourceLocation?) {
        self.target = target
        self.path = path
        self.field = field
        self.location = location
    }
}

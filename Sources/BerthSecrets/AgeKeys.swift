import Crypto
import Foundation

/// An age X25519 identity: the secret key that decrypts (`AGE-SECRET-KEY-1…`, as `age-keygen`
/// writes it). Its text never appears in an error or a description.
public struct AgeIdentity: Sendable, CustomStringConvertible {
    /// The raw 32 bytes (swift-crypto's key types are not `Sendable`).
    private let raw: [UInt8]

    var key: Curve25519.KeyAgreement.PrivateKey { try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw) }

    /// A new random identity.
    public init() { raw = Array(Curve25519.KeyAgreement.PrivateKey().rawRepresentation) }

    /// - Returns: nil when `text` is not an X25519 age secret key.
    public init?(_ text: String) {
        guard let (prefix, data) = Bech32.decode(text), prefix == "age-secret-key-", data.count == 32,
            (try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: data)) != nil
        else { return nil }
        raw = data
    }

    public var recipient: AgeRecipient { AgeRecipient(key: key.publicKey) }

    /// The secret key's text, for writing a new identity file. Never logged.
    public var secretKeyText: String { Bech32.encode(prefix: "age-secret-key-", data: raw).uppercased() }

    public var description: String { "age identity for \(recipient)" }

    /// Parses an identity file as `age-keygen` writes it: one key per line, `#` comments.
    /// - Throws: `SecretError.malformed` naming the line (never its content) that is not an
    ///   X25519 secret key, or `.unsupported` for plugin and SSH keys.
    public static func parseFile(_ text: String) throws(SecretError) -> [AgeIdentity] {
        var identities: [AgeIdentity] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("AGE-PLUGIN-") {
                throw .unsupported("line \(index + 1) is an age plugin identity; Berth reads X25519 identities (from age-keygen)")
            }
            if line.hasPrefix("-----BEGIN") || line.hasPrefix("ssh-") {
                throw .unsupported("line \(index + 1) is an SSH key; Berth reads X25519 identities (from age-keygen)")
            }
            if line.hasPrefix("age-encryption.org/") {
                throw .unsupported("the identity file is itself encrypted; decrypt it first or give a plain one")
            }
            guard let identity = AgeIdentity(line) else {
                throw .malformed("line \(index + 1) is not an age secret key (AGE-SECRET-KEY-1…)")
            }
            identities.append(identity)
        }
        guard !identities.isEmpty else { throw .malformed("it holds no age secret key") }
        return identities
    }
}

/// An age X25519 recipient: the public key files are encrypted to (`age1…`).
public struct AgeRecipient: Sendable, Hashable, CustomStringConvertible {
    private let raw: [UInt8]

    var key: Curve25519.KeyAgreement.PublicKey { try! Curve25519.KeyAgreement.PublicKey(rawRepresentation: raw) }

    init(key: Curve25519.KeyAgreement.PublicKey) { raw = Array(key.rawRepresentation) }

    /// - Returns: nil when `text` is not an X25519 age recipient.
    public init?(_ text: String) {
        guard let (prefix, data) = Bech32.decode(text), prefix == "age", data.count == 32,
            (try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: data)) != nil
        else { return nil }
        raw = data
    }

    public var description: String { Bech32.encode(prefix: "age", data: raw) }
}

/// Why an encrypted secret could not be read. Never holds plaintext or key material: the
/// descriptions name the format problem, and callers add which file and which secret.
public enum SecretError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not in the format it claims (a broken header, bad base64, an unknown version).
    case malformed(String)
    /// Authentication failed: the file was changed after it was encrypted.
    case tampered(String)
    /// None of the given identities is a recipient of the file.
    case noMatchingIdentity(recipients: [String])
    /// The file needs an identity and none was given.
    case noIdentity
    /// A valid file Berth cannot use (a passphrase-encrypted age file, SOPS key groups, …).
    case unsupported(String)
    /// A SOPS document without the key a secret asks for.
    case missingKey(String)

    public var description: String {
        switch self {
        case .malformed(let why): "not a valid encrypted file: \(why)"
        case .tampered(let why): "failed authentication, the file was changed after it was encrypted or is damaged (\(why))"
        case .noMatchingIdentity(let recipients):
            recipients.isEmpty
                ? "none of the given identities can decrypt it (it is encrypted to other recipients, or its header is damaged)"
                : "none of the given identities can decrypt it; it is encrypted to \(recipients.joined(separator: ", "))"
        case .noIdentity: "it is encrypted and no age identity is given: pass --age-identity FILE or set BERTH_AGE_IDENTITY"
        case .unsupported(let why): why
        case .missingKey(let key): "has no key '\(key)'"
        }
    }
}

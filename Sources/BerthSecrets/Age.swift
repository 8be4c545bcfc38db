import Crypto
import Foundation

/// The age file format v1 (age-encryption.org/v1), X25519 recipients only, in process: a
/// header of recipient stanzas that each wrap the file key, a MAC over the header, then the
/// payload in 64 KiB ChaCha20-Poly1305 chunks. Both the binary form and the ASCII armor
/// (`-----BEGIN AGE ENCRYPTED FILE-----`) are read; files are written armored, so they diff
/// and paste cleanly.
///
/// In process rather than through the `age` command: the plaintext then never crosses a pipe
/// or a file, and hosts need no extra package. swift-crypto has every primitive the format uses.
public enum Age {
    static let version = "age-encryption.org/v1"
    static let armorBegin = "-----BEGIN AGE ENCRYPTED FILE-----"
    static let armorEnd = "-----END AGE ENCRYPTED FILE-----"
    static let chunkSize = 64 * 1024
    static let x25519Label = "age-encryption.org/v1/X25519"
    /// A header is a few hundred bytes per recipient; anything far larger is not one.
    static let maximumHeaderBytes = 1 << 20

    /// Whether `bytes` look like an age file, binary or armored.
    public static func isAge(_ bytes: [UInt8]) -> Bool {
        let start = String(decoding: bytes.prefix(64), as: UTF8.self).drop { $0.isWhitespace }
        return start.hasPrefix(version + "\n") || start.hasPrefix(armorBegin)
    }

    /// - Throws: `SecretError` when the file is malformed, tampered with, or for other recipients.
    public static func decrypt(_ file: [UInt8], identities: [AgeIdentity]) throws(SecretError) -> [UInt8] {
        let bytes = try dearmored(file)
        let header = try Header(parsing: bytes)
        if header.stanzas.contains(where: { $0.type == "scrypt" }) {
            throw .unsupported("it is encrypted with a passphrase; Berth decrypts files encrypted to age recipients (age -r)")
        }
        guard !identities.isEmpty else { throw .noIdentity }
        var fileKey: [UInt8]?
        for stanza in header.stanzas where stanza.type == "X25519" {
            for identity in identities {
                if let key = try unwrap(stanza, identity) {
                    fileKey = key
                    break
                }
            }
            if fileKey != nil { break }
        }
        guard let fileKey else {
            let types = Set(header.stanzas.map(\.type)).subtracting(["X25519"]).sorted()
            if !types.isEmpty && !header.stanzas.contains(where: { $0.type == "X25519" }) {
                throw .unsupported("it is encrypted to \(types.joined(separator: ", ")) recipients; Berth decrypts X25519 (age1…) ones")
            }
            throw .noMatchingIdentity(recipients: [])
        }
        guard Array(HMAC<SHA256>.authenticationCode(for: header.macInput, using: macKey(fileKey))) == header.mac else {
            throw .tampered("header MAC mismatch")
        }
        return try decryptPayload(Array(bytes[header.payloadStart...]), fileKey: fileKey)
    }

    /// Encrypts `plaintext` to `recipients`, armored.
    public static func encrypt(_ plaintext: [UInt8], to recipients: [AgeRecipient]) -> String {
        let fileKey = randomBytes(16)
        var header = version + "\n"
        for recipient in recipients {
            let ephemeral = Curve25519.KeyAgreement.PrivateKey()
            let share = Array(ephemeral.publicKey.rawRepresentation)
            let wrapKey = stanzaKey(
                shared: try! ephemeral.sharedSecretFromKeyAgreement(with: recipient.key), share: share,
                recipient: Array(recipient.key.rawRepresentation))
            let sealed = try! ChaChaPoly.seal(fileKey, using: wrapKey, nonce: ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)))
            header += "-> X25519 \(RawBase64.encode(share))\n" + wrapped(RawBase64.encode(Array(sealed.ciphertext + sealed.tag))) + "\n"
        }
        header += "---"
        let mac = HMAC<SHA256>.authenticationCode(for: Array(header.utf8), using: macKey(fileKey))
        var file = Array((header + " " + RawBase64.encode(Array(mac)) + "\n").utf8)
        let nonce = randomBytes(16)
        file += nonce
        let key = payloadKey(fileKey, nonce: nonce)
        var offset = 0
        var counter: UInt64 = 0
        repeat {
            let end = min(offset + chunkSize, plaintext.count)
            let last = end == plaintext.count
            let box = try! ChaChaPoly.seal(plaintext[offset..<end], using: key, nonce: chunkNonce(counter, last: last))
            file += Array(box.ciphertext) + Array(box.tag)
            offset = end
            counter += 1
        } while offset < plaintext.count
        return armor(file)
    }

    // MARK: - Header

    struct Stanza {
        var type: String
        var arguments: [String]
        var body: [UInt8]
    }

    struct Header {
        var stanzas: [Stanza] = []
        /// The header up to and including `---`, which the MAC covers.
        var macInput: [UInt8] = []
        var mac: [UInt8] = []
        var payloadStart = 0

        init(parsing bytes: [UInt8]) throws(SecretError) {
            var position = 0
            func line() throws(SecretError) -> String {
                guard let end = bytes[position...].prefix(Age.maximumHeaderBytes).firstIndex(of: 0x0A) else {
                    throw .malformed("the header does not end")
                }
                let text = String(decoding: bytes[position..<end], as: UTF8.self)
                position = end + 1
                return text
            }
            guard try line() == Age.version else { throw .malformed("it does not start with '\(Age.version)'") }
            while true {
                let start = position
                let text = try line()
                if text.hasPrefix("--- ") || text == "---" {
                    macInput = Array(bytes[..<(start + 3)])
                    guard let mac = RawBase64.decode(text.dropFirst(4)), mac.count == 32 else { throw .malformed("the header MAC is not valid") }
                    self.mac = mac
                    payloadStart = position
                    return
                }
                guard text.hasPrefix("-> ") else { throw .malformed("a header line is neither a recipient stanza nor the MAC") }
                let words = text.dropFirst(3).split(separator: " ", omittingEmptySubsequences: false).map(String.init)
                guard let type = words.first, !type.isEmpty, !words.contains(where: \.isEmpty) else {
                    throw .malformed("a recipient stanza has an empty argument")
                }
                var body: [UInt8] = []
                while true {
                    let bodyLine = try line()
                    guard bodyLine.count <= 64, let decoded = RawBase64.decode(bodyLine) else {
                        throw .malformed("a recipient stanza's body is not base64 wrapped at 64 columns")
                    }
                    body += decoded
                    if bodyLine.count < 64 { break }
                }
                stanzas.append(Stanza(type: type, arguments: Array(words.dropFirst()), body: body))
                guard stanzas.count <= 4096 else { throw .malformed("too many recipient stanzas") }
            }
        }
    }

    /// The file key from an X25519 stanza, or nil when it is not for `identity`.
    static func unwrap(_ stanza: Stanza, _ identity: AgeIdentity) throws(SecretError) -> [UInt8]? {
        guard stanza.arguments.count == 1, let share = RawBase64.decode(stanza.arguments[0]), share.count == 32, stanza.body.count == 32 else {
            throw .malformed("an X25519 recipient stanza is not valid")
        }
        guard let publicShare = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: share),
            let shared = try? identity.key.sharedSecretFromKeyAgreement(with: publicShare)
        else { return nil }
        let isZero = shared.withUnsafeBytes { $0.allSatisfy { $0 == 0 } }
        if isZero { return nil }
        let key = stanzaKey(shared: shared, share: share, recipient: Array(identity.key.publicKey.rawRepresentation))
        guard
            let box = try? ChaChaPoly.SealedBox(
                nonce: ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)), ciphertext: stanza.body.prefix(16), tag: stanza.body.suffix(16)),
            let fileKey = try? ChaChaPoly.open(box, using: key)
        else { return nil }
        return Array(fileKey)
    }

    // MARK: - Keys and payload

    static func stanzaKey(shared: SharedSecret, share: [UInt8], recipient: [UInt8]) -> SymmetricKey {
        shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: share + recipient, sharedInfo: Array(x25519Label.utf8), outputByteCount: 32)
    }

    static func macKey(_ fileKey: [UInt8]) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: fileKey), salt: [UInt8](), info: Array("header".utf8), outputByteCount: 32)
    }

    static func payloadKey(_ fileKey: [UInt8], nonce: [UInt8]) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: fileKey), salt: nonce, info: Array("payload".utf8), outputByteCount: 32)
    }

    /// STREAM's nonce: an 11-byte big-endian chunk counter and a last-chunk flag.
    static func chunkNonce(_ counter: UInt64, last: Bool) -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for index in 0..<8 { bytes[10 - index] = UInt8((counter >> (8 * UInt64(index))) & 0xff) }
        bytes[11] = last ? 1 : 0
        return try! ChaChaPoly.Nonce(data: bytes)
    }

    static func decryptPayload(_ payload: [UInt8], fileKey: [UInt8]) throws(SecretError) -> [UInt8] {
        guard payload.count >= 16 + 16 else { throw .tampered("the payload is truncated") }
        let key = payloadKey(fileKey, nonce: Array(payload.prefix(16)))
        var plaintext: [UInt8] = []
        var offset = 16
        var counter: UInt64 = 0
        let sealedChunk = chunkSize + 16
        while offset < payload.count {
            let end = min(offset + sealedChunk, payload.count)
            let last = end == payload.count
            let chunk = payload[offset..<end]
            guard chunk.count >= 16,
                let box = try? ChaChaPoly.SealedBox(nonce: chunkNonce(counter, last: last), ciphertext: chunk.dropLast(16), tag: chunk.suffix(16)),
                let opened = try? ChaChaPoly.open(box, using: key)
            else { throw .tampered("payload chunk \(counter) does not authenticate") }
            if last && opened.isEmpty && counter > 0 { throw .malformed("an empty last chunk after others") }
            plaintext += opened
            offset = end
            counter += 1
        }
        return plaintext
    }

    // MARK: - Armor

    static func armor(_ bytes: [UInt8]) -> String {
        let text = Data(bytes).base64EncodedString()
        var lines: [Substring] = []
        var index = text.startIndex
        while index < text.endIndex {
            let end = text.index(index, offsetBy: 64, limitedBy: text.endIndex) ?? text.endIndex
            lines.append(text[index..<end])
            index = end
        }
        return ([armorBegin] + lines.map(String.init) + [armorEnd]).joined(separator: "\n") + "\n"
    }

    static func dearmored(_ bytes: [UInt8]) throws(SecretError) -> [UInt8] {
        let text = String(decoding: bytes.prefix(256), as: UTF8.self).drop { $0.isWhitespace }
        guard text.hasPrefix(armorBegin) else { return bytes }
        let lines = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        guard lines.first == armorBegin, lines.last == armorEnd, lines.count >= 3 else { throw .malformed("the armor does not end") }
        guard let data = Data(base64Encoded: lines.dropFirst().dropLast().joined()) else { throw .malformed("the armor is not base64") }
        return [UInt8](data)
    }

    static func wrapped(_ text: String) -> String {
        var lines: [String] = []
        var rest = Substring(text)
        while rest.count >= 64 {
            lines.append(String(rest.prefix(64)))
            rest = rest.dropFirst(64)
        }
        lines.append(String(rest))
        return lines.joined(separator: "\n")
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}

import Crypto
public import Foundation

/// SOPS files (github.com/getsops/sops) whose data key is encrypted to age recipients, read and
/// written in process. Each value is AES-256-GCM under the document's data key with a 32-byte
/// IV and the value's path (`a:b:`) as additional data; a SHA-512 over the values in file order,
/// itself encrypted under `lastmodified`, is the document's MAC. YAML, JSON and dotenv.
public enum SOPS {
    /// Whether `bytes` look like a SOPS-encrypted document (an encrypted value and SOPS's metadata).
    public static func isSOPS(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.contains("ENC[AES256_GCM,") && (text.contains("sops:") || text.contains("\"sops\"") || text.contains("sops_mac="))
    }

    /// A decrypted document: looked up by key, or written out whole in its own format.
    public struct Document: Sendable {
        let tree: SOPSTree
        let format: SOPSFormat

        /// The value at `key`: a top-level key, else a dotted path (`database.password`).
        /// - Throws: `.missingKey`, or `.unsupported` when the key holds a mapping or a list.
        public func value(_ key: String) throws(SecretError) -> String {
            var node = tree[key]
            if node == nil {
                node = tree
                for part in key.split(separator: ".") {
                    switch node {
                    case .mapping?: node = node?[String(part)]
                    case .sequence(let items)?: node = Int(part).flatMap { items.indices.contains($0) ? items[$0] : nil }
                    default: node = nil
                    }
                }
            }
            switch node {
            case .leaf(let leaf)?: return leaf.text
            case .null?: return ""
            case nil: throw .missingKey(key)
            default: throw .unsupported("its key '\(key)' holds a mapping or a list, not a value")
            }
        }

        /// The keys at the top level, for messages.
        public var keys: [String] {
            guard case .mapping(let items) = tree else { return [] }
            return items.map(\.key)
        }

        /// The whole document, decrypted, in its format.
        public func rendered() throws(SecretError) -> String { try format.render(tree) }
    }

    /// - Parameter path: the file's name, whose extension picks the format as it does for SOPS.
    /// - Throws: `SecretError` for a malformed document, a wrong key or a MAC mismatch.
    public static func decrypt(_ bytes: [UInt8], path: String, identities: [AgeIdentity]) throws(SecretError) -> Document {
        let text = String(decoding: bytes, as: UTF8.self)
        let format = SOPSFormat.of(path: path, text: text)
        let (data, metadata) = try Metadata.split(try format.parse(text), format: format)
        let dataKey = try metadata.dataKey(identities)
        let hash = MACHash(onlyEncrypted: metadata.macOnlyEncrypted)
        let plain = try data.mapLeaves { leaf, path throws(SecretError) in
            let encrypted = metadata.shouldEncrypt(path)
            var value = leaf
            if encrypted {
                guard leaf.type == "str" else { throw .malformed("the value at '\(path.joined(separator: "."))' is not encrypted") }
                value = try Value.decrypt(leaf.text, key: dataKey, additionalData: path.joined(separator: ":") + ":", at: path)
            }
            if encrypted || !metadata.macOnlyEncrypted { hash.update(value.macBytes) }
            return value
        }
        let stored = try Value.decrypt(metadata.mac, key: dataKey, additionalData: metadata.lastModifiedForMAC, at: ["sops", "mac"])
        guard stored.text == hash.hex else { throw .tampered("MAC mismatch") }
        return Document(tree: plain, format: format)
    }

    /// Encrypts a plaintext document (YAML, JSON or dotenv by `path`'s extension) to `recipients`,
    /// as `sops --encrypt --age …` does: every value, except keys ending in `_unencrypted`.
    public static func encrypt(_ plaintext: String, path: String, to recipients: [AgeRecipient], now: Date = Date()) throws(SecretError) -> String {
        // A file SOPS has no format for is kept whole, as `data`.
        let format = SOPSFormat.byExtension(path) ?? .binary
        let tree = format == .binary ? .mapping([("data", .leaf(.string(plaintext)))]) : try format.parse(plaintext)
        if tree["sops"] != nil || tree.keys.contains(where: { $0.hasPrefix("sops_") && format == .dotenv }) {
            throw .unsupported("it is already a SOPS document")
        }
        guard case .mapping = tree else { throw .unsupported("a SOPS document is a mapping at the top level") }
        let dataKey = SymmetricKey(size: .bits256)
        let suffix = "_unencrypted"
        let hash = MACHash(onlyEncrypted: false)
        let encrypted = try tree.mapLeaves { leaf, path throws(SecretError) in
            hash.update(leaf.macBytes)
            guard !path.contains(where: { $0.hasSuffix(suffix) }) else { return leaf }
            return .string(Value.encrypt(leaf, key: dataKey, additionalData: path.joined(separator: ":") + ":"))
        }
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        let lastModified = formatter.string(from: now)
        let mac = Value.encrypt(.string(hash.hex), key: dataKey, additionalData: lastModified)
        let wrappedKey = dataKey.withUnsafeBytes { Array($0) }
        let ageEntries: [SOPSTree] = recipients.map { recipient in
            .mapping([("recipient", .leaf(.string("\(recipient)"))), ("enc", .leaf(.string(Age.encrypt(wrappedKey, to: [recipient]))))])
        }
        let metadata: [(key: String, value: SOPSTree)] = [
            ("age", .sequence(ageEntries)), ("lastmodified", .leaf(.string(lastModified))), ("mac", .leaf(.string(mac))),
            ("unencrypted_suffix", .leaf(.string(suffix))), ("version", .leaf(.string("3.9.0"))),
        ]
        guard case .mapping(let items) = encrypted else { throw .unsupported("a SOPS document is a mapping at the top level") }
        if format == .dotenv {
            var flat = items
            for (key, value) in metadata {
                if case .sequence(let entries) = value {
                    for (index, entry) in entries.enumerated() {
                        guard case .mapping(let fields) = entry else { continue }
                        for field in fields { flat.append(("sops_\(key)__list_\(index)__map_\(field.key)", field.value)) }
                    }
                } else {
                    flat.append(("sops_\(key)", value))
                }
            }
            return try format.render(.mapping(flat))
        }
        // The encrypted form of a binary file is a JSON document.
        return try (format == .binary ? .json : format).render(.mapping(items + [("sops", .mapping(metadata))]))
    }

    /// The recipients a SOPS document's data key is encrypted to.
    public static func recipients(_ bytes: [UInt8], path: String) throws(SecretError) -> [AgeRecipient] {
        let text = String(decoding: bytes, as: UTF8.self)
        let format = SOPSFormat.of(path: path, text: text)
        return try Metadata.split(try format.parse(text), format: format).1.ageKeys.compactMap { AgeRecipient($0.recipient) }
    }
}

/// SHA-512 over values in walk order, as hex in capitals (Go's `%X`).
private final class MACHash {
    private var hash = SHA512()

    init(onlyEncrypted: Bool) {
        // SOPS starts a MAC over encrypted values only with these bytes, so the two kinds never match.
        if onlyEncrypted {
            hash.update(data: [
                0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b, 0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f,
                0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
            ])
        }
    }

    func update(_ bytes: [UInt8]) { hash.update(data: bytes) }

    var hex: String { hash.finalize().map { String(format: "%02X", $0) }.joined() }
}

/// One `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value.
private enum Value {
    static func decrypt(_ text: String, key: SymmetricKey, additionalData: String, at path: [String]) throws(SecretError) -> SOPSLeaf {
        if text.isEmpty { return .string("") }
        let place = path.joined(separator: ".")
        guard text.hasPrefix("ENC[AES256_GCM,"), text.hasSuffix("]") else { throw .malformed("the value at '\(place)' is not a SOPS value") }
        var fields: [String: String] = [:]
        for part in text.dropFirst("ENC[AES256_GCM,".count).dropLast().split(separator: ",") {
            guard let colon = part.firstIndex(of: ":") else { continue }
            fields[String(part[..<colon])] = String(part[part.index(after: colon)...])
        }
        guard let data = fields["data"].flatMap({ Data(base64Encoded: $0) }), let iv = fields["iv"].flatMap({ Data(base64Encoded: $0) }),
            let tag = fields["tag"].flatMap({ Data(base64Encoded: $0) }), let type = fields["type"], !iv.isEmpty, tag.count == 16
        else { throw .malformed("the value at '\(place)' is not a SOPS value") }
        guard let nonce = try? AES.GCM.Nonce(data: iv), let box = try? AES.GCM.SealedBox(nonce: nonce, ciphertext: data, tag: tag),
            let plain = try? AES.GCM.open(box, using: key, authenticating: Array(additionalData.utf8))
        else { throw .tampered("the value at '\(place)' does not authenticate") }
        return SOPSLeaf(text: String(decoding: plain, as: UTF8.self), type: type)
    }

    static func encrypt(_ leaf: SOPSLeaf, key: SymmetricKey, additionalData: String) -> String {
        if leaf.text.isEmpty && leaf.type == "str" { return "" }
        let iv = Age.randomBytes(32)
        let box = try! AES.GCM.seal(leaf.macBytes, using: key, nonce: AES.GCM.Nonce(data: iv), authenticating: Array(additionalData.utf8))
        return "ENC[AES256_GCM,data:\(box.ciphertext.base64EncodedString()),iv:\(Data(iv).base64EncodedString()),"
            + "tag:\(box.tag.base64EncodedString()),type:\(leaf.type)]"
    }
}

/// What SOPS keeps beside the data: the wrapped data keys, the MAC, and which values it encrypted.
private struct Metadata {
    var ageKeys: [(recipient: String, enc: String)] = []
    var otherKeyTypes: [String] = []
    var lastModified = ""
    var mac = ""
    var unencryptedSuffix = ""
    var encryptedSuffix = ""
    var unencryptedRegex: NSRegularExpression?
    var encryptedRegex: NSRegularExpression?
    var macOnlyEncrypted = false

    /// Splits a parsed document into its data and its `sops` metadata (a `sops` key, or
    /// `sops_…` keys flattened with `__list_N` / `__map_K` in dotenv).
    static func split(_ tree: SOPSTree, format: SOPSFormat) throws(SecretError) -> (SOPSTree, Metadata) {
        guard case .mapping(let items) = tree else { throw .malformed("it has no SOPS metadata (not a SOPS file)") }
        var fields: [String: SOPSTree] = [:]
        var data: [(key: String, value: SOPSTree)] = []
        if format == .dotenv {
            var age: [Int: [String: String]] = [:]
            for item in items {
                guard item.key.hasPrefix("sops_") else {
                    data.append(item)
                    continue
                }
                let key = String(item.key.dropFirst(5))
                let text: String = if case .leaf(let leaf) = item.value { leaf.text } else { "" }
                if key.hasPrefix("age__list_") {
                    let rest = key.dropFirst("age__list_".count).split(separator: "_", maxSplits: 1)
                    if let index = rest.first.flatMap({ Int($0) }), rest.count == 2, rest[1].hasPrefix("_map_") {
                        age[index, default: [:]][String(rest[1].dropFirst(5))] = text
                    }
                } else if let list = key.range(of: "__list_") {
                    fields[String(key[..<list.lowerBound])] = .sequence([.null])
                } else {
                    fields[key] = .leaf(.string(text))
                }
            }
            fields["age"] = .sequence(
                age.keys.sorted().map { index in
                    .mapping(age[index]!.sorted { $0.key < $1.key }.map { ($0.key, .leaf(.string($0.value))) })
                })
        } else {
            for item in items where item.key != "sops" { data.append(item) }
            guard case .mapping(let meta)? = tree["sops"] else { throw .malformed("it has no 'sops' metadata (not a SOPS file)") }
            for item in meta { fields[item.key] = item.value }
        }
        var metadata = Metadata()
        let text = { (key: String) -> String? in if case .leaf(let leaf)? = fields[key] { leaf.text } else { nil } }
        guard let mac = text("mac"), let lastModified = text("lastmodified") else {
            throw .malformed("its SOPS metadata has no 'mac' or 'lastmodified'")
        }
        metadata.mac = mac
        metadata.lastModified = lastModified
        metadata.unencryptedSuffix = text("unencrypted_suffix") ?? ""
        metadata.encryptedSuffix = text("encrypted_suffix") ?? ""
        metadata.macOnlyEncrypted = text("mac_only_encrypted").map { $0.lowercased() == "true" } ?? false
        for (key, field) in [("unencrypted_regex", \Metadata.unencryptedRegex), ("encrypted_regex", \Metadata.encryptedRegex)] {
            guard let pattern = text(key) else { continue }
            guard let regex = try? NSRegularExpression(pattern: pattern) else {
                throw .unsupported("its \(key) is not a regular expression Berth reads")
            }
            metadata[keyPath: field] = regex
        }
        for key in ["unencrypted_comment_regex", "encrypted_comment_regex"] where text(key) != nil {
            throw .unsupported("it uses \(key), which depends on comments; Berth reads SOPS files that select values by key")
        }
        if case .sequence(let groups)? = fields["key_groups"], !groups.isEmpty {
            throw .unsupported("it uses SOPS key groups (Shamir secret sharing); Berth reads files whose data key is encrypted to age recipients")
        }
        if case .sequence(let entries)? = fields["age"] {
            for entry in entries {
                guard case .leaf(let recipient)? = entry["recipient"], case .leaf(let enc)? = entry["enc"] else { continue }
                metadata.ageKeys.append((recipient.text, enc.text))
            }
        }
        for key in ["kms", "gcp_kms", "azure_kv", "hc_vault", "pgp", "hckms"] {
            if case .sequence(let entries)? = fields[key], !entries.isEmpty { metadata.otherKeyTypes.append(key) }
        }
        return (.mapping(data), metadata)
    }

    func dataKey(_ identities: [AgeIdentity]) throws(SecretError) -> SymmetricKey {
        guard !ageKeys.isEmpty else {
            throw .unsupported(
                "its data key is not encrypted to any age recipient"
                    + (otherKeyTypes.isEmpty ? "" : " (only \(otherKeyTypes.joined(separator: ", ")))"))
        }
        guard !identities.isEmpty else { throw .noIdentity }
        for key in ageKeys {
            let bytes: [UInt8]
            do {
                bytes = try Age.decrypt(Array(key.enc.utf8), identities: identities)
            } catch .noMatchingIdentity {
                continue
            }
            guard bytes.count == 32 else { throw .malformed("its data key is not 32 bytes") }
            return SymmetricKey(data: bytes)
        }
        throw .noMatchingIdentity(recipients: ageKeys.map(\.recipient))
    }

    func shouldEncrypt(_ path: [String]) -> Bool {
        var encrypted = true
        let matches = { (regex: NSRegularExpression, text: String) in
            regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        }
        if !unencryptedSuffix.isEmpty, path.contains(where: { $0.hasSuffix(unencryptedSuffix) }) { encrypted = false }
        if !encryptedSuffix.isEmpty { encrypted = path.contains { $0.hasSuffix(encryptedSuffix) } }
        if let regex = unencryptedRegex, path.contains(where: { matches(regex, $0) }) { encrypted = false }
        if let regex = encryptedRegex { encrypted = path.contains { matches(regex, $0) } }
        return encrypted
    }

    /// `lastmodified` as SOPS formats it for the MAC's additional data (RFC 3339, whole seconds).
    var lastModifiedForMAC: String {
        guard let dot = lastModified.firstIndex(of: "."), let zone = lastModified[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" })
        else { return lastModified }
        return String(lastModified[..<dot] + lastModified[zone...])
    }
}

extension SOPSTree {
    var keys: [String] {
        guard case .mapping(let items) = self else { return [] }
        return items.map(\.key)
    }
}

import BerthSecrets
import Foundation
import Testing

/// SOPS documents made by `Tests/SOPSReference/sops_reference.py` (an implementation of the
/// format written apart from Berth's) read by Berth, and Berth's own documents read back.
@Suite struct SOPSTests {
    static let references = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SOPSReference")
    static let identity = AgeTests.key()
    static let other = AgeTests.key(AgeTests.otherIdentity)

    static func reference(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: references.appendingPathComponent(name)))
    }

    @Test(arguments: ["reference.sops.yaml", "reference.sops.json"])
    func readsReferenceDocuments(name: String) throws {
        let document = try SOPS.decrypt(try Self.reference(name), path: name, identities: [Self.identity])
        #expect(try document.value("db_password") == "s3cr3t pass")
        #expect(try document.value("nested.user") == "app")
        #expect(try document.value("nested.port") == "5432")
        #expect(try document.value("nested.on") == "True")
        #expect(try document.value("nested.list.1") == "b")
        #expect(try document.value("port_unencrypted") == "5432")
        #expect(try document.value("empty") == "")
        #expect(try document.value("multi") == "line one\nline two")
        #expect(throws: SecretError.missingKey("nested.password")) { try document.value("nested.password") }
        #expect(throws: SecretError.self) { try document.value("nested") }
    }

    @Test func readsAReferenceDotenv() throws {
        let document = try SOPS.decrypt(try Self.reference("reference.sops.env"), path: "x.env", identities: [Self.identity])
        #expect(document.keys == ["DB_PASSWORD", "API_TOKEN", "MULTI", "HOST_unencrypted"])
        #expect(try document.value("API_TOKEN") == "tok=en")
        #expect(try document.rendered() == "DB_PASSWORD=s3cr3t pass\nAPI_TOKEN=tok=en\nMULTI=a\\nb\nHOST_unencrypted=db.internal\n")
    }

    @Test func namesTheRecipientsWhenNoIdentityMatches() throws {
        let recipient = Self.identity.recipient.description
        #expect(throws: SecretError.noMatchingIdentity(recipients: [recipient])) {
            try SOPS.decrypt(try Self.reference("reference.sops.yaml"), path: "s.yaml", identities: [Self.other])
        }
        #expect(try SOPS.recipients(try Self.reference("reference.sops.env"), path: "x.env") == [Self.identity.recipient])
    }

    /// A value changed (its first ciphertext character), a value left in clear changed (only the
    /// MAC covers it): each refused, none printing a value.
    @Test(arguments: [
        ("reference.sops.yaml", "db_password: ENC[AES256_GCM,data:", nil),
        ("reference.sops.env", "HOST_unencrypted=db.internal", "HOST_unencrypted=evil.example"),
    ])
    func tamperingIsRefused(name: String, find: String, replace: String?) throws {
        var text = String(decoding: try Self.reference(name), as: UTF8.self)
        let range = try #require(text.range(of: find))
        if let replace {
            text.replaceSubrange(range, with: replace)
        } else {
            let next = range.upperBound..<text.index(after: range.upperBound)
            text.replaceSubrange(next, with: text[next] == "A" ? "B" : "A")
        }
        #expect {
            try SOPS.decrypt(Array(text.utf8), path: name, identities: [Self.identity])
        } throws: { error in
            guard case SecretError.tampered = error else { return false }
            return !"\(error)".contains("s3cr3t")
        }
    }

    @Test func swappedValuesDoNotAuthenticate() throws {
        let plain = "a: one\nb: two\n"
        let encrypted = try SOPS.encrypt(plain, path: "s.yaml", to: [Self.identity.recipient])
        let lines = encrypted.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let a = try #require(lines.firstIndex { $0.hasPrefix("a: ") })
        let b = try #require(lines.firstIndex { $0.hasPrefix("b: ") })
        var swapped = lines
        swapped[a] = "a: " + lines[b].dropFirst(3)
        swapped[b] = "b: " + lines[a].dropFirst(3)
        #expect(throws: SecretError.self) {
            try SOPS.decrypt(Array(swapped.joined(separator: "\n").utf8), path: "s.yaml", identities: [Self.identity])
        }
    }

    @Test(arguments: [
        ("s.yaml", "password: \"p@ss: word\"\nport: 5432\nenabled: true\nhost_unencrypted: db\nlist:\n  - x\n  - \"\"\n"),
        ("s.json", "{\"password\": \"p@ss\", \"nested\": {\"n\": 1.25, \"flag\": false}, \"none\": null}"),
        ("s.env", "PASSWORD=p@ss=word\nTOKEN=abc\n"),
    ])
    func roundTripsItsOwnDocuments(path: String, plain: String) throws {
        let encrypted = try SOPS.encrypt(plain, path: path, to: [Self.other.recipient, Self.identity.recipient])
        #expect(!encrypted.contains("p@ss"))
        let document = try SOPS.decrypt(Array(encrypted.utf8), path: path, identities: [Self.identity])
        let again = try SOPS.decrypt(Array(encrypted.utf8), path: path, identities: [Self.other])
        #expect(try document.rendered() == again.rendered())
        let key = path.hasSuffix(".env") ? "PASSWORD" : "password"
        #expect(try document.value(key).hasPrefix("p@ss"))
        #expect(throws: SecretError.self) { try SOPS.encrypt(encrypted, path: path, to: [Self.identity.recipient]) }
    }

    @Test func refusesWhatItCannotRead() {
        let cases: [(String, String)] = [
            ("a: 1\n", "no 'sops' metadata"),
            ("a: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nsops:\n  lastmodified: x\n", "no 'mac'"),
            (
                "a: b\nsops:\n  mac: x\n  lastmodified: y\n  kms:\n    - arn: z\n",
                "not encrypted to any age recipient (only kms)"
            ),
            ("a: b\nsops:\n  mac: x\n  lastmodified: y\n  key_groups:\n    - age: []\n", "key groups"),
        ]
        for (text, message) in cases {
            #expect {
                try SOPS.decrypt(Array(text.utf8), path: "s.yaml", identities: [Self.identity])
            } throws: { error in "\(error)".contains(message) }
        }
    }
}

/// SOPS's binary store: a file with no extension SOPS knows is kept whole as `data` in JSON.
@Suite struct SOPSBinaryTests {
    @Test func aReferenceBinaryFileReadsBackWhole() throws {
        // The reference's JSON document `{"data": …}` is what `sops -e cert.pem` writes.
        let json = try SOPSTests.reference("reference.sops.json")
        #expect(throws: SecretError.malformed("a SOPS binary file keeps its content under 'data'")) {
            try SOPS.decrypt(json, path: "cert.pem", identities: [SOPSTests.identity]).rendered()
        }
        let plain = "-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----\n"
        let encrypted = try SOPS.encrypt(plain, path: "cert.pem", to: [SOPSTests.identity.recipient])
        #expect(encrypted.hasPrefix("{") && !encrypted.contains("MIIB"))
        #expect(try SOPS.decrypt(Array(encrypted.utf8), path: "cert.pem", identities: [SOPSTests.identity]).rendered() == plain)
    }

    @Test func iniIsRefusedByName() {
        #expect(throws: SecretError.unsupported("it is a SOPS INI document; Berth reads SOPS YAML, JSON, dotenv and binary files")) {
            try SOPS.decrypt(Array("[s]\na = ENC[AES256_GCM,data:x]\n".utf8), path: "app.ini", identities: [SOPSTests.identity])
        }
    }
}

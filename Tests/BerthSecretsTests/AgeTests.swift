import BerthSecrets
import Foundation
import Testing

/// Age's format against a file made by the real `age` 1.1.1 (Debian's), and round trips of
/// Berth's own writer. Keys here are throwaway test keys.
@Suite struct AgeTests {
    /// From `age-keygen`; `madeByAge` is `printf 'hunter2-correct-horse' | age -r <its recipient> -a`.
    static let identity = "AGE-SECRET-KEY-1QJ07QLKNQAQERFRTVAWJ33WGM7X0NKVEH2CZ83Q9UGFA2NMFRZ0QS8TTXW"
    static let recipient = "age1x0tdwqupenkzxxna57zlvdrdxspxrzqxcnly4hhdrxz70yjtspxqnl0gpa"
    static let otherIdentity = "AGE-SECRET-KEY-1TQH2K8CYEQZKQFFU6Z98DE4XSZ3VF9GVSS0ESPNMHDJ9N5MKRG4QPTU5T4"
    static let madeByAge = """
        -----BEGIN AGE ENCRYPTED FILE-----
        YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBiN1pMaVRLSlVKdzV3RS83
        WlZaSC9xTmtpOXpwdmhPdHpJYkl4YnBuTGlNClNLVWR3QnQycnMzSlVCU0gwZUFw
        QmVRZVo1R0kzWElFSlMzTUpzMmtFcGcKLS0tIEJ5NThZdTRPOEVLRHlkUHpJdFVD
        Z1JDT2xldGgrZDJ2eHl4eWR6R2xualkKab2x6gAcFGesgpZxsOQuFr5Z6Nhb7mTx
        8cqrSoDCwj6GHCx62RILkgsATSq8ZIOxGD8jrG4=
        -----END AGE ENCRYPTED FILE-----

        """

    static func key(_ text: String = identity) -> AgeIdentity { AgeIdentity(text)! }

    @Test func keysReadAndWriteAsAgeKeygenDoes() throws {
        let identity = Self.key()
        #expect(identity.recipient.description == Self.recipient)
        #expect(identity.secretKeyText == Self.identity)
        #expect(AgeRecipient(Self.recipient)?.description == Self.recipient)
        #expect(AgeIdentity(Self.identity.lowercased()) != nil)
        // A changed character breaks the checksum; a recipient is not an identity.
        #expect(AgeIdentity(String(Self.identity.dropLast()) + "5") == nil)
        #expect(AgeIdentity(Self.recipient) == nil)
        #expect(AgeRecipient(Self.identity) == nil)
    }

    @Test func identityFilesAsAgeKeygenWritesThem() throws {
        let file = "# created: 2026-12-04T07:13:33Z\n# public key: \(Self.recipient)\n\(Self.identity)\n\n\(Self.otherIdentity)\n"
        #expect(try AgeIdentity.parseFile(file).count == 2)
        let cases: [(String, String)] = [
            ("# only a comment\n", "holds no age secret key"),
            ("\(Self.identity)\nnot-a-key\n", "line 2 is not an age secret key"),
            ("AGE-PLUGIN-YUBIKEY-1ABC\n", "plugin"),
            ("ssh-ed25519 AAAA… me@host\n", "SSH key"),
        ]
        for (text, message) in cases {
            #expect {
                try AgeIdentity.parseFile(text)
            } throws: { error in
                let description = "\(error)"
                return description.contains(message) && !description.contains("not-a-key") && !description.contains(Self.identity)
            }
        }
    }

    @Test func decryptsAFileMadeByAge() throws {
        let plaintext = try Age.decrypt(Array(Self.madeByAge.utf8), identities: [Self.key(Self.otherIdentity), Self.key()])
        #expect(String(decoding: plaintext, as: UTF8.self) == "hunter2-correct-horse")
    }

    @Test func refusesTheWrongKeyAndNoKey() {
        #expect(throws: SecretError.noMatchingIdentity(recipients: [])) {
            try Age.decrypt(Array(Self.madeByAge.utf8), identities: [Self.key(Self.otherIdentity)])
        }
        #expect(throws: SecretError.noIdentity) { try Age.decrypt(Array(Self.madeByAge.utf8), identities: []) }
    }

    @Test(arguments: [0, 1, 100, 65535, 65536, 65537, 3 * 65536, 200_000])
    func roundTripsEverySizeAroundChunkBoundaries(size: Int) throws {
        let plaintext = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let other = Self.key(Self.otherIdentity)
        let file = Age.encrypt(plaintext, to: [other.recipient, Self.key().recipient])
        #expect(file.hasPrefix("-----BEGIN AGE ENCRYPTED FILE-----\n"))
        #expect(try Age.decrypt(Array(file.utf8), identities: [Self.key()]) == plaintext)
        #expect(try Age.decrypt(Array(file.utf8), identities: [other]) == plaintext)
    }

    /// Every byte of a binary file is covered: the header by its MAC, the payload by its tags.
    @Test func aChangedByteAnywhereIsRefused() throws {
        let plaintext = Array("a secret value".utf8)
        let armored = Age.encrypt(plaintext, to: [Self.key().recipient]).split(separator: "\n")
        #expect(armored.first == "-----BEGIN AGE ENCRYPTED FILE-----" && armored.last == "-----END AGE ENCRYPTED FILE-----")
        let binary = [UInt8](try #require(Data(base64Encoded: armored.dropFirst().dropLast().joined())))
        #expect(binary.starts(with: Array("age-encryption.org/v1\n-> X25519 ".utf8)))
        var refused = 0
        for index in stride(from: 0, to: binary.count, by: 3) {
            var changed = binary
            changed[index] ^= 0x01
            do {
                _ = try Age.decrypt(changed, identities: [Self.key()])
            } catch {
                refused += 1
                #expect(!"\(error)".contains("a secret value"))
            }
        }
        #expect(refused == (binary.count + 2) / 3)
        #expect(throws: SecretError.self) { try Age.decrypt(Array(binary.dropLast()), identities: [Self.key()]) }
        #expect(throws: SecretError.self) { try Age.decrypt(binary + [0], identities: [Self.key()]) }
    }

    @Test func refusesWhatIsNotAnAgeFileOrNotForBerth() {
        let cases: [(String, String)] = [
            ("hello\n", "does not start with"),
            ("age-encryption.org/v1\n-> X25519 abc\n", "header does not end"),
            ("age-encryption.org/v1\n-> scrypt c2FsdA 18\nYWJj\n--- \(String(repeating: "A", count: 43))\n", "passphrase"),
            ("-----BEGIN AGE ENCRYPTED FILE-----\nYWJj\n", "armor does not end"),
        ]
        for (text, message) in cases {
            #expect {
                try Age.decrypt(Array(text.utf8), identities: [Self.key()])
            } throws: { error in "\(error)".contains(message) }
        }
        #expect(Age.isAge(Array(Self.madeByAge.utf8)))
        #expect(!Age.isAge(Array("DB_PASSWORD=x\n".utf8)))
    }
}

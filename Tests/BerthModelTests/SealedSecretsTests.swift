import BerthModel
import BerthSecrets
import Foundation
import Testing

/// Encrypted secret sources through parsing, validation and resolution: every failure names the
/// file, line and secret, and the plaintext reaches only the (unredacted) desired state.
@Suite struct SealedSecretsTests {
    static let identity = AgeIdentity()
    static let stranger = AgeIdentity()

    static let stack = """
        kind: Stack
        name: demo
        default_environment: prod
        ---
        kind: Environment
        name: prod
        secrets:
          DB: {age: secrets/db.age}
          TOKEN: {sops: secrets/app.sops.yaml, key: api.token}
        ---
        kind: Service
        name: web
        image: app
        environment: {DB: "${DB}", TOKEN: "${TOKEN}"}

        """

    static var contents: [String: [UInt8]] {
        [
            "/stacks/demo/secrets/db.age": Array(Age.encrypt(Array("db-pass\n".utf8), to: [identity.recipient]).utf8),
            "/stacks/demo/secrets/app.sops.yaml": Array(
                try! SOPS.encrypt("api:\n  token: tok-1\n", path: "app.sops.yaml", to: [identity.recipient]).utf8),
        ]
    }

    static func resolve(
        _ sealed: SealedFiles, requireSecrets: Bool = true, text: String = stack
    ) -> Result<DesiredState, ManifestErrors> {
        let (manifest, errors) = ManifestParser.parse(files: ["s.yaml": text], directory: "/stacks/demo")
        precondition(errors.isEmpty, "\(errors)")
        var request = ResolutionRequest()
        request.sealed = sealed
        request.requireSecrets = requireSecrets
        return Result { () throws(ManifestErrors) in try Resolver.resolve(manifest, request) }
    }

    @Test func decryptsIntoTheDesiredStateOnly() throws {
        let state = try Self.resolve(SealedFiles(contents: Self.contents, identities: [Self.stranger, Self.identity])).get()
        let environment = try #require(state.container("web")).environment
        #expect(environment.contains(EnvironmentVariable(name: "DB", value: "db-pass", isSecret: true)))
        #expect(environment.contains(EnvironmentVariable(name: "TOKEN", value: "tok-1", isSecret: true)))
        let redacted = String(decoding: try JSONEncoder().encode(state.redacted), as: UTF8.self)
        #expect(!redacted.contains("db-pass") && !redacted.contains("tok-1"))
        #expect(Resolver.sealedFiles(ManifestParser.parse(files: ["s.yaml": Self.stack], directory: "/stacks/demo").0).count == 2)
    }

    /// (the files and keys at hand, whether secrets are required, the field, its line, what the message says)
    static let failures: [(SealedFiles, Bool, String, Int, String)] = [
        (SealedFiles(contents: contents), true, "prod.secrets.DB", 8, "(secrets/db.age): it is encrypted and no age identity is given"),
        (SealedFiles(contents: contents, identities: [stranger]), true, "prod.secrets.DB", 8, "none of the given identities can decrypt it"),
        (
            SealedFiles(contents: contents, identities: [stranger]), false, "prod.secrets.TOKEN", 9,
            "it is encrypted to \(identity.recipient)"
        ),
        (SealedFiles(contents: [:], identities: [identity]), true, "prod.secrets.DB", 8, "cannot read encrypted secret file 'secrets/db.age'"),
        (
            SealedFiles(contents: contents, identityProblem: "cannot read the age identity file '/k'"), false, "prod.secrets.TOKEN", 9,
            "cannot read the age identity file '/k'"
        ),
        (
            SealedFiles(
                contents: contents.merging(["/stacks/demo/secrets/db.age": contents["/stacks/demo/secrets/app.sops.yaml"]!]) { $1 },
                identities: [identity]), true, "prod.secrets.DB", 8, "it is a SOPS document; name it with 'sops:'"
        ),
    ]

    @Test(arguments: 0..<failures.count)
    func failuresNameTheSecretAndItsLine(index: Int) throws {
        let (sealed, required, field, line, message) = Self.failures[index]
        guard case .failure(let errors) = Self.resolve(sealed, requireSecrets: required) else {
            Issue.record("resolved")
            return
        }
        let error = try #require(errors.errors.first { $0.field == field }, "\(errors)")
        #expect(error.location?.file == "s.yaml" && error.location?.line == line, "\(error)")
        #expect(error.message.contains(message), "\(error.message)")
        #expect(!error.description.contains("db-pass") && !error.description.contains("tok-1"))
    }

    @Test func withoutAKeyValidateListsThemAsNotChecked() throws {
        let state = try Self.resolve(SealedFiles(contents: Self.contents), requireSecrets: false).get()
        #expect(state.unavailableSecrets == ["prod.DB", "prod.TOKEN"])
    }

    @Test func aMissingSOPSKeyIsNamed() throws {
        let text = Self.stack.replacingOccurrences(of: "key: api.token", with: "key: api.tokn")
        guard case .failure(let errors) = Self.resolve(SealedFiles(contents: Self.contents, identities: [Self.identity]), text: text) else {
            Issue.record("resolved")
            return
        }
        #expect(errors.description.contains("prod.secrets.TOKEN: secret 'TOKEN' (secrets/app.sops.yaml): has no key 'api.tokn'"), "\(errors)")
    }

    /// (manifest fragment under `secrets:` or the Stack, the field reported, what the message says)
    @Test(arguments: [
        ("secrets: {P: {age: p.age, key: x}}", "prod.secrets.P.key", "'key' picks a value of a SOPS document"),
        ("secrets: {P: {file: p, age: p.age}}", "prod.secrets.P", "a secret takes one source, not file and age"),
        ("secrets: {P: {key: x}}", "prod.secrets.P", "a secret needs 'file:'"),
        ("secrets: {P: {age: ../elsewhere/p.age}}", "prod.secrets.P", "outside the stack directory"),
        ("recipients: [AGE-SECRET-KEY-1QJ07QLKNQAQERFRTVAWJ33WGM7X0NKVEH2CZ83Q9UGFA2NMFRZ0QS8TTXW]", "prod.recipients[0]", "that is a secret key"),
        ("recipients: [age1nope]", "prod.recipients[0]", "not an age public key"),
    ])
    func manifestMistakes(fragment: String, field: String, message: String) throws {
        let files = ["s.yaml": "kind: Environment\nname: prod\n\(fragment)\n"]
        let found = problems(files)
        let error = try #require(found.first { $0.field == field }, "\(found)")
        #expect(error.message.contains(message), "\(error.message)")
        #expect(error.location?.line == 3)
        #expect(!error.description.contains("AGE-SECRET-KEY-1QJ07"))
    }

    /// A Compose secret whose file is encrypted is written into the container, decrypted, with
    /// the mode asked for; a plain one stays a read-only bind mount.
    @Test func composeSecretFilesThatAreEncrypted() throws {
        let compose = """
            services:
              web:
                image: app
                secrets: [{source: db, mode: 0400}, plain]
            secrets:
              db: {file: ./db.age}
              plain: {file: ./plain.txt}
            """
        let project = try ComposeLoader.load(
            ComposeOptions(files: ["/p/compose.yaml"]), environment: [:], isSealed: { $0 == "/p/db.age" },
            read: { $0 == "/p/compose.yaml" ? compose : nil })
        var request = ResolutionRequest()
        request.sealed = SealedFiles(
            contents: ["/p/db.age": Array(Age.encrypt(Array("compose-pass".utf8), to: [Self.identity.recipient]).utf8)], identities: [Self.identity])
        let web = try #require(try Resolver.resolve(project.stack, request).container("web"))
        #expect(web.files == [FileSpec(target: "/run/secrets/db", content: "compose-pass", isSecret: true, mode: 0o400)])
        #expect(web.mounts.map(\.target) == ["/run/secrets/plain"])
    }
}

import BerthTesting
import Foundation
import Testing

/// Secrets committed encrypted: age files made by Debian's `age` and SOPS documents made by
/// `Tests/SOPSReference/sops_reference.py` (the format implemented apart from Berth) decrypted by
/// the `berth` users run, on the real Engine; Berth's own files read back by those tools; and
/// the plaintext nowhere but in the container.
@Suite(.serialized) struct EncryptedSecretsTests {
    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SOPSReference/sops_reference.py").path

    /// A new identity made by `age-keygen`: its file and its public key.
    static func keygen(in directory: URL, _ name: String) async throws -> (file: String, recipient: String) {
        let file = directory.appendingPathComponent(name).path
        let made = try await Command.run("age-keygen", ["-o", file])
        #expect(made.status == 0, "\(made.stderr)")
        let recipient = try await Command.run("age-keygen", ["-y", file]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return (file, recipient)
    }

    static func ageEncrypt(_ plaintext: String, to recipient: String, armor: Bool) async throws -> Data {
        let result = try await Command.run("age", ["-r", recipient] + (armor ? ["-a"] : []), stdin: Data(plaintext.utf8))
        #expect(result.status == 0, "\(result.stderr)")
        // Binary age output is not UTF-8; run through a file instead of the captured text.
        guard !armor else { return Data(result.stdout.utf8) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-age-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in")
        let output = directory.appendingPathComponent("out")
        try Data(plaintext.utf8).write(to: input)
        let binary = try await Command.run("age", ["-r", recipient, "-o", output.path, input.path])
        #expect(binary.status == 0, "\(binary.stderr)")
        return try Data(contentsOf: output)
    }

    static func sops(_ format: String, _ document: String, to recipient: String) async throws -> String {
        let result = try await Command.run("python3", [reference, "encrypt", format, recipient], stdin: Data(document.utf8))
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout
    }

    @Test func encryptedSecretsReachTheContainerAndNothingElse() async throws {
        try await TestStack.with("sec") { stack in
            let key = try await Self.keygen(in: stack.directory, "host.key")
            let run = UInt32.random(in: 100_000...999_999)
            let secrets = [
                "A_BINARY": "from-age-binary-\(run)", "A_ARMOR": "from-age-armor-\(run)", "S_YAML": "from-sops-yaml-\(run)",
                "S_JSON": "from-sops-json-\(run)", "S_ENV": "from-sops-env-\(run)",
            ]
            try FileManager.default.createDirectory(at: stack.directory.appendingPathComponent("secrets"), withIntermediateDirectories: true)
            try await Self.ageEncrypt(secrets["A_BINARY"]!, to: key.recipient, armor: false)
                .write(to: stack.directory.appendingPathComponent("secrets/binary.age"))
            try stack.write(
                "secrets/armor.age",
                String(decoding: try await Self.ageEncrypt(secrets["A_ARMOR"]! + "\n", to: key.recipient, armor: true), as: UTF8.self))
            try stack.write(
                "secrets/app.sops.yaml",
                try await Self.sops("yaml", "{\"db\": {\"password\": \"\(secrets["S_YAML"]!)\"}, \"n\": 5}", to: key.recipient))
            try stack.write("secrets/app.sops.json", try await Self.sops("json", "{\"token\": \"\(secrets["S_JSON"]!)\"}", to: key.recipient))
            try stack.write("secrets/app.sops.env", try await Self.sops("dotenv", "{\"API_KEY\": \"\(secrets["S_ENV"]!)\"}", to: key.recipient))
            try stack.write(
                "stack.yaml",
                """
                kind: Stack
                name: {{stack}}
                default_environment: prod
                recipients: [\(key.recipient)]
                ---
                kind: Environment
                name: prod
                secrets:
                  A_BINARY: {age: secrets/binary.age}
                  A_ARMOR: {age: secrets/armor.age}
                  S_YAML: {sops: secrets/app.sops.yaml, key: db.password}
                  S_JSON: {sops: secrets/app.sops.json, key: token}
                  S_ENV: {sops: secrets/app.sops.env, key: API_KEY}
                ---
                kind: Service
                name: web
                image: \(TestStack.baseImage)
                init: true
                command: [sleep, "600"]
                environment: {A_BINARY: "${A_BINARY}", A_ARMOR: "${A_ARMOR}", S_YAML: "${S_YAML}", S_JSON: "${S_JSON}", S_ENV: "${S_ENV}"}
                """)
            var environment = stack.berthEnvironment
            environment["BERTH_AGE_IDENTITY"] = key.file
            let directory = stack.directory.path
            var outputs: [String] = []
            for flag in [[], ["--json"]] {
                for command in [
                    ["validate", directory], ["render", directory], ["plan", directory], ["apply", directory], ["status", directory], ["history"],
                ] {
                    let result = try await Command.run(BerthBinary.path, command + flag, environment: environment)
                    #expect(result.status == 0, "\(command): \(result.stdout) \(result.stderr)")
                    outputs.append(result.stdout + result.stderr)
                }
            }
            // The flag works as the variable does.
            let flagged = try await stack.berth(["plan", directory, "--age-identity", key.file, "--detailed-exitcode"])
            #expect(flagged.status == 0, "\(flagged.stdout) \(flagged.stderr)")
            outputs.append(flagged.stdout + flagged.stderr)

            let env = try await Command.docker("inspect", "-f", "{{json .Config.Env}}", "\(stack.name)-web")
            for (name, value) in secrets { #expect(env.contains("\"\(name)=\(value)\""), "\(name) in \(env)") }
            let everything = outputs.joined(separator: "\n")
            for value in secrets.values { #expect(!everything.contains(value)) }
            for suffix in ["", "-wal", "-shm"] {
                guard let bytes = FileManager.default.contents(atPath: stack.statePath + suffix) else { continue }
                for value in secrets.values { #expect(bytes.range(of: Data(value.utf8)) == nil, "state\(suffix) holds a secret") }
            }
        }
    }

    @Test func wrongKeysTamperingAndNoKeyChangeNothing() async throws {
        try await TestStack.with("sek") { stack in
            let key = try await Self.keygen(in: stack.directory, "host.key")
            let other = try await Self.keygen(in: stack.directory, "other.key")
            try stack.write("db.age", String(decoding: try await Self.ageEncrypt("pw-\(stack.name)", to: key.recipient, armor: true), as: UTF8.self))
            try stack.write(
                "app.sops.yaml", try await Self.sops("yaml", "{\"token\": \"tok-\(stack.name)\", \"port_unencrypted\": 1}", to: key.recipient))
            try stack.write(
                "stack.yaml",
                """
                kind: Stack
                name: {{stack}}
                ---
                kind: Environment
                name: prod
                secrets:
                  DB: {age: db.age}
                  TOKEN: {sops: app.sops.yaml, key: token}
                ---
                kind: Service
                name: web
                image: \(TestStack.baseImage)
                command: [sleep, "600"]
                environment: {DB: "${DB}", TOKEN: "${TOKEN}"}
                """)
            let directory = stack.directory.path
            func apply(identity: String?) async throws -> CommandResult {
                var environment = stack.berthEnvironment
                environment["BERTH_AGE_IDENTITY"] = identity
                return try await Command.run(BerthBinary.path, ["apply", directory], environment: environment)
            }
            // A key for someone else: both secrets named, with their files and line, and the SOPS file's recipients.
            var result = try await apply(identity: other.file)
            #expect(result.status == 1)
            #expect(
                result.stderr.contains("stack.yaml:7:") && result.stderr.contains("prod.secrets.DB") && result.stderr.contains("(db.age)"),
                "\(result.stderr)")
            #expect(result.stderr.contains("prod.secrets.TOKEN") && result.stderr.contains(key.recipient), "\(result.stderr)")
            // No key at all, and a key file that is not there.
            result = try await apply(identity: nil)
            #expect(result.status == 1 && result.stderr.contains("no age identity is given"), "\(result.stderr)")
            result = try await apply(identity: stack.directory.appendingPathComponent("missing.key").path)
            #expect(result.status == 1 && result.stderr.contains("cannot read the age identity file"), "\(result.stderr)")
            // A value left in clear but changed: the MAC no longer matches.
            let sops = try String(contentsOf: stack.directory.appendingPathComponent("app.sops.yaml"), encoding: .utf8)
            try stack.write("app.sops.yaml", sops.replacingOccurrences(of: "port_unencrypted: 1", with: "port_unencrypted: 2"))
            result = try await apply(identity: key.file)
            #expect(result.status == 1 && result.stderr.contains("prod.secrets.TOKEN") && result.stderr.contains("MAC mismatch"), "\(result.stderr)")
            try stack.write("app.sops.yaml", sops)
            // A payload byte changed in the age file.
            var age = try Data(contentsOf: stack.directory.appendingPathComponent("db.age"))
            let binary = try await Command.run("age", ["-d", "-i", key.file], stdin: age)
            #expect(binary.status == 0)
            let lines = String(decoding: age, as: UTF8.self).split(separator: "\n").map(String.init)
            var payload = Data(base64Encoded: lines.dropFirst().dropLast().joined())!
            payload[payload.count - 3] ^= 0x40
            age = Data(
                (["-----BEGIN AGE ENCRYPTED FILE-----", payload.base64EncodedString(), "-----END AGE ENCRYPTED FILE-----", ""]).joined(
                    separator: "\n"
                ).utf8)
            try age.write(to: stack.directory.appendingPathComponent("db.age"))
            result = try await apply(identity: key.file)
            #expect(
                result.status == 1 && result.stderr.contains("prod.secrets.DB") && result.stderr.contains("failed authentication"), "\(result.stderr)"
            )
            for output in [result.stdout, result.stderr] { #expect(!output.contains("pw-\(stack.name)") && !output.contains("tok-\(stack.name)")) }
            #expect(try await stack.containers().isEmpty)
            // validate says which secrets it could not check without a key, and checks them with one.
            var environment = stack.berthEnvironment
            environment["BERTH_AGE_IDENTITY"] = nil
            let unchecked = try await Command.run(BerthBinary.path, ["validate", directory], environment: environment)
            #expect(unchecked.status == 0 && unchecked.stdout.contains("prod.DB") && unchecked.stdout.contains("prod.TOKEN"), "\(unchecked.stdout)")
            let checked = try await Command.run(BerthBinary.path, ["validate", directory, "--age-identity", key.file], environment: environment)
            #expect(checked.status == 1 && checked.stderr.contains("prod.secrets.DB"), "\(checked.stderr)")
        }
    }

    @Test func berthsFilesOpenWithAgeAndTheReference() async throws {
        try await TestStack.with("sew") { stack in
            let key = try await Self.keygen(in: stack.directory, "host.key")
            let second = try await Self.keygen(in: stack.directory, "second.key")
            try stack.write("stack.yaml", "kind: Stack\nname: {{stack}}\nrecipients: [\(key.recipient), \(second.recipient)]\n")
            let directory = stack.directory.path
            let encrypted = try await stack.berth(["secrets", "encrypt", "--stack", directory, "-o", directory + "/db.age"])
            #expect(encrypted.status == 0 && encrypted.stderr.contains("2 recipients (Stack \(stack.name))"), "\(encrypted.stderr)")
            _ = encrypted
            let piped = try await Command.run(
                BerthBinary.path, ["secrets", "encrypt", "--stack", directory, "--json"], environment: stack.berthEnvironment,
                stdin: Data("piped value\n".utf8))
            let document = try JSONSerialization.jsonObject(with: Data(piped.stdout.utf8)) as? [String: Any]
            let armored = try #require(document?["ciphertext"] as? String)
            #expect(armored.hasPrefix("-----BEGIN AGE ENCRYPTED FILE-----") && document?["recipientsFrom"] as? String == "Stack \(stack.name)")
            for identity in [key.file, second.file] {
                let opened = try await Command.run("age", ["-d", "-i", identity], stdin: Data(armored.utf8))
                #expect(opened.stdout == "piped value\n", "\(opened.stderr)")
            }
            for (name, plain) in [
                ("app.yaml", "db:\n  password: p1\nport_unencrypted: 5432\n"), ("app.json", "{\"token\": \"p2\"}"), ("app.env", "KEY=p3\n"),
            ] {
                // Plaintext outside the stack directory, where it would be read as a manifest.
                try stack.write("plain/" + name, plain)
                let out = directory + "/" + name.replacingOccurrences(of: ".", with: ".sops.")
                let made = try await stack.berth(["secrets", "encrypt", "--sops", "--stack", directory, directory + "/plain/" + name, "-o", out])
                #expect(made.status == 0, "\(made.stderr)")
                let opened = try await Command.run("python3", [Self.reference, "decrypt", out, second.file])
                #expect(
                    opened.status == 0 && (opened.stdout.contains("p1") || opened.stdout.contains("p2") || opened.stdout.contains("p3")),
                    "\(name): \(opened.stderr)")
            }

            // Edit through $EDITOR: the editor sees the plaintext in a private directory that is gone afterwards.
            let record = stack.directory.appendingPathComponent("editor.log").path
            try stack.write(
                "editor.sh",
                "#!/bin/sh\nstat -c '%a' \"$(dirname \"$1\")\" >> \(record)\necho \"$1\" >> \(record)\ncat \"$1\" >> \(record)\n"
                    + "if [ -s \"$1\" ]; then sed -i '$ s/$/ edited/' \"$1\"; else printf ' edited\\n' > \"$1\"; fi\n")
            chmod(stack.directory.appendingPathComponent("editor.sh").path, 0o755)
            var environment = stack.berthEnvironment
            environment["EDITOR"] = stack.directory.appendingPathComponent("editor.sh").path
            environment["BERTH_AGE_IDENTITY"] = key.file
            let edited = try await Command.run(
                BerthBinary.path, ["secrets", "edit", "--stack", directory, directory + "/db.age"], environment: environment)
            #expect(edited.status == 0, "\(edited.stderr)")
            let log = try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(log.first == "700", "\(log)")
            let scratch = try #require(log.dropFirst().first)
            #expect(!FileManager.default.fileExists(atPath: URL(fileURLWithPath: scratch).deletingLastPathComponent().path))
            let reopened = try await Command.run("age", ["-d", "-i", second.file, directory + "/db.age"])
            #expect(reopened.stdout.hasSuffix(" edited\n"), "\(reopened.stdout)")
            // A SOPS document edited the same way stays readable by the reference.
            let sopsEdit = try await Command.run(
                BerthBinary.path, ["secrets", "edit", "--stack", directory, directory + "/app.sops.env"], environment: environment)
            #expect(sopsEdit.status == 0, "\(sopsEdit.stderr)")
            let sopsOpened = try await Command.run("python3", [Self.reference, "decrypt", directory + "/app.sops.env", key.file])
            #expect(sopsOpened.stdout.contains("p3 edited"), "\(sopsOpened.stdout) \(sopsOpened.stderr)")
            // An editor that fails writes nothing.
            environment["EDITOR"] = "false"
            let before = try Data(contentsOf: URL(fileURLWithPath: directory + "/db.age"))
            let failed = try await Command.run(
                BerthBinary.path, ["secrets", "edit", "--stack", directory, directory + "/db.age"], environment: environment)
            #expect(failed.status == 1 && failed.stderr.contains("nothing was written"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/db.age")) == before)
        }
    }

    /// Compose's `secrets: {x: {file: …}}` pointing at an encrypted file: decrypted into the
    /// container, never bind-mounted (the ciphertext is not what the service wants to read).
    @Test func composeFileSecretsMayBeEncrypted() async throws {
        try await TestStack.with("sec") { stack in
            let key = try await Self.keygen(in: stack.directory, "host.key")
            try stack.write(
                "db.age", String(decoding: try await Self.ageEncrypt("compose-pw-\(stack.name)", to: key.recipient, armor: true), as: UTF8.self))
            try stack.write("conf.sops.env", try await Self.sops("dotenv", "{\"USER\": \"u-\(stack.name)\"}", to: key.recipient))
            try stack.write("plain.txt", "plain\n")
            try stack.write(
                "compose.yaml",
                """
                name: \(stack.name)
                services:
                  web:
                    image: \(TestStack.baseImage)
                    init: true
                    command: [sleep, "600"]
                    secrets: [db, conf, plain]
                secrets:
                  db: {file: ./db.age}
                  conf: {file: ./conf.sops.env}
                  plain: {file: ./plain.txt}
                """)
            var environment = stack.berthEnvironment
            environment["BERTH_AGE_IDENTITY"] = key.file
            let applied = try await Command.run(BerthBinary.path, ["apply", "-f", stack.directory.path + "/compose.yaml"], environment: environment)
            #expect(applied.status == 0, "\(applied.stdout) \(applied.stderr)")
            #expect(!applied.stdout.contains("compose-pw-"))
            let container = "\(stack.name)-web-1"
            #expect(try await Command.docker("exec", container, "cat", "/run/secrets/db") == "compose-pw-\(stack.name)")
            #expect(try await Command.docker("exec", container, "cat", "/run/secrets/conf") == "USER=u-\(stack.name)")
            #expect(try await Command.docker("exec", container, "cat", "/run/secrets/plain") == "plain")
            // import would write the encrypted file as a bind mount: it says so instead.
            let imported = try await stack.berth(["import", "-f", stack.directory.path + "/compose.yaml", "-o", stack.directory.path + "/imported"])
            #expect(imported.status == 1 && imported.stderr.contains("secrets.db.file is encrypted"), "\(imported.stderr)")
            #expect(!FileManager.default.fileExists(atPath: stack.directory.path + "/imported"))
        }
    }
}

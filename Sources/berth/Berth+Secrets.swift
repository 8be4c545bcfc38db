import ArgumentParser
import BerthController
import BerthModel
import BerthSecrets
import Foundation

extension Berth {
    /// Helps keep secrets in Git: files encrypted to the age recipients the stack lists.
    struct Secrets: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "secrets",
            abstract: "Encrypt and edit secret files (age, SOPS) for the recipients the stack lists.",
            discussion: """
                Recipients (age public keys, age1…) are listed under 'recipients:' in the Stack manifest, or in an \
                Environment for its own secrets, or 'x-berth: {recipients: […]}' in a Compose file. Identities \
                (secret keys) stay on the hosts that decrypt: --age-identity FILE or BERTH_AGE_IDENTITY.
                """,
            subcommands: [Encrypt.self, Edit.self, Keygen.self])
    }
}

/// Where the recipients come from: given, else the stack's.
struct RecipientOptions: ParsableArguments {
    @Option(name: .customLong("recipient"), help: "An age public key to encrypt to (repeatable). Default: the stack's recipients.")
    var recipients: [String] = []

    @Option(help: "The stack directory whose recipients to use.", completion: .directory)
    var stack: String = "."

    @Option(
        name: [.customShort("e"), .long], help: "Use this Environment's recipients (default: the one whose secret the file is, else the Stack's).")
    var environment: String?

    /// The recipients for `file` (an absolute path), and where they came from.
    func resolve(for file: String) throws -> (recipients: [AgeRecipient], origin: String) {
        if !recipients.isEmpty {
            return (
                try recipients.map { text in
                    guard let recipient = AgeRecipient(text) else { throw CommandFailure("--recipient '\(text)' is not an age public key (age1…)") }
                    return recipient
                }, "--recipient"
            )
        }
        let source = ComposeFileOptions.source(files: [], envFiles: [], projectName: nil, directory: stack)
        let manifest = try berth.load(source).manifest
        let environments: [EnvironmentManifest]
        if let environment {
            guard let chosen = manifest.environment(environment) else {
                throw CommandFailure("stack \(manifest.name) has no environment '\(environment)'")
            }
            environments = [chosen]
        } else {
            environments = manifest.environments.filter { environment in
                environment.secrets.values.contains { source in
                    source.sealedPath.map { absolute($0.hasPrefix("/") ? $0 : manifest.directory + "/" + $0) } == file
                }
            }
        }
        let fromEnvironments = environments.filter { !$0.recipients.isEmpty }
        let texts = fromEnvironments.isEmpty ? manifest.recipients : Array(Set(fromEnvironments.flatMap(\.recipients))).sorted()
        guard !texts.isEmpty else {
            throw CommandFailure(
                "stack \(manifest.name) lists no recipients: add 'recipients: [age1…]' to its Stack manifest (or an Environment), or give --recipient"
            )
        }
        let origin = fromEnvironments.isEmpty ? "Stack \(manifest.name)" : fromEnvironments.map { "Environment \($0.name)" }.joined(separator: ", ")
        return (texts.compactMap(AgeRecipient.init), origin)
    }
}

extension Berth.Secrets {
    struct Encrypt: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "encrypt",
            abstract: "Encrypt a file (or standard input) to the stack's recipients.",
            discussion: """
                Writes an armored age file, or with --sops a SOPS document (YAML, JSON or dotenv, by the file's extension) \
                whose every value is encrypted except keys ending in _unencrypted; a file of any other kind is kept whole, \
                as SOPS's binary store does. The plaintext is read into memory only.
                  echo -n 's3cret' | berth secrets encrypt -o secrets/db.age
                  berth secrets encrypt --sops prod.env -o secrets/prod.sops.env
                """)

        @Argument(help: "The plaintext file; '-' or none for standard input.", completion: .file())
        var input: String?

        @Option(
            name: .shortAndLong, help: "Where to write the encrypted file. Default: standard output (in the document, with --json).",
            completion: .file())
        var output: String?

        @Flag(help: "Write a SOPS document (YAML, JSON or dotenv value by value; any other file whole) instead of an age file.")
        var sops = false

        @OptionGroup var recipients: RecipientOptions

        @Flag(help: "Print one JSON document instead of human output.")
        var json = false

        func run() throws {
            let plaintext: [UInt8]
            if let input, input != "-" {
                guard let data = FileManager.default.contents(atPath: input) else { throw CommandFailure("cannot read '\(input)'") }
                plaintext = [UInt8](data)
            } else {
                plaintext = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
            }
            let target = absolute(output ?? input ?? "-")
            let (keys, origin) = try recipients.resolve(for: target)
            let encrypted: String
            if sops {
                guard let text = String(validating: plaintext, as: UTF8.self) else { throw CommandFailure("the input is not UTF-8 text") }
                do {
                    encrypted = try SOPS.encrypt(text, path: output ?? input ?? "stdin.yaml", to: keys)
                } catch {
                    throw CommandFailure("cannot encrypt \(input ?? "standard input") as SOPS: \(error)")
                }
            } else {
                encrypted = Age.encrypt(plaintext, to: keys)
            }
            if let output {
                try writeAtomically(encrypted, to: output)
            } else if !json {
                Console.write(encrypted)
            }
            struct Result: Encodable {
                let output: String?; let ciphertext: String?; let format: String; let recipients: [String]; let recipientsFrom: String
            }
            if json {
                return try printJSON(
                    Result(
                        output: output, ciphertext: output == nil ? encrypted : nil, format: sops ? "sops" : "age",
                        recipients: keys.map(\.description), recipientsFrom: origin))
            }
            let summary = "encrypted \(sops ? "as SOPS " : "")for \(keys.count) recipient\(keys.count == 1 ? "" : "s") (\(origin))"
            Console.error(output.map { "\($0): \(summary)\n" } ?? "\(summary)\n")
        }
    }

    struct Edit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "edit",
            abstract: "Edit an encrypted file in $EDITOR and encrypt it again to the stack's recipients.",
            discussion: """
                Decrypts FILE (age, or SOPS by its content) with --age-identity or BERTH_AGE_IDENTITY into a private \
                directory (mode 0700, in /dev/shm when there is one), opens it in $VISUAL or $EDITOR (default vi), and \
                removes the directory afterwards, whatever happens. A FILE that does not exist yet starts empty; with --sops \
                it becomes a SOPS document.
                """)

        @Argument(help: "The encrypted file.", completion: .file())
        var file: String

        @Flag(help: "Create a SOPS document when FILE does not exist yet.")
        var sops = false

        @Option(
            name: .customLong("age-identity"), help: "An age identity file that decrypts FILE. Default: $BERTH_AGE_IDENTITY.", completion: .file())
        var ageIdentity: String?

        @OptionGroup var recipients: RecipientOptions

        @Flag(help: "Print one JSON document instead of human output.")
        var json = false

        func run() throws {
            let path = absolute(file)
            let existing = FileManager.default.contents(atPath: path).map { [UInt8]($0) }
            let isSOPS = existing.map(SOPS.isSOPS) ?? sops
            var plaintext = ""
            if let existing {
                let identities = try loadIdentities(ageIdentity)
                do {
                    if isSOPS {
                        plaintext = try SOPS.decrypt(existing, path: path, identities: identities).rendered()
                    } else {
                        plaintext = String(decoding: try Age.decrypt(existing, identities: identities), as: UTF8.self)
                    }
                } catch {
                    throw CommandFailure("cannot decrypt \(file): \(error)")
                }
            }
            let (keys, origin) = try recipients.resolve(for: path)
            let edited = try PrivateScratch.edit(
                plaintext, named: URL(fileURLWithPath: path).lastPathComponent.replacingOccurrences(of: ".age", with: ""))
            let changed = edited != plaintext || existing == nil
            if changed {
                let encrypted: String
                do {
                    encrypted = isSOPS ? try SOPS.encrypt(edited, path: path, to: keys) : Age.encrypt(Array(edited.utf8), to: keys)
                } catch {
                    throw CommandFailure("cannot encrypt \(file) as SOPS: \(error); nothing was written")
                }
                try writeAtomically(encrypted, to: path)
            }
            struct Result: Encodable { let file: String; let changed: Bool; let recipients: [String]; let recipientsFrom: String }
            if json { return try printJSON(Result(file: file, changed: changed, recipients: keys.map(\.description), recipientsFrom: origin)) }
            print(changed ? "\(file): encrypted for \(keys.count) recipient\(keys.count == 1 ? "" : "s") (\(origin))" : "\(file): unchanged")
        }
    }

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keygen",
            abstract: "Make an age identity (as age-keygen does) and print its public key for 'recipients:'.")

        @Option(name: .shortAndLong, help: "Where to write the identity (mode 0600; refused if it exists).", completion: .file())
        var output: String

        @Flag(help: "Print one JSON document instead of human output.")
        var json = false

        func run() throws {
            guard !FileManager.default.fileExists(atPath: output) else {
                throw CommandFailure("'\(output)' exists; Berth does not overwrite an identity")
            }
            let identity = AgeIdentity()
            let stamp = ISO8601DateFormatter().string(from: Date())
            let text = "# created: \(stamp)\n# public key: \(identity.recipient)\n\(identity.secretKeyText)\n"
            guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CommandFailure("cannot write '\(output)'")
            }
            struct Result: Encodable { let file: String; let recipient: String }
            if json { return try printJSON(Result(file: output, recipient: identity.recipient.description)) }
            print("public key: \(identity.recipient)")
        }
    }
}

/// The identities in the file `flag` names, else in `$BERTH_AGE_IDENTITY`.
func loadIdentities(_ flag: String?) throws -> [AgeIdentity] {
    guard let path = flag ?? ProcessInfo.processInfo.environment[EncryptedSecrets.identityVariable] else {
        throw CommandFailure("decrypting needs an age identity: pass --age-identity FILE or set BERTH_AGE_IDENTITY")
    }
    do {
        return try EncryptedSecrets.identities(at: path)
    } catch {
        throw CommandFailure(error.description)
    }
}

private func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

/// Writes through a temporary file in the same directory and a rename, so a reader never sees half a file.
private func writeAtomically(_ text: String, to path: String) throws {
    do {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw CommandFailure("cannot write '\(path)': \(error.localizedDescription)")
    }
}

import ArgumentParser
import BerthController
import BerthModel
import Foundation

extension Berth {
    /// Converts a Compose project into native manifests.
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Write native manifests from a Compose project: services, an environment, connections.",
            discussion: """
                Services keep what runs; .env and env_file values move into an Environment (secret-looking \
                names such as *PASSWORD* into secret files, mode 0600); a variable whose value names another \
                service (DB_HOST: db_instance) becomes a Connection. With --variant, another Compose project for \
                the same host (e.g. docker-compose.external-db.yml) becomes a profile. Before writing, the result \
                is resolved and compared with the Compose project: every container spec must hash the same.
                """)

        @Option(name: [.customShort("f"), .customLong("file")], help: "A Compose file (repeatable, merged in order).")
        var files: [String] = []
        @Option(name: .customLong("env-file"), help: "Variables for interpolation (repeatable). Default: .env next to the first file.")
        var envFiles: [String] = []
        @Option(name: [.customShort("p"), .customLong("project-name")], help: "The project name, which becomes the stack's name.")
        var projectName: String?
        @Option(name: .customLong("variant"), help: "Another project for the same host as NAME=FILE[,FILE…]; it becomes profile NAME.")
        var variants: [String] = []
        @Option(name: .customLong("base-variant"), help: "The profile name of the -f project when --variant is given.")
        var baseVariant = "base"
        @Option(name: [.customShort("o"), .customLong("output")], help: "The directory to write the stack to.", completion: .directory)
        var output: String
        @Flag(help: "Replace manifests already in the output directory.")
        var force = false
        @Flag(help: "Print one JSON document instead of human output.")
        var json = false

        func validate() throws {
            if files.isEmpty { throw ValidationError("give the Compose project with -f FILE") }
            for variant in variants where Self.split(variant) == nil {
                throw ValidationError("--variant takes NAME=FILE[,FILE…], e.g. external-db=docker-compose.external-db.yml")
            }
        }

        static func split(_ variant: String) -> (String, [String])? {
            let parts = variant.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
            return (parts[0], parts[1].split(separator: ",").map(String.init))
        }

        func run() throws {
            let environment = ProcessInfo.processInfo.environment
            let absolute = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.path }
            let outputDirectory = absolute(output)
            func project(_ files: [String]) throws -> ComposeProject {
                let options = ComposeOptions(files: files.map(absolute), envFiles: envFiles.map(absolute), projectName: projectName)
                let isSealed = { (path: String) in FileManager.default.contents(atPath: path).map { SealedFiles.isSealed([UInt8]($0)) } ?? false }
                let read = { (path: String) in try? String(contentsOfFile: path, encoding: .utf8) }
                let loaded = try Result { () throws(ManifestErrors) in
                    try ComposeLoader.load(options, environment: environment, isSealed: isSealed, read: read)
                }.mapError { ManifestFailure(errors: $0) }.get()
                // Written as a bind mount, an encrypted file would reach the service as ciphertext.
                if let sealed = loaded.stack.services.lazy.flatMap(\.sealedFiles).first {
                    throw CommandFailure(
                        "berth import: \(sealed.field) is encrypted (\(sealed.path)); import does not convert encrypted secret files: run the project with -f as it is, or declare the secret in the imported Environment as {age: …} or {sops: …} (docs/secrets.md)"
                    )
                }
                for warning in loaded.warnings { Console.error("warning: \(warning)\n") }
                return loaded
            }
            var inputs = [ComposeImport.Variant(name: baseVariant, project: try project(files))]
            for variant in variants {
                let (name, files) = Self.split(variant)!
                inputs.append(ComposeImport.Variant(name: name, project: try project(files)))
            }

            let result: ComposeImport.Result
            do {
                result = try ComposeImport.convert(inputs, outputDirectory: outputDirectory)
            } catch {
                throw fail("berth import: \(error)")
            }
            let (texts, problems) = ComposeImport.check(result, variants: inputs, environment: environment)
            guard problems.isEmpty else {
                throw fail(
                    "berth import: the imported stack would not run the same containers; nothing was written:\n  "
                        + problems.joined(separator: "\n  "))
            }

            let existing = (try? FileManager.default.contentsOfDirectory(atPath: outputDirectory)) ?? []
            let clashes = existing.filter { texts[$0] != nil }
            if !clashes.isEmpty && !force {
                throw fail("berth import: \(outputDirectory) already holds \(clashes.sorted().joined(separator: ", ")); pass --force to replace them")
            }
            try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
            for (name, text) in texts { try text.write(toFile: outputDirectory + "/" + name, atomically: true, encoding: .utf8) }
            for (name, value) in result.secretFiles {
                let path = outputDirectory + "/" + name
                try FileManager.default.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                _ = FileManager.default.createFile(atPath: path, contents: Data(value.utf8), attributes: [.posixPermissions: 0o600])
            }

            let containers = inputs.map { $0.project.stack.services.count }.reduce(0, +)
            if json {
                struct Summary: Encodable {
                    let stack: String; let directory: String; let files: [String]; let secretFiles: [String]; let notes: [String]
                    let variants: [String]; let verifiedServices: Int
                }
                try printJSON(
                    Summary(
                        stack: result.stack.name, directory: outputDirectory, files: texts.keys.sorted(),
                        secretFiles: result.secretFiles.keys.sorted(),
                        notes: result.notes, variants: inputs.map(\.name), verifiedServices: containers))
                return
            }
            print("imported \(result.stack.name) into \(output): \((texts.keys.sorted() + result.secretFiles.keys.sorted()).joined(separator: ", "))")
            for note in result.notes { print("  \(note)") }
            print(
                "verified: \(containers) service definition(s) across \(inputs.count) variant(s) resolve to the same container specs (hashes equal)"
            )
        }
    }
}

import ArgumentParser
import BerthController
import BerthEngine
import BerthModel
import BerthStore
import Foundation

/// Where a stack is read from: a directory of Berth manifests, or Compose files.
struct SourceOptions: ParsableArguments {
    @Argument(help: "The stack directory (its *.yaml files). Omit it when giving Compose files with -f.", completion: .directory)
    var directory: String?

    @Option(
        name: [.customShort("f"), .customLong("file")],
        help: "A Compose file instead of a stack directory (repeatable; later files override earlier ones, as in Compose).")
    var files: [String] = []

    @Option(name: .customLong("env-file"), help: "Compose: variables for interpolation (repeatable). Default: .env next to the first -f file.")
    var envFiles: [String] = []

    @Option(
        name: [.customShort("p"), .customLong("project-name")],
        help: "Compose: the project name (default as Compose: COMPOSE_PROJECT_NAME, name:, the directory).")
    var projectName: String?

    func validate() throws {
        if directory != nil && !files.isEmpty { throw ValidationError("give a stack directory or -f Compose files, not both") }
        if directory == nil && files.isEmpty { throw ValidationError("give a stack directory, or Compose files with -f") }
        if files.isEmpty && (!envFiles.isEmpty || projectName != nil) { throw ValidationError("--env-file and -p apply to Compose files (-f)") }
    }

    var source: StackSource {
        guard files.isEmpty else {
            let absolute = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.path }
            return .compose(ComposeOptions(files: files.map(absolute), envFiles: envFiles.map(absolute), projectName: projectName))
        }
        return .directory(directory ?? ".")
    }

    /// Loads and validates; warnings (ignored Compose keys, unset variables) go to stderr.
    func load() throws -> LoadedStack {
        do {
            let stack = try source.load()
            for warning in stack.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
            return stack
        } catch {
            throw ManifestFailure(errors: error)
        }
    }
}

/// The stack a command acts on and how to resolve it.
struct StackOptions: ParsableArguments {
    @OptionGroup var source: SourceOptions

    @Option(name: .customLong("profile"), help: "Activate a profile (repeatable). Default: the Stack's default_profiles.")
    var profiles: [String] = []

    @Option(name: [.customShort("e"), .long], help: "The Environment to resolve with. Default: the Stack's default_environment.")
    var environment: String?

    var reconcileOptions: ReconcileOptions {
        ReconcileOptions(
            processEnvironment: ProcessInfo.processInfo.environment, profiles: profiles.isEmpty ? nil : profiles, environment: environment)
    }

    func load() throws -> LoadedStack { try source.load() }
}

/// Where the reconcile log lives and how to print.
struct CommonOptions: ParsableArguments {
    @Option(help: "The SQLite state file. Default: $BERTH_STATE, else /var/lib/berth/berth.db as root, else $XDG_STATE_HOME/berth/berth.db.")
    var state: String?

    @Flag(help: "Print one JSON document instead of human output.")
    var json = false

    var statePath: String {
        if let state { return state }
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["BERTH_STATE"], !path.isEmpty { return path }
        if getuid() == 0 { return "/var/lib/berth/berth.db" }
        let base = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.local/state")
        return base + "/berth/berth.db"
    }

    func openStore(readOnly: Bool = false) throws -> ReconcileStore { try ReconcileStore(path: statePath, readOnly: readOnly) }
}

/// Manifest errors, printed one per line with file:line:column, exit status 1.
struct ManifestFailure: Error, CustomStringConvertible {
    let errors: ManifestErrors
    var description: String {
        let count = errors.errors.count
        return errors.description + "\n\(count) error\(count == 1 ? "" : "s") in the manifests; nothing was changed."
    }
}

/// Runs `body` with a connected Engine client, shutting it down afterwards.
/// - Parameter connecting: a connection started earlier (e.g. while manifests load), else one is opened now.
func withEngine<T>(_ connecting: Task<DockerClient, any Error>? = nil, _ body: (DockerClient) async throws -> T) async throws -> T {
    let client = try await (connecting ?? Task { try await DockerClient.connect() }).value
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// Prints a value as pretty, key-sorted JSON on stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Exits non-zero with the error printed to stderr, the way every command reports failure.
func fail(_ message: String, code: Int32 = 1) -> ExitCode {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    return ExitCode(code)
}

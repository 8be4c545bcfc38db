import ArgumentParser
import BerthController
import BerthEngine
import BerthModel
import BerthStore
import Foundation

/// Compose files given instead of a stack directory, and how to read them.
struct ComposeFileOptions: ParsableArguments {
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

    /// The stack in `directory`, or the Compose project when files were given.
    func source(directory: String?) -> StackSource {
        Self.source(files: files, envFiles: envFiles, projectName: projectName, directory: directory)
    }

    /// The Compose project of `files`; else the stack in `directory` (default: the current one),
    /// which is its `compose.yaml` (as `docker compose` finds it) when it holds no Berth manifests.
    static func source(files: [String], envFiles: [String], projectName: String?, directory: String?) -> StackSource {
        let directory = directory ?? "."
        let files = files.isEmpty ? StackSource.composeFiles(in: directory) : files
        guard files.isEmpty else {
            let absolute = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.path }
            return .compose(ComposeOptions(files: files.map(absolute), envFiles: envFiles.map(absolute), projectName: projectName))
        }
        return .directory(directory)
    }

}

/// Loads and validates; warnings (ignored Compose keys, unset variables) go to stderr.
func load(_ source: StackSource) throws -> LoadedStack {
    try checkDirectory(source)
    do {
        let stack = try source.load()
        for warning in stack.warnings { Console.error("warning: \(warning)\n") }
        return stack
    } catch {
        throw ManifestFailure(errors: error)
    }
}

/// Where a stack is read from: a directory of Berth manifests, or Compose files.
struct SourceOptions: ParsableArguments {
    @Argument(help: "The stack directory (its *.yaml files). Omit it when giving Compose files with -f.", completion: .directory)
    var directory: String?

    @OptionGroup var compose: ComposeFileOptions

    @Option(
        name: .customLong("age-identity"),
        help: "An age identity file (age-keygen's) that opens the stack's encrypted secrets. Default: $BERTH_AGE_IDENTITY.",
        completion: .file())
    var ageIdentity: String?

    func validate() throws {
        if directory != nil && !compose.files.isEmpty { throw ValidationError("give a stack directory or -f Compose files, not both") }
        // Loaders read the identity file's path from Berth's environment, where watch's reloads see it too.
        if let ageIdentity { setenv("BERTH_AGE_IDENTITY", URL(fileURLWithPath: ageIdentity).standardizedFileURL.path, 1) }
    }

    var source: StackSource { compose.source(directory: directory) }

    func load() throws -> LoadedStack { try berth.load(source) }
}

/// Refuses a stack directory that is not there, before it is read as manifests.
func checkDirectory(_ source: StackSource) throws {
    guard case .directory(let path) = source else { return }
    var isDirectory: ObjCBool = false
    if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        throw CommandFailure(
            "no stack directory '\(path)' (looked in \(FileManager.default.currentDirectoryPath)); give the directory of the stack's manifests, or Compose files with -f"
        )
    }
    if !isDirectory.boolValue {
        throw CommandFailure("'\(path)' is a file, not a stack directory; for a Compose file, give it with -f \(path)")
    }
}

/// The Compose files a service verb reads instead of the current directory's. They take
/// `--file` only: `-f` is `--follow` in `logs`, as in Compose.
struct ServiceFileOptions: ParsableArguments {
    @Option(name: .customLong("file"), help: "A Compose file instead of a stack directory (repeatable).")
    var files: [String] = []

    @Option(name: .customLong("env-file"), help: "Compose: variables for interpolation (repeatable).")
    var envFiles: [String] = []

    @Option(name: [.customShort("p"), .customLong("project-name")], help: "Compose: the project name.")
    var projectName: String?
}

/// A stack and some of its services, for the verbs that act on running containers (`ps`,
/// `logs`, `exec`, `stop`, …). As with `docker compose`, the stack is the current directory (its
/// manifests, or its `compose.yaml`) unless the first word is a directory or Compose files
/// are given.
struct ServiceTarget {
    let words: [String]
    let files: ServiceFileOptions

    /// The directory when the first word names one (and no --file was given).
    private var directory: String? {
        guard files.files.isEmpty, let first = words.first else { return nil }
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: first, isDirectory: &isDirectory) && isDirectory.boolValue ? first : nil
    }

    var services: [String] { Array(words.dropFirst(directory == nil ? 0 : 1)) }

    var source: StackSource {
        ComposeFileOptions.source(files: files.files, envFiles: files.envFiles, projectName: files.projectName, directory: directory)
    }

    /// Shell completion: the services of the stack the words name (a directory among them, else
    /// the current one), and the directories here.
    @Sendable static func completions(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        let directory = words.dropFirst().first { word in
            var isDirectory: ObjCBool = false
            return !word.hasPrefix("-") && FileManager.default.fileExists(atPath: word, isDirectory: &isDirectory) && isDirectory.boolValue
        }
        let source = ComposeFileOptions.source(files: [], envFiles: [], projectName: nil, directory: directory)
        let services = ((try? source.load())?.manifest.services.map(\.name) ?? []).sorted()
        let directories = ((try? FileManager.default.contentsOfDirectory(atPath: ".")) ?? []).filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: name, isDirectory: &isDirectory) && isDirectory.boolValue
        }.sorted()
        return (services + (directory == nil ? directories : [])).filter { $0.hasPrefix(prefix) }
    }

    /// The stack, and the services asked for, each checked against its manifests.
    /// - Throws: `CommandFailure` naming a service the stack does not have.
    func load() throws -> (stack: LoadedStack, services: [String]) {
        let stack = try berth.load(source)
        try checkServices(services, in: stack)
        return (stack, services)
    }
}

/// - Throws: `CommandFailure` naming a service `stack` does not have, and the closest it has.
func checkServices(_ services: [String], in stack: LoadedStack) throws {
    let known = stack.manifest.services.map(\.name)
    for service in services where !known.contains(service) {
        let guess = Suggestion.closest(to: service, in: known).map { "; did you mean '\($0)'?" } ?? ""
        throw CommandFailure("stack \(stack.name) has no service '\(service)'\(guess) (services: \(known.sorted().joined(separator: ", ")))")
    }
}

/// `[STACK_DIRECTORY] SERVICE…` as arguments, for the verbs that take services.
struct ServiceTargetOptions: ParsableArguments {
    @Argument(
        help: "[STACK_DIRECTORY] SERVICE…: the stack directory (default: the current one) and the services (default: all).",
        completion: .custom(ServiceTarget.completions))
    var arguments: [String] = []

    @OptionGroup var files: ServiceFileOptions

    var target: ServiceTarget { ServiceTarget(words: arguments, files: files) }

    func load() throws -> (stack: LoadedStack, services: [String]) { try target.load() }
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

    /// - Parameter concurrentReads: for `watch`, which serves reads while it writes.
    func openStore(readOnly: Bool = false, concurrentReads: Bool = false) throws -> ReconcileStore {
        try ReconcileStore(path: statePath, readOnly: readOnly, concurrentReads: concurrentReads)
    }
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

/// Prints a document as pretty, key-sorted JSON on stdout, with its `schemaVersion`: every
/// command's `--json` is a contract, described in docs/json/.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    Console.write(String(decoding: try encoder.encode(Versioned(document: value)), as: UTF8.self) + "\n")
}

/// One JSON object on one line, key-sorted, for the line-by-line streams (`logs`, `watch`,
/// `--progress json`); their objects carry `schemaVersion` themselves.
func jsonLine<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return ((try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}") + "\n"
}

/// The version of the `--json` documents; it changes only when a field changes meaning or goes.
let jsonSchemaVersion = 1

/// A document's own fields, plus `schemaVersion`.
private struct Versioned<Document: Encodable>: Encodable {
    let document: Document
    enum Key: String, CodingKey { case schemaVersion }
    func encode(to encoder: any Encoder) throws {
        try document.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(jsonSchemaVersion, forKey: .schemaVersion)
    }
}

/// Exits non-zero with the error printed to stderr, the way every command reports failure.
func fail(_ message: String, code: Int32 = 1) -> ExitCode {
    Console.error((message + "\n"))
    return ExitCode(code)
}

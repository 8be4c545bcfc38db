public import BerthModel
public import BerthStore
import Foundation

/// A stack read from disk: its manifests plus the env and secret files they name.
public struct LoadedStack: Sendable {
    public var manifest: StackManifest
    /// Contents of referenced env files and secret files, by absolute path.
    public var files: [String: String]
    /// Encrypted secret files and the identities that open them.
    public var sealed = SealedFiles()
    /// Digest of every manifest file, recorded with each reconcile.
    public var digest: String
    /// What was read but is not applied (Compose keys Berth ignores, unset variables).
    public var warnings: [ManifestError] = []
    /// Which file changes can change the desired state, for `watch`.
    public var watched: WatchedFiles
    /// The commit it was read from, when it came from a followed Git repository.
    public var origin: GitOrigin?

    public var name: String { manifest.name }

    /// What resolving this stack needs besides the choices: the files read and the keys to
    /// open the encrypted ones.
    public func request(
        profiles: [String]?, environment: String?, processEnvironment: [String: String], facts: NetworkFacts = NetworkFacts()
    ) -> ResolutionRequest {
        var request = ResolutionRequest(
            profiles: profiles, environment: environment, processEnvironment: processEnvironment, files: files, facts: facts)
        request.sealed = sealed
        return request
    }
}

/// The files whose edits matter to a stack: what `watch` reloads on.
public struct WatchedFiles: Sendable {
    /// Directories to watch (inotify watches directories, so new and replaced files are seen).
    public var directories: [String]
    /// File names that matter wherever they appear in those directories.
    public var names: Set<String>
    /// Whether any new `*.yaml` / `*.yml` matters too (a directory of Berth manifests).
    public var anyManifest: Bool

    public init(directories: [String], names: Set<String>, anyManifest: Bool) {
        self.directories = directories
        self.names = names
        self.anyManifest = anyManifest
    }

    /// Whether a change to the file named `name` can change what runs.
    public func matters(_ name: String) -> Bool {
        if names.contains(name) { return true }
        // Editors' swap and backup files are not manifests.
        if name.hasPrefix(".") || name.hasSuffix("~") || name.hasSuffix(".swp") { return false }
        return anyManifest && (name.hasSuffix(".yaml") || name.hasSuffix(".yml"))
    }
}

/// Where a stack's desired state is read from: a directory of Berth manifests, or a Compose
/// project (`-f` files), which resolves to the same kind of stack.
public enum StackSource: Sendable, Equatable {
    case directory(String)
    case compose(ComposeOptions)

    /// - Throws: `ManifestErrors` with every problem found (syntax, unknown keys, references, …).
    public func load() throws(ManifestErrors) -> LoadedStack { try load(environment: ProcessInfo.processInfo.environment) }

    /// - Parameter environment: the variables Compose files see besides `.env` (the "shell").
    public func load(environment: [String: String]) throws(ManifestErrors) -> LoadedStack {
        switch self {
        case .directory(let directory): try StackLoader.load(directory: directory, environment: environment)
        case .compose(let options): try StackLoader.load(compose: options, environment: environment)
        }
    }

    /// The Compose files `docker compose` reads in `directory` when given none: the first of its
    /// default names, and the matching override file. None when the directory holds Berth
    /// manifests (a YAML file with a top-level `kind:`): an imported stack may sit beside its
    /// Compose project.
    public static func composeFiles(in directory: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let isManifest = { (name: String) in
            (name.hasSuffix(".yaml") || name.hasSuffix(".yml"))
                && (FileHandle(forReadingAtPath: directory + "/" + name).flatMap { try? $0.read(upToCount: 65536) })
                    .map { String(decoding: $0, as: UTF8.self).split(separator: "\n").contains { $0.hasPrefix("kind:") } } == true
        }
        if entries.contains(where: isManifest) { return [] }
        let exists = { (name: String) in entries.contains(name) }
        for (file, override) in [
            ("compose.yaml", "compose.override.yaml"), ("compose.yml", "compose.override.yml"),
            ("docker-compose.yml", "docker-compose.override.yml"), ("docker-compose.yaml", "docker-compose.override.yaml"),
        ] where exists(file) {
            return [file, override].filter(exists).map { directory + "/" + $0 }
        }
        return []
    }

    /// The stack in `directory`: its Berth manifests, else the Compose project there.
    public static func inDirectory(_ directory: String) -> StackSource {
        let files = composeFiles(in: directory)
        return files.isEmpty ? .directory(directory) : .compose(ComposeOptions(files: files, envFiles: [], projectName: nil))
    }

    /// A name to log under when the manifests cannot be loaded.
    public var fallbackName: String {
        switch self {
        case .directory(let directory): URL(fileURLWithPath: directory).lastPathComponent
        case .compose(let options):
            ComposeProject.normalizedName(options.projectName ?? URL(fileURLWithPath: options.projectDirectory).lastPathComponent)
        }
    }

    /// The stack's name when it is settled before any file is read: a Compose project named by
    /// `-p`, or by `COMPOSE_PROJECT_NAME` in `environment` (which outranks `.env` and the file's
    /// `name:`). A command can then lock the stack and read the host while the files load.
    public func nameBeforeLoading(environment: [String: String]) -> String? {
        guard case .compose(let options) = self, let raw = options.projectName ?? environment["COMPOSE_PROJECT_NAME"] else { return nil }
        let name = ComposeProject.normalizedName(raw)
        return name.isEmpty ? nil : name
    }

    /// Where it lives, for messages.
    public var description: String {
        switch self {
        case .directory(let directory): directory
        case .compose(let options): options.files.map(StackLoader.displayPath).joined(separator: ", ")
        }
    }
}

/// Reads stacks from disk, then validates them.
public enum StackLoader {
    /// Reads a stack directory: every `*.yaml` / `*.yml` at its top level.
    /// - Throws: `ManifestErrors` with every problem found (syntax, unknown keys, references, …).
    public static func load(directory: String) throws(ManifestErrors) -> LoadedStack {
        try load(directory: directory, environment: ProcessInfo.processInfo.environment)
    }

    /// - Parameter environment: Berth's own environment, which names the age identity file.
    public static func load(directory: String, environment: [String: String]) throws(ManifestErrors) -> LoadedStack {
        let url = URL(fileURLWithPath: directory).standardizedFileURL
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: url.path)
        } catch {
            throw ManifestErrors([ManifestError.unreadable(directory, "cannot read stack directory: \(error.localizedDescription)")])
        }
        var texts: [String: String] = [:]
        var errors: [ManifestError] = []
        for entry in entries.sorted() where entry.hasSuffix(".yaml") || entry.hasSuffix(".yml") {
            let path = url.appendingPathComponent(entry).path
            let display = displayPath(path)
            do {
                let text = try TextFile.read(path)
                // A SOPS document beside the manifests holds secrets, not manifests.
                if SealedFiles.isSealed(Array(text.utf8)) && !text.split(separator: "\n").contains(where: { $0.hasPrefix("kind:") }) { continue }
                texts[display] = text
            } catch {
                errors.append(.unreadable(display, "cannot read: \(error)"))
            }
        }
        if texts.isEmpty && errors.isEmpty {
            errors.append(.unreadable(directory, "no *.yaml or *.yml manifests in this directory"))
        }
        var (manifest, parseErrors) = ManifestParser.parse(files: texts, directory: url.path)
        manifest.directory = url.path
        errors += parseErrors
        errors += StackValidator.validate(manifest)
        if !errors.isEmpty { throw ManifestErrors(errors) }
        var files: [String: String] = [:]
        let plain = Resolver.referencedFiles(manifest)
        let referenced = plain + Resolver.sealedFiles(manifest)
        for path in plain {
            if let text = try? TextFile.read(path) { files[path] = text }
        }
        let watched = WatchedFiles(
            directories: [url.path] + referenced.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path },
            names: Set(referenced.map { URL(fileURLWithPath: $0).lastPathComponent }), anyManifest: true)
        var stack = LoadedStack(
            manifest: manifest, files: files, digest: Digest.files(texts), warnings: StackValidator.swarmWarnings(manifest), watched: watched)
        stack.sealed = EncryptedSecrets.read(manifest, environment: environment)
        return stack
    }

    /// Reads a Compose project: its files, `.env` and `env_file`s.
    /// - Throws: `ManifestErrors` with every problem found, each naming its file and line.
    public static func load(compose options: ComposeOptions, environment: [String: String]) throws(ManifestErrors) -> LoadedStack {
        let project = try ComposeLoader.load(
            options, environment: environment, isSealed: { (try? TextFile.bytes($0)).map(SealedFiles.isSealed) ?? false },
            read: { try? TextFile.read($0) })
        let paths = Array(project.files.keys) + options.files + [options.projectDirectory + "/.env"] + Resolver.sealedFiles(project.stack)
        let watched = WatchedFiles(
            directories: Array(Set(paths.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path })).sorted(),
            names: Set(paths.map { URL(fileURLWithPath: $0).lastPathComponent }), anyManifest: false)
        var stack = LoadedStack(
            manifest: project.stack, files: project.files, digest: Digest.files(project.files),
            warnings: project.warnings + StackValidator.swarmWarnings(project.stack), watched: watched)
        stack.sealed = EncryptedSecrets.read(project.stack, environment: environment)
        return stack
    }

    /// Paths relative to the working directory when below it, as people typed them.
    static func displayPath(_ path: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath
        return path.hasPrefix(cwd + "/") ? String(path.dropFirst(cwd.count + 1)) : path
    }
}

import Foundation
import Yams

/// Reads a Compose project (files, `.env`, `env_file`s, `extends`) into a `StackManifest`.
///
/// Pure: files come through `read`. The steps follow Compose: variables from the env files (the
/// shell wins), each file parsed and its `extends` applied, files merged in order, then the merged
/// tree read into manifests. String values keep their `${…}` and are interpolated by `Resolver`
/// like native manifests (checked here, so errors point at file:line); values Berth reads as
/// numbers, booleans, durations or names (`init`, `restart`, `profiles`, `env_file`, network
/// settings, …) are interpolated here.
public enum ComposeLoader {
    /// - Parameters:
    ///   - environment: Berth's own process environment (the "shell" of Compose's precedence).
    ///   - isSealed: whether the file at an absolute path is encrypted (age or SOPS): such a
    ///     `file:` secret is decrypted and written into the container instead of bind-mounted.
    ///   - read: the text of a file by absolute path, or nil when it cannot be read.
    /// - Throws: `ManifestErrors` with every problem found.
    public static func load(
        _ options: ComposeOptions, environment: [String: String], isSealed: @escaping (String) -> Bool = { _ in false },
        read: @escaping (String) -> String?
    ) throws(ManifestErrors) -> ComposeProject {
        var loader = Loader(options: options, environment: environment, read: read)
        loader.isSealed = isSealed
        let project = loader.run()
        if !loader.errors.isEmpty { throw ManifestErrors(loader.errors) }
        return project
    }
}

/// One load, accumulating errors, warnings and the files it read.
struct Loader {
    let options: ComposeOptions
    let environment: [String: String]
    let read: (String) -> String?
    var isSealed: (String) -> Bool = { _ in false }
    var sourceMap = SourceMap()
    var errors: [ManifestError] = []
    var warnings: [ManifestError] = []
    var filesRead: [String: String] = [:]
    var envFileValues: [String: [String: String]] = [:]
    /// Parsed Compose files by absolute path (a file named by `extends` is parsed once).
    var parsed: [String: Node] = [:]
    /// `.env` values, for interpolation, below the shell's.
    var dotenv: [String: String] = [:]

    init(options: ComposeOptions, environment: [String: String], read: @escaping (String) -> String?) {
        self.options = options
        self.environment = environment
        self.read = read
    }

    var directory: String { options.projectDirectory }

    /// Interpolation scope: `.env` values, overridden by the process environment.
    var scope: [String: String] { dotenv.merging(environment) { _, shell in shell } }

    mutating func run() -> ComposeProject {
        readDotenv()
        var merged: Node?
        for file in options.files {
            guard let root = parseFile(file) else { continue }
            var including = [file]
            let resolved = applyIncludes(applyExtends(root, file: file), file: file, including: &including)
            merged = merged.map { merge(project: $0, resolved) } ?? resolved
        }
        let projectName = chooseName(merged)
        var stack = StackManifest(name: projectName, directory: directory)
        stack.undefinedVariablesAreBlank = true
        stack.environments = [
            EnvironmentManifest(
                name: ComposeProject.environmentName, variables: dotenv,
                locations: FieldLocations(document: SourceLocation(file: options.envFiles.first ?? ".env", line: 1, column: 1)))
        ]
        stack.defaultEnvironment = ComposeProject.environmentName
        if let merged {
            let reader = ComposeReader(
                reader: NodeReader(sourceMap: sourceMap), project: projectName, directory: directory, scope: scope, read: read)
            reader.isSealed = isSealed
            reader.read(merged, into: &stack)
            errors += reader.reader.errors
            warnings += reader.warnings
            for (path, text) in reader.filesRead { filesRead[path] = text }
            envFileValues = reader.envFileValues
        }
        let profiles = scope["COMPOSE_PROFILES"]?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? []
        stack.profiles = Array(Set(stack.services.flatMap(\.profiles) + profiles.filter { !$0.isEmpty })).sorted()
        stack.defaultProfiles = profiles.filter { !$0.isEmpty }
        stack.sources = filesRead
        if errors.isEmpty { errors += StackValidator.validate(stack) }
        var project = ComposeProject(stack: stack, warnings: Self.unique(warnings), files: filesRead)
        project.envFileValues = envFileValues
        project.scope = scope
        return project
    }

    static func unique(_ warnings: [ManifestError]) -> [ManifestError] {
        var seen = Set<String>()
        return warnings.filter { seen.insert($0.description).inserted }.sorted { ManifestError.inFileOrder($0, $1) }
    }

    // MARK: Variables

    /// `--env-file`s (required) or the project's `.env` (optional), each able to refer to the
    /// entries above it and to the shell.
    mutating func readDotenv() {
        let explicit = !options.envFiles.isEmpty
        for path in explicit ? options.envFiles : [directory + "/.env"] {
            guard let text = read(path) else {
                if explicit { errors.append(.unreadable(path, "cannot read env file")) }
                continue
            }
            filesRead[path] = text
            let known = dotenv
            let shell = environment
            let (values, failures) = EnvFile.expand(text) { known[$0] ?? shell[$0] }
            for (key, value) in values { dotenv[key] = value }
            for failure in failures {
                errors.append(
                    ManifestError(.undefinedVariable, at: SourceLocation(file: path, line: failure.line, column: 1), field: nil, failure.message))
            }
        }
    }

    // MARK: Files

    static let topLevelKeys = ["version", "name", "services", "networks", "volumes", "secrets", "configs", "include", "models", "x-berth"]

    /// Parses one file (once) with its lines shifted into the project's source map.
    mutating func parseFile(_ path: String) -> Node? {
        if let node = parsed[path] { return node }
        guard let text = read(path) else {
            errors.append(.unreadable(path, "cannot read Compose file"))
            return nil
        }
        filesRead[path] = text
        let shifted = sourceMap.add(path, text: text)
        let node: Node
        do {
            // No implicit typing (bool, int, timestamp…): every scalar is read as text anyway, and
            // regex-based tag resolution is most of the cost of parsing a large file.
            node = try Yams.compose(yaml: shifted, Yams.Resolver.basic) ?? Node.mapping(Node.Mapping([], ComposeMerge.plainTag))
        } catch let error as YamlError {
            var located = ManifestParser.syntaxError(error, file: path, text: shifted)
            if let location = located.location {
                located = ManifestError(.syntax, at: sourceMap.location(line: location.line, column: location.column), field: nil, located.message)
            }
            errors.append(located)
            return nil
        } catch {
            errors.append(ManifestError(.syntax, at: SourceLocation(file: path, line: 1, column: 1), field: nil, "\(error)"))
            return nil
        }
        let reader = NodeReader(sourceMap: sourceMap)
        if let beyond = ExpansionLimit.firstBeyond(node) {
            reader.fail(.outOfRange, beyond, nil, ExpansionLimit.message)
            errors += reader.errors
            return nil
        }
        guard case .mapping(let mapping) = ComposeMerge.flattened(node) else {
            reader.fail(.wrongType, node, nil, "a Compose file is a mapping with 'services:', found \(reader.kind(node))")
            errors += reader.errors
            return nil
        }
        var pairs: [(Node, Node)] = []
        for (key, value) in mapping {
            let name = key.string ?? ""
            // Extension fields: for anchors, ignored by Compose too; `x-berth` is Berth's own.
            if name.hasPrefix("x-") && name != "x-berth" { continue }
            if !Self.topLevelKeys.contains(name) {
                let hint = nearest(name, in: Self.topLevelKeys).map { " (did you mean '\($0)'?)" } ?? ""
                reader.fail(.unknownKey, key, name, "unknown top-level key '\(name)'\(hint)")
                continue
            }
            if name == "services", case .mapping(let services) = value {
                let normalized = services.map { ($0.key, ComposeMerge.normalizedService($0.value)) }
                pairs.append((key, .mapping(Node.Mapping(normalized, services.tag, services.style, services.mark))))
            } else {
                pairs.append((key, value))
            }
        }
        errors += reader.errors
        let root = Node.mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark))
        parsed[path] = root
        return root
    }

    /// Merges a later file into the project: services, networks and volumes entry by entry.
    func merge(project base: Node, _ override: Node) -> Node {
        guard case .mapping(let baseMap) = base, case .mapping(let overrideMap) = override else { return override }
        var pairs: [(Node, Node)] = []
        var seen = Set<String>()
        for (key, value) in baseMap {
            let name = key.string ?? ""
            seen.insert(name)
            guard let next = overrideMap[name] else {
                pairs.append((key, value))
                continue
            }
            if case .mapping(let old) = value, case .mapping(let new) = next, ["services", "networks", "volumes"].contains(name) {
                var entries: [(Node, Node)] = []
                var entrySeen = Set<String>()
                for (entryKey, entry) in old {
                    entrySeen.insert(entryKey.string ?? "")
                    if let replacement = new[entryKey.string ?? ""] {
                        if ComposeMerge.isReset(replacement) { continue }
                        entries.append((entryKey, ComposeMerge.merge(entry, replacement, path: "")))
                    } else {
                        entries.append((entryKey, entry))
                    }
                }
                for (entryKey, entry) in new where !entrySeen.contains(entryKey.string ?? "") { entries.append((entryKey, entry)) }
                pairs.append((key, .mapping(Node.Mapping(entries, old.tag, old.style, old.mark))))
            } else {
                pairs.append((key, next))
            }
        }
        for (key, value) in overrideMap where !seen.contains(key.string ?? "") { pairs.append((key, value)) }
        return .mapping(Node.Mapping(pairs, baseMap.tag, baseMap.style, baseMap.mark))
    }

    // MARK: extends

    /// Replaces each service that `extends` another (in this file or another) by the merge of the
    /// two, the extending service's own values winning.
    mutating func applyExtends(_ root: Node, file: String) -> Node {
        guard case .mapping(var mapping) = root,
            case .mapping(var services) = mapping["services"] ?? Node.mapping(Node.Mapping([], ComposeMerge.plainTag))
        else {
            return root
        }
        for (key, service) in services where service.mapping?["extends"] != nil {
            guard let name = key.string else { continue }
            var visiting: [String] = []
            if let resolved = resolvedService(name, file: file, visiting: &visiting) { services[name] = resolved }
        }
        mapping["services"] = .mapping(services)
        return .mapping(mapping)
    }

    /// A service with its `extends` chain applied, or nil when it cannot be found.
    mutating func resolvedService(_ name: String, file: String, visiting: inout [String]) -> Node? {
        guard let root = parseFile(file), let service = root.mapping?["services"]?.mapping?[name] else { return nil }
        guard case .mapping(var own) = service, let extends = own["extends"] else { return service }
        let reader = NodeReader(sourceMap: sourceMap)
        defer { errors += reader.errors }
        let key = "\(file)#\(name)"
        if visiting.contains(key) {
            reader.fail(.dependencyCycle, extends, "\(name).extends", "extends cycle: \((visiting + [key]).joined(separator: " → "))")
            return nil
        }
        visiting.append(key)
        var baseName: String?
        var baseFile = file
        if let text = extends.scalar?.string {
            baseName = Interpolate.eager(text, scope: scope, reader: reader, node: extends, field: "\(name).extends")
        } else if let map = reader.mapping(extends, "\(name).extends", allowed: ["service", "file"]) {
            baseName = map["service"].flatMap { reader.string($0, "\(name).extends.service") }
            if map["service"] == nil { reader.fail(.missingField, extends, "\(name).extends.service", "required field 'service' is missing") }
            if let fileNode = map["file"], let path = reader.string(fileNode, "\(name).extends.file") {
                baseFile = MountParser.absolute(
                    Interpolate.eager(path, scope: scope, reader: reader, node: fileNode, field: "\(name).extends.file"),
                    directory: URL(fileURLWithPath: file).deletingLastPathComponent().path)
            }
        }
        guard let baseName else { return nil }
        guard var base = resolvedService(baseName, file: baseFile, visiting: &visiting) else {
            if parsed[baseFile] != nil {
                reader.fail(.unknownReference, extends, "\(name).extends", "extends unknown service '\(baseName)' in \(baseFile)")
            }
            return nil
        }
        own["extends"] = nil
        let baseDirectory = URL(fileURLWithPath: baseFile).deletingLastPathComponent().standardizedFileURL.path
        if baseDirectory != directory { base = ComposePaths.rebased(service: base, from: baseDirectory) }
        return ComposeMerge.merge(base, .mapping(own), path: "")
    }

    // MARK: Project name

    /// `-p`, then `COMPOSE_PROJECT_NAME`, then the top-level `name:`, then the directory's name.
    mutating func chooseName(_ merged: Node?) -> String {
        let reader = NodeReader(sourceMap: sourceMap)
        defer { errors += reader.errors }
        var raw = options.projectName ?? scope["COMPOSE_PROJECT_NAME"]
        if raw == nil, let node = merged?.mapping?["name"], let text = reader.string(node, "name") {
            raw = Interpolate.eager(text, scope: scope, reader: reader, node: node, field: "name")
        }
        let name = ComposeProject.normalizedName(raw ?? URL(fileURLWithPath: directory).lastPathComponent)
        if name.isEmpty {
            errors.append(
                ManifestError(
                    .invalidValue, at: nil, field: "name",
                    "project name '\(raw ?? directory)' has no letters or digits; give one with -p or a top-level 'name:'"))
        }
        return name
    }
}

/// Interpolation with Compose's rules while loading: unset variables become empty and are
/// reported once as warnings by whoever collects them.
enum Interpolate {
    /// One interpolation: the value and the unset variables it used as plain `$VAR` / `${VAR}`.
    static func expand(_ text: String, scope: [String: String]) -> Result<(text: String, blanked: [String]), InterpolationFailure> {
        /// Filled synchronously by the interpolation below, never shared across tasks.
        final class Names: @unchecked Sendable { var list: [String] = [] }
        let names = Names()
        do {
            let value = try Interpolator(scope, undefined: .blank({ names.list.append($0) })).interpolate(text)
            return .success((value.text, names.list))
        } catch {
            return .failure(error)
        }
    }

    /// The interpolated value; a failure is recorded on `reader` at `node`.
    static func eager(_ text: String, scope: [String: String], reader: NodeReader, node: Node, field: String) -> String {
        switch expand(text, scope: scope) {
        case .success(let result): return result.text
        case .failure(let error):
            reader.fail(.undefinedVariable, node, field, error.message)
            return text
        }
    }

    /// Names of the unset variables `text` uses as plain `$VAR` / `${VAR}`.
    static func blanked(_ text: String, scope: [String: String]) -> [String] {
        (try? expand(text, scope: scope).get().blanked) ?? []
    }
}

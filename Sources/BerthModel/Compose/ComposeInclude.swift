import Foundation
import Yams

/// `include:` as the Compose Specification has it: each entry is a Compose application of its
/// own (one file, or several merged in order), read with its own project directory (the first
/// file's, or `project_directory`) and its own variables (`env_file`, or the `.env` there, under
/// the including project's, which win). Its services, networks, volumes, secrets and configs join
/// the including file; a name both define is an error.
///
/// Berth takes the included application in final form: interpolated with its variables, and its
/// relative paths made absolute against its directory, so the rest of the load treats its
/// services like any other.
extension Loader {
    static let includedSections = ["services", "networks", "volumes", "secrets", "configs"]

    mutating func applyIncludes(_ root: Node, file: String, including: inout [String]) -> Node {
        guard case .mapping(var mapping) = root, let include = mapping["include"] else { return root }
        mapping["include"] = nil
        let reader = NodeReader(sourceMap: sourceMap)
        defer { errors += reader.errors }
        guard let entries = reader.sequence(include, "include") else { return .mapping(mapping) }
        let fileDirectory = URL(fileURLWithPath: file).deletingLastPathComponent().standardizedFileURL.path
        for (index, entry) in entries.enumerated() {
            let field = "include[\(index)]"
            var paths: [(Node, String)] = []
            var projectDirectory: String?
            var envFiles: [(Node, String)] = []
            if let text = entry.scalar?.string {
                paths = [(entry, text)]
            } else if let map = reader.mapping(entry, field, allowed: ["path", "project_directory", "env_file"]) {
                guard let node = reader.required(map, "path", field, in: entry) else { continue }
                paths = strings(node, "\(field).path", reader)
                if let node = map["project_directory"], let text = reader.string(node, "\(field).project_directory") {
                    projectDirectory = MountParser.absolute(eager(text, node, "\(field).project_directory", reader), directory: fileDirectory)
                }
                if let node = map["env_file"] { envFiles = strings(node, "\(field).env_file", reader) }
            }
            let files = paths.map { node, text in (node, MountParser.absolute(eager(text, node, "\(field).path", reader), directory: fileDirectory)) }
            guard let first = files.first else { continue }
            if let cycle = files.first(where: { including.contains($0.1) }) {
                reader.fail(.dependencyCycle, cycle.0, field, "include cycle: \((including + [cycle.1]).joined(separator: " → "))")
                continue
            }
            let directory = projectDirectory ?? URL(fileURLWithPath: first.1).deletingLastPathComponent().standardizedFileURL.path
            let envPaths = envFiles.map { MountParser.absolute(eager($0.1, $0.0, "\(field).env_file", reader), directory: fileDirectory) }
            let scope = includedScope(envPaths.isEmpty ? [directory + "/.env"] : envPaths, required: !envPaths.isEmpty, at: entry)
            guard let included = includedApplication(files.map(\.1), directory: directory, scope: scope, including: &including) else { continue }
            mapping = merged(included, into: mapping, at: entry, field: field, reader)
        }
        return .mapping(mapping)
    }

    /// The included files merged in order, each with its own includes and extends applied, then
    /// interpolated and its paths made absolute.
    private mutating func includedApplication(_ files: [String], directory: String, scope: [String: String], including: inout [String])
        -> Node.Mapping?
    {
        var merged: Node?
        for file in files {
            guard let root = parseFile(file) else { return nil }
            including.append(file)
            let resolved = applyIncludes(applyExtends(root, file: file), file: file, including: &including)
            including.removeLast()
            merged = merged.map { merge(project: $0, resolved) } ?? resolved
        }
        guard let merged, case .mapping(var mapping) = interpolated(merged, scope: scope) else { return nil }
        if case .mapping(var services) = mapping["services"] {
            for (key, service) in services { services[key] = ComposePaths.rebased(service: service, from: directory) }
            mapping["services"] = .mapping(services)
        }
        for section in ["secrets", "configs"] {
            if let node = mapping[section] { mapping[section] = ComposePaths.rebased(definitions: node, from: directory) }
        }
        return mapping
    }

    /// The included application's variables: its env files, under the including project's.
    private mutating func includedScope(_ paths: [String], required: Bool, at node: Node) -> [String: String] {
        var values: [String: String] = [:]
        let shell = scope
        for path in paths {
            guard let text = read(path) else {
                if required { errors.append(.unreadable(path, "cannot read env file")) }
                continue
            }
            filesRead[path] = text
            let known = values
            let (entries, failures) = EnvFile.expand(text) { shell[$0] ?? known[$0] }
            for (key, value) in entries { values[key] = value }
            for failure in failures {
                errors.append(
                    ManifestError(.undefinedVariable, at: SourceLocation(file: path, line: failure.line, column: 1), field: nil, failure.message))
            }
        }
        return values.merging(shell) { _, including in including }
    }

    /// Each section's entries added to `mapping`; a name already there is an error at the include.
    private func merged(_ included: Node.Mapping, into mapping: Node.Mapping, at entry: Node, field: String, _ reader: NodeReader)
        -> Node.Mapping
    {
        var mapping = mapping
        for section in Self.includedSections {
            guard case .mapping(let additions) = included[section] else { continue }
            guard case .mapping(var existing) = mapping[section] ?? .mapping(Node.Mapping([], ComposeMerge.plainTag)) else { continue }
            for (key, value) in additions {
                let name = key.string ?? ""
                if existing[name] != nil {
                    reader.fail(
                        .duplicateName, entry, field,
                        "\(section) '\(name)' is defined both by the included file and by the file that includes it; rename one of them")
                    continue
                }
                existing[name] = value
            }
            mapping[section] = .mapping(existing)
        }
        return mapping
    }

    private func strings(_ node: Node, _ field: String, _ reader: NodeReader) -> [(Node, String)] {
        if let text = node.scalar?.string { return [(node, text)] }
        guard let items = reader.sequence(node, field) else { return [] }
        return items.enumerated().compactMap { index, item in reader.string(item, "\(field)[\(index)]").map { (item, $0) } }
    }

    private func eager(_ text: String, _ node: Node, _ field: String, _ reader: NodeReader) -> String {
        Interpolate.eager(text, scope: scope, reader: reader, node: node, field: field)
    }

    /// Every scalar value interpolated with `scope` and escaped again, so the values are final.
    private mutating func interpolated(_ node: Node, scope: [String: String]) -> Node {
        let reader = NodeReader(sourceMap: sourceMap)
        defer { errors += reader.errors }
        func walk(_ node: Node) -> Node {
            switch node {
            case .scalar(let scalar):
                guard scalar.string.unicodeScalars.contains("$") else { return node }
                let text = Interpolate.eager(scalar.string, scope: scope, reader: reader, node: node, field: "")
                return .scalar(Node.Scalar(ComposeReader.literal(text), scalar.tag, scalar.style, scalar.mark))
            case .mapping(let map):
                return .mapping(Node.Mapping(map.map { ($0.key, walk($0.value)) }, map.tag, map.style, map.mark))
            case .sequence(let sequence):
                return .sequence(Node.Sequence(sequence.map(walk), sequence.tag, sequence.style, sequence.mark))
            default:
                return node
            }
        }
        return walk(node)
    }
}

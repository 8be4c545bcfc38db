import Yams

/// Relative paths of a service written in another directory than the project's: an extended
/// file's (`extends: {file: …}`) or an included project's. Compose resolves them against the
/// directory of the file that wrote them; Berth resolves every relative path against the project
/// directory, so they are made absolute where they are read, before the service joins the project.
enum ComposePaths {
    /// `service` (a normalized service mapping) with its build context, bind sources and env files
    /// made absolute against `directory`. Values holding `${…}` are left as written.
    static func rebased(service: Node, from directory: String) -> Node {
        guard case .mapping(var map) = service else { return service }
        if case .mapping(var build) = map["build"] {
            build["context"] = rebased(build["context"] ?? ComposeMerge.text(".", build.mark), directory)
            map["build"] = .mapping(build)
        }
        if case .sequence(let files) = map["env_file"] {
            map["env_file"] = .sequence(Node.Sequence(files.map { entry(in: $0, key: "path", directory) }, files.tag, files.style, files.mark))
        }
        if case .sequence(let volumes) = map["volumes"] {
            let items = volumes.map { item -> Node in
                if let text = item.scalar?.string { return shortMount(item, text, directory) }
                guard case .mapping(let mount) = item, mount["type"]?.string ?? "volume" == "bind" else { return item }
                return entry(in: item, key: "source", directory)
            }
            map["volumes"] = .sequence(Node.Sequence(items, volumes.tag, volumes.style, volumes.mark))
        }
        return .mapping(map)
    }

    /// Top-level `secrets` / `configs` definitions with their `file` made absolute.
    static func rebased(definitions: Node, from directory: String) -> Node {
        guard case .mapping(var map) = definitions else { return definitions }
        for (key, value) in map where value.mapping?["file"] != nil {
            map[key] = entry(in: value, key: "file", directory)
        }
        return .mapping(map)
    }

    /// A scalar, or a mapping's `key`, made absolute.
    private static func entry(in node: Node, key: String, _ directory: String) -> Node {
        guard case .mapping(var map) = node else { return rebased(node, directory) }
        if let value = map[key] { map[key] = rebased(value, directory) }
        return .mapping(map)
    }

    private static func shortMount(_ node: Node, _ text: String, _ directory: String) -> Node {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let source = parts.first.map(String.init), isRelative(source) else { return node }
        return replaced(node, MountParser.absolute(source, directory: directory) + ":" + parts[1])
    }

    private static func rebased(_ node: Node, _ directory: String) -> Node {
        guard let text = node.scalar?.string, !text.isEmpty, !text.hasPrefix("/"), !text.hasPrefix("~"), !text.unicodeScalars.contains("$") else {
            return node
        }
        return replaced(node, MountParser.absolute(text, directory: directory))
    }

    /// `./x`, `../x`, `.`: the short syntax's only way of naming a relative host path.
    private static func isRelative(_ path: String) -> Bool { path == "." || path == ".." || path.hasPrefix("./") || path.hasPrefix("../") }

    private static func replaced(_ node: Node, _ text: String) -> Node {
        guard case .scalar(let scalar) = node else { return node }
        return .scalar(Node.Scalar(ComposeReader.literal(text), scalar.tag, scalar.style, scalar.mark))
    }
}

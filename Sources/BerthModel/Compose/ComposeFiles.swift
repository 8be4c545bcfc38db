import Yams

/// Compose's `secrets` and `configs`: files a service sees at a path of its own. On a single host
/// Compose bind-mounts the file read-only (secrets under `/run/secrets/`, configs at `/<name>` by
/// default), and so does Berth. Berth never reads the file, so its content reaches no plan, log or
/// history; only its path does.
///
/// Sources that are not a file (`environment`, `content`, `external`) and per-file ownership
/// (`uid`, `gid`, `mode`) need the file copied into the container, which Berth does not do: they
/// are refused where they are written.
struct ComposeFiles {
    enum Kind: String, CaseIterable {
        case secrets, configs

        /// Where a file goes when the service names no target, and what a relative target is under.
        var base: String { self == .secrets ? "/run/secrets/" : "/" }
        var singular: String { self == .secrets ? "secret" : "config" }
    }

    unowned let reader: ComposeReader
    /// Per kind, each defined name with the node that defined it and its absolute file, when valid.
    private var definitions: [Kind: [String: (node: Node, file: String?)]] = [:]
    private var used: [Kind: Set<String>] = [:]

    init(reader: ComposeReader, root: Node.Mapping) {
        self.reader = reader
        for kind in Kind.allCases {
            guard let node = root[kind.rawValue], let entries = reader.reader.entries(node, kind.rawValue) else { continue }
            for (name, value) in entries { definitions[kind, default: [:]][name] = (value, file(kind, name, value)) }
        }
    }

    /// The file of one top-level definition, or nil (reported) when it is not a file.
    private func file(_ kind: Kind, _ name: String, _ node: Node) -> String? {
        let field = "\(kind.rawValue).\(name)"
        let unsupported = ["environment", "content", "external", "driver", "driver_opts", "template_driver"]
        guard let map = reader.checkKeys(node, field, supported: ["file", "name"], ignored: ["labels": ""], unsupported: unsupported) else {
            return nil
        }
        guard let fileNode = map["file"] else {
            if map.isEmpty, case .mapping(let pairs) = node, let key = pairs.first?.key {
                reader.reader.fail(
                    .unknownKey, key, "\(field).\(key.string ?? "")",
                    "only \(kind.singular)s from a 'file' are supported; Berth would have to copy this one into the container")
            } else if map.isEmpty {
                reader.reader.fail(.missingField, node, "\(field).file", "a \(kind.singular) needs 'file'")
            }
            return nil
        }
        guard let path = reader.eager(fileNode, "\(field).file") else { return nil }
        if WindowsPath.isWindows(path) {
            reader.reader.fail(.invalidValue, fileNode, "\(field).file", WindowsPath.message(path))
            return nil
        }
        return MountParser.absolute(path, directory: reader.directory)
    }

    /// The read-only bind mounts for a service's `secrets:` or `configs:` list.
    mutating func mounts(_ kind: Kind, _ node: Node, service: String) -> [MountManifest] {
        let field = "\(service).\(kind.rawValue)"
        guard let items = reader.reader.sequence(node, field) else { return [] }
        var mounts: [MountManifest] = []
        for (index, item) in items.enumerated() {
            let path = "\(field)[\(index)]"
            var sourceNode = item
            var target: String?
            if case .mapping = item {
                let ownership = ["uid", "gid", "mode"]
                guard let map = reader.checkKeys(item, path, supported: ["source", "target"], unsupported: ownership),
                    let node = reader.reader.required(map, "source", path, in: item)
                else { continue }
                sourceNode = node
                target = map["target"].flatMap { reader.eager($0, "\(path).target") }
            }
            guard let source = reader.eager(sourceNode, path) else { continue }
            guard let definition = definitions[kind]?[source] else {
                reader.reader.fail(
                    .unknownReference, sourceNode, path, "undefined \(kind.singular) '\(source)': add it under top-level '\(kind.rawValue):'")
                continue
            }
            used[kind, default: []].insert(source)
            guard let file = definition.file else { continue }
            let name = target ?? source
            let absoluteTarget = name.hasPrefix("/") ? name : kind.base + name
            mounts.append(.long(type: "bind", source: ComposeReader.literal(file), target: ComposeReader.literal(absoluteTarget), readOnly: true))
        }
        return mounts
    }

    /// A definition no service uses is most likely a typo in a service's list: said, not fatal.
    func reportUnused() {
        for kind in Kind.allCases {
            for (name, definition) in definitions[kind] ?? [:] where !(used[kind] ?? []).contains(name) {
                reader.warn(definition.node, "\(kind.rawValue).\(name)", "\(kind.singular) '\(name)' is defined but no service uses it")
            }
        }
    }
}

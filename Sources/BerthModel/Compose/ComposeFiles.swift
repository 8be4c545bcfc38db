import Yams

/// Compose's `secrets` and `configs`: files a service sees at a path of its own. On a single host
/// Compose bind-mounts a `file` source read-only (secrets under `/run/secrets/`, configs at
/// `/<name>` by default), and so does Berth, never reading the file. An `environment` source (a
/// variable of the project's environment) or a config's inline `content` has no file on the host:
/// Berth writes it into the container after creating it and before starting it, with the service's
/// `uid`, `gid` and `mode`, as Compose does. A secret's value is kept like Berth's own secrets:
/// in no plan, log or history, only its digest.
///
/// A `file` that is encrypted (age, or a SOPS document) is not bind-mounted: its plaintext would
/// have to sit on the host. It is decrypted at resolution and written into the container like an
/// `environment` source, so the same project runs with its secrets committed encrypted.
///
/// `external` sources (Swarm objects) and ownership for a bind-mounted file are refused where
/// they are written.
struct ComposeFiles {
    enum Kind: String, CaseIterable {
        case secrets, configs

        /// Where a file goes when the service names no target, and what a relative target is under.
        var base: String { self == .secrets ? "/run/secrets/" : "/" }
        var singular: String { self == .secrets ? "secret" : "config" }
    }

    /// Where one definition's content comes from.
    enum Source {
        case file(String)
        case content(String)
        /// An encrypted file, decrypted at resolution.
        case sealed(String)
    }

    /// What a service's `secrets:` or `configs:` list adds to it.
    struct Uses {
        var mounts: [MountManifest] = []
        var files: [FileSpec] = []
        var sealed: [SealedFileUse] = []
    }

    unowned let reader: ComposeReader
    /// Per kind, each defined name with the node that defined it and its absolute file, when valid.
    private var definitions: [Kind: [String: (node: Node, source: Source?)]] = [:]
    private var used: [Kind: Set<String>] = [:]

    init(reader: ComposeReader, root: Node.Mapping) {
        self.reader = reader
        for kind in Kind.allCases {
            guard let node = root[kind.rawValue], let entries = reader.reader.entries(node, kind.rawValue) else { continue }
            for (name, value) in entries { definitions[kind, default: [:]][name] = (value, source(kind, name, value)) }
        }
    }

    /// The source of one top-level definition, or nil (reported) when it has none Berth can use.
    private func source(_ kind: Kind, _ name: String, _ node: Node) -> Source? {
        let field = "\(kind.rawValue).\(name)"
        let sources = kind == .configs ? ["file", "environment", "content"] : ["file", "environment"]
        let unsupported = ["external", "driver", "driver_opts", "template_driver"] + (kind == .secrets ? ["content"] : [])
        guard let map = reader.checkKeys(node, field, supported: sources + ["name"], ignored: ["labels": ""], unsupported: unsupported) else {
            return nil
        }
        let given = sources.filter { map[$0] != nil }
        guard given.count == 1, let key = given.first, let valueNode = map[key] else {
            let problem = given.isEmpty ? "needs one of" : "takes only one of"
            reader.reader.fail(.missingField, node, field, "a \(kind.singular) \(problem) \(sources.joined(separator: ", "))")
            return nil
        }
        guard let value = reader.eager(valueNode, "\(field).\(key)") else { return nil }
        switch key {
        case "environment":
            guard let content = reader.scope[value] else {
                reader.reader.fail(
                    .unknownReference, valueNode, "\(field).environment",
                    "variable '\(value)' is not set in the project's environment (the shell or .env)")
                return nil
            }
            return .content(content)
        case "content":
            return .content(value)
        default:
            if WindowsPath.isWindows(value) {
                reader.reader.fail(.invalidValue, valueNode, "\(field).file", WindowsPath.message(value))
                return nil
            }
            let path = MountParser.absolute(value, directory: reader.directory)
            return reader.isSealed(path) ? .sealed(path) : .file(path)
        }
    }

    /// The bind mounts and written files for a service's `secrets:` or `configs:` list.
    mutating func uses(_ kind: Kind, _ node: Node, service: String) -> Uses {
        let field = "\(service).\(kind.rawValue)"
        guard let items = reader.reader.sequence(node, field) else { return Uses() }
        var uses = Uses()
        for (index, item) in items.enumerated() {
            let path = "\(field)[\(index)]"
            var sourceNode = item
            var target: String?
            var ownership: [String: Node] = [:]
            if case .mapping = item {
                guard let map = reader.checkKeys(item, path, supported: ["source", "target", "uid", "gid", "mode"]),
                    let node = reader.reader.required(map, "source", path, in: item)
                else { continue }
                sourceNode = node
                target = map["target"].flatMap { reader.eager($0, "\(path).target") }
                ownership = map.filter { ["uid", "gid", "mode"].contains($0.key) }
            }
            guard let source = reader.eager(sourceNode, path) else { continue }
            guard let definition = definitions[kind]?[source] else {
                reader.reader.fail(
                    .unknownReference, sourceNode, path, "undefined \(kind.singular) '\(source)': add it under top-level '\(kind.rawValue):'")
                continue
            }
            used[kind, default: []].insert(source)
            let name = target ?? source
            let absoluteTarget = name.hasPrefix("/") ? name : kind.base + name
            switch definition.source {
            case .file(let file)? where reader.target == .swarm:
                // A bind mount is of one node's file: on a swarm the content travels as an object.
                guard let content = reader.read(file) else {
                    reader.reader.fail(.invalidValue, definition.node, "\(kind.rawValue).\(source).file", "cannot read \(file)")
                    continue
                }
                let (uid, gid, mode) = owner(ownership, path)
                uses.files.append(FileSpec(target: absoluteTarget, content: content, isSecret: kind == .secrets, mode: mode, uid: uid, gid: gid))
            case .file(let file)?:
                if let (key, node) = ownership.min(by: { $0.key < $1.key }) {
                    reader.reader.fail(
                        .invalidValue, node, "\(path).\(key)",
                        "'\(key)' cannot apply to a \(kind.singular) bind-mounted from a file; its owner and mode are the file's own")
                    continue
                }
                uses.mounts.append(
                    .long(type: "bind", source: ComposeReader.literal(file), target: ComposeReader.literal(absoluteTarget), readOnly: true))
            case .content(let content)?:
                let (uid, gid, mode) = owner(ownership, path)
                uses.files.append(FileSpec(target: absoluteTarget, content: content, isSecret: kind == .secrets, mode: mode, uid: uid, gid: gid))
            case .sealed(let file)?:
                var use = SealedFileUse(
                    target: absoluteTarget, path: file, field: "\(kind.rawValue).\(source).file", location: reader.reader.location(definition.node))
                (use.uid, use.gid, use.mode) = owner(ownership, path)
                uses.sealed.append(use)
            case nil:
                continue
            }
        }
        return uses
    }

    /// The owner and mode of a file written into the container: as given, else root and 0444.
    private func owner(_ ownership: [String: Node], _ path: String) -> (uid: Int, gid: Int, mode: Int) {
        (
            ownership["uid"].flatMap { number($0, "\(path).uid", radix: 10) } ?? 0,
            ownership["gid"].flatMap { number($0, "\(path).gid", radix: 10) } ?? 0,
            ownership["mode"].flatMap { number($0, "\(path).mode", radix: 8) } ?? 0o444
        )
    }

    /// A uid or gid (decimal), or a mode: octal as Compose reads a string (`"0440"`), the number as
    /// YAML wrote it otherwise (`0440` is octal in YAML 1.1, `288` decimal).
    private func number(_ node: Node, _ field: String, radix: Int) -> Int? {
        guard let text = reader.eager(node, field) else { return nil }
        let isString = node.scalar.map { $0.style != .plain } ?? false
        let value: Int? =
            if radix == 8 {
                isString
                    ? Int(text, radix: 8)
                    : (text.hasPrefix("0o") ? Int(text.dropFirst(2), radix: 8) : (text.hasPrefix("0") ? Int(text, radix: 8) : Int(text)))
            } else {
                Int(text)
            }
        guard let value, value >= 0, radix != 8 || value <= 0o7777 else {
            reader.reader.fail(.invalidValue, node, field, "'\(text)' is not \(radix == 8 ? "a file mode such as 0440" : "a numeric id")")
            return nil
        }
        return value
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

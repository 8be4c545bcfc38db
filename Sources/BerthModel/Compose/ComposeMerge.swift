import Yams

/// Merges Compose YAML trees the way the Compose Specification's merge rules say, for `-f` files
/// and `extends`: mappings merge key by key, a later single value wins, `command`, `entrypoint`,
/// `healthcheck.test` and `profiles` are replaced whole, `volumes` are keyed by their target path,
/// `ports` drop exact repeats, other lists append. `!reset` removes a value, `!override` replaces it.
///
/// Nodes keep their marks, so a merged value still points at the file and line it came from.
enum ComposeMerge {
    /// Lists that an override replaces instead of extending.
    static let replacedLists: Set<String> = ["command", "entrypoint", "healthcheck.test", "profiles", "dns", "dns_search"]

    /// Merges two nodes at `path` (dotted keys below a service, e.g. `build.args`).
    static func merge(_ base: Node, _ override: Node, path: String) -> Node {
        if override.tag.description == "!override" { return override }
        switch (base, override) {
        case (.mapping(let base), .mapping(let override)):
            var pairs: [(Node, Node)] = []
            var seen = Set<String>()
            for (key, value) in base {
                let name = key.string ?? ""
                seen.insert(name)
                guard let replacement = override[name] else {
                    pairs.append((key, value))
                    continue
                }
                if isReset(replacement) { continue }
                pairs.append((key, merge(value, replacement, path: path.isEmpty ? name : "\(path).\(name)")))
            }
            for (key, value) in override where !seen.contains(key.string ?? "") && !isReset(value) {
                pairs.append((key, value))
            }
            return .mapping(Node.Mapping(pairs, base.tag, base.style, base.mark))
        case (.sequence(let base), .sequence(let override)):
            if replacedLists.contains(path) { return .sequence(override) }
            var nodes = Array(base)
            switch path {
            case "volumes":
                for node in override {
                    let target = volumeTarget(node)
                    if let index = nodes.firstIndex(where: { target != nil && volumeTarget($0) == target }) {
                        nodes[index] = node
                    } else {
                        nodes.append(node)
                    }
                }
            case "ports", "env_file", "tmpfs":
                for node in override where !nodes.contains(where: { $0.string != nil && $0.string == node.string }) { nodes.append(node) }
            default:
                nodes += override
            }
            return .sequence(Node.Sequence(nodes, base.tag, base.style, base.mark))
        default:
            return override
        }
    }

    static func isReset(_ node: Node) -> Bool { node.tag.description == "!reset" }

    /// The container path a volume entry mounts at, the key by which overrides replace entries.
    static func volumeTarget(_ node: Node) -> String? {
        if let text = node.scalar?.string {
            let parts = text.split(separator: ":").map(String.init)
            return parts.count == 1 ? parts[0] : parts[1]
        }
        return node.mapping?["target"]?.string
    }

    // MARK: Normal forms

    /// A service with its alternative syntaxes rewritten to one form, so files written in different
    /// styles merge entry by entry: `KEY=VALUE` lists become mappings, `depends_on` and `networks`
    /// lists become mappings, `build: DIR` becomes `build: {context: DIR}`, `env_file: F` a list.
    /// `node` comes from a file already `flattened` as a whole.
    static func normalizedService(_ node: Node) -> Node {
        guard case .mapping(let mapping) = node else { return node }
        var pairs: [(Node, Node)] = []
        for (key, value) in mapping {
            let name = key.string ?? ""
            switch name {
            case "environment", "labels", "sysctls":
                pairs.append((key, keyValueMapping(value)))
            case "extra_hosts":
                pairs.append((key, keyValueMapping(value, hostSeparator: true)))
            case "depends_on":
                pairs.append((key, listToMapping(value) { item in startedCondition(item.mark) }))
            case "networks":
                pairs.append((key, listToMapping(value) { item in nullNode(item.mark) }))
            case "build":
                if let context = value.scalar {
                    pairs.append((key, .mapping(Node.Mapping([(text("context", nil), .scalar(context))], plainTag, .any, context.mark))))
                } else if case .mapping(var build) = value, let args = build["args"] {
                    build["args"] = keyValueMapping(args)
                    pairs.append((key, .mapping(build)))
                } else {
                    pairs.append((key, value))
                }
            case "env_file", "tmpfs":
                if case .scalar = value {
                    pairs.append((key, .sequence(Node.Sequence([value], plainTag, .any, value.mark))))
                } else {
                    pairs.append((key, value))
                }
            default:
                pairs.append((key, value))
            }
        }
        return .mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark))
    }

    /// Applies YAML merge keys (`<<: *defaults`): the merged mapping's keys are defaults that the
    /// mapping's own keys override. Recursive, since anchors are often used below services.
    static func flattened(_ node: Node) -> Node { flattenedIfMerging(node) ?? node }

    /// `node` with its merge keys applied, or nil when it has none: most files have none, and
    /// rebuilding every mapping of a big file for nothing was a visible part of loading it.
    private static func flattenedIfMerging(_ node: Node) -> Node? {
        switch node {
        case .mapping(let mapping):
            var changed = false
            var own: [(Node, Node)] = []
            var defaults: [(Node, Node)] = []
            for (key, value) in mapping {
                guard key.string == "<<" else {
                    let flat = flattenedIfMerging(value)
                    changed = changed || flat != nil
                    own.append((key, flat ?? value))
                    continue
                }
                changed = true
                let sources: [Node] = if case .sequence(let list) = value { Array(list) } else { [value] }
                for case .mapping(let source) in sources.map(flattened) {
                    for (k, v) in source where !defaults.contains(where: { $0.0.string == k.string }) { defaults.append((k, v)) }
                }
            }
            guard changed else { return nil }
            let ownKeys = Set(own.compactMap { $0.0.string })
            let merged = defaults.filter { !ownKeys.contains($0.0.string ?? "") } + own
            return .mapping(Node.Mapping(merged, mapping.tag, mapping.style, mapping.mark))
        case .sequence(let sequence):
            let items = sequence.map(flattenedIfMerging)
            guard items.contains(where: { $0 != nil }) else { return nil }
            return .sequence(Node.Sequence(zip(items, sequence).map { $0 ?? $1 }, sequence.tag, sequence.style, sequence.mark))
        default:
            return nil
        }
    }

    /// `["A=1", "B"]` → `{A: "1", B: null}`; a mapping is returned as it is.
    /// - Parameter hostSeparator: `HOST:IP` is also a pair (`extra_hosts`), split at its first colon.
    static func keyValueMapping(_ node: Node, hostSeparator: Bool = false) -> Node {
        guard case .sequence(let sequence) = node else { return node }
        var pairs: [(Node, Node)] = []
        for item in sequence {
            guard let text = item.scalar?.string else {
                pairs.append((item, nullNode(item.mark)))
                continue
            }
            let separator: Character = hostSeparator && !text.unicodeScalars.contains("=") ? ":" : "="
            let parts = text.split(separator: separator, maxSplits: 1, omittingEmptySubsequences: false)
            let key = Node.scalar(Node.Scalar(String(parts[0]), plainTag, .plain, item.mark))
            let value =
                parts.count == 2 ? Node.scalar(Node.Scalar(String(parts[1]), plainTag, .doubleQuoted, item.mark)) : nullNode(item.mark)
            pairs.append((key, value))
        }
        return .mapping(Node.Mapping(pairs, plainTag, .any, sequence.mark))
    }

    /// `[a, b]` → `{a: value, b: value}`; a mapping is returned as it is.
    static func listToMapping(_ node: Node, value: (Node) -> Node) -> Node {
        guard case .sequence(let sequence) = node else { return node }
        let pairs = sequence.map { item in (item, value(item)) }
        return .mapping(Node.Mapping(pairs, plainTag, .any, sequence.mark))
    }

    static func nullNode(_ mark: Mark?) -> Node { .scalar(Node.Scalar("null", plainTag, .plain, mark)) }

    static func startedCondition(_ mark: Mark?) -> Node {
        .mapping(Node.Mapping([(text("condition", nil), .scalar(Node.Scalar("service_started", plainTag, .plain, mark)))], plainTag, .any, mark))
    }

    /// The tag of nodes made here. `Tag.implicit` would bind Yams' default resolver, whose
    /// first use compiles its regular expressions: milliseconds of every run, for nothing, since
    /// Berth reads every scalar as text.
    static var plainTag: Tag { Tag(.implicit, Yams.Resolver.basic, Constructor.default) }

    static func text(_ string: String, _ mark: Mark?) -> Node { .scalar(Node.Scalar(string, plainTag, .plain, mark)) }

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }
}

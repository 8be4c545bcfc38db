import Yams

/// Reads typed values out of a YAML node tree, recording each problem with its file:line:column
/// instead of stopping at the first one.
///
/// `Yams.compose` keeps a mark on every node; decoding through `Codable` would lose it.
final class NodeReader {
    let sourceMap: SourceMap
    private(set) var errors: [ManifestError] = []

    init(file: String) { self.sourceMap = SourceMap(file: file) }

    init(sourceMap: SourceMap) { self.sourceMap = sourceMap }

    func location(_ node: Node) -> SourceLocation {
        sourceMap.location(line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
    }

    func fail(_ code: ManifestError.Code, _ node: Node?, _ field: String?, _ message: String) {
        errors.append(ManifestError(code, at: node.map(location), field: field, message))
    }

    func report(_ error: ManifestError) { errors.append(error) }

    /// A mapping's entries; reports every key not in `allowed`, suggesting the nearest allowed key.
    func mapping(_ node: Node, _ field: String, allowed: [String]) -> [String: Node]? {
        guard case .mapping(let mapping) = node else {
            fail(.wrongType, node, field, "expected a mapping, found \(kind(node))")
            return nil
        }
        var result: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else {
                fail(.wrongType, keyNode, field, "expected a string key")
                continue
            }
            if !allowed.contains(key) {
                let hint = nearest(key, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
                fail(.unknownKey, keyNode, join(field, key), "unknown key '\(key)'\(hint); expected one of: \(allowed.joined(separator: ", "))")
                continue
            }
            if result[key] != nil {
                fail(.duplicateName, keyNode, join(field, key), "key '\(key)' appears twice")
            }
            result[key] = value
        }
        return result
    }

    /// A free-form mapping (labels, variables): any keys, scalar values.
    func stringMap(_ node: Node, _ field: String) -> [String: String]? {
        guard case .mapping(let mapping) = node else {
            fail(.wrongType, node, field, "expected a mapping of names to values, found \(kind(node))")
            return nil
        }
        var result: [String: String] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else { continue }
            if value.null != nil { result[key] = ""; continue }
            if let text = scalar(value, join(field, key)) { result[key] = text }
        }
        return result
    }

    func entries(_ node: Node, _ field: String) -> [(String, Node)]? {
        guard case .mapping(let mapping) = node else {
            fail(.wrongType, node, field, "expected a mapping, found \(kind(node))")
            return nil
        }
        return mapping.compactMap { key, value in key.string.map { ($0, value) } }
    }

    func sequence(_ node: Node, _ field: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            fail(.wrongType, node, field, "expected a list, found \(kind(node))")
            return nil
        }
        return Array(sequence)
    }

    /// Any scalar as text (numbers and booleans included, as written).
    func scalar(_ node: Node, _ field: String) -> String? {
        guard case .scalar(let scalar) = node else {
            fail(.wrongType, node, field, "expected a single value, found \(kind(node))")
            return nil
        }
        return scalar.string
    }

    func string(_ node: Node, _ field: String) -> String? { scalar(node, field) }

    /// `at`: where to report a problem, when `node` was made from an interpolated value.
    func int(_ node: Node, _ field: String, range: ClosedRange<Int>? = nil, at: Node? = nil) -> Int? {
        guard let text = scalar(node, field) else { return nil }
        guard let value = Int(text) else {
            fail(.wrongType, at ?? node, field, "expected a whole number, found '\(text)'")
            return nil
        }
        if let range, !range.contains(value) {
            fail(.outOfRange, at ?? node, field, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    func bool(_ node: Node, _ field: String, at: Node? = nil) -> Bool? {
        guard let text = scalar(node, field) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            fail(.wrongType, at ?? node, field, "expected true or false, found '\(text)'")
            return nil
        }
    }

    /// A list of strings, or a single string where `allowSingle` (e.g. `profiles: internal-db`).
    func strings(_ node: Node, _ field: String, allowSingle: Bool = false) -> [String]? {
        if allowSingle, case .scalar(let scalar) = node { return [scalar.string] }
        guard let items = sequence(node, field) else { return nil }
        return items.enumerated().compactMap { index, item in scalar(item, "\(field)[\(index)]") }
    }

    /// A command: a list of arguments, or one string split on spaces (quotes respected).
    func command(_ node: Node, _ field: String) -> [String]? {
        if case .scalar(let scalar) = node { return ShellWords.split(scalar.string) }
        return strings(node, field)
    }

    /// A duration like `1m30s`, `2s`, `500ms` or a plain number of seconds.
    func duration(_ node: Node, _ field: String, at: Node? = nil) -> Duration? {
        guard let text = scalar(node, field) else { return nil }
        guard let value = DurationText.parse(text) else {
            fail(.wrongType, at ?? node, field, "expected a duration such as 10s, 1m30s or 500ms, found '\(text)'")
            return nil
        }
        return value
    }

    func required(_ map: [String: Node], _ key: String, _ field: String, in node: Node) -> Node? {
        guard let value = map[key] else {
            fail(.missingField, node, join(field, key), "required field '\(key)' is missing")
            return nil
        }
        return value
    }

    /// Records the location of every field below `map`, as `name.field.sub[0]`.
    func record(_ map: [String: Node], prefix: String, into locations: inout FieldLocations) {
        for (key, node) in map { record(node, path: "\(prefix).\(key)", into: &locations) }
    }

    func record(_ node: Node, path: String, into locations: inout FieldLocations) {
        locations.record(path, location(node))
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping { if let key = key.string { record(value, path: "\(path).\(key)", into: &locations) } }
        case .sequence(let sequence):
            for (index, value) in sequence.enumerated() { record(value, path: "\(path)[\(index)]", into: &locations) }
        default: break
        }
    }

    func kind(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): "'\(scalar.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    func join(_ field: String, _ key: String) -> String { field.isEmpty ? key : "\(field).\(key)" }
}

/// Suggests the allowed word closest to a misspelt one, when it is close enough to be a typo.
func nearest(_ word: String, in candidates: [String]) -> String? {
    let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
    return best.1 <= max(2, word.count / 3) ? best.0 : nil
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for (i, ca) in a.enumerated() {
        var current = [i + 1] + Array(repeating: 0, count: b.count)
        for (j, cb) in b.enumerated() {
            current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

/// Turns a node's line back into file:line.
///
/// Compose projects merge nodes from several files, and a Yams mark holds only a line and a column.
/// So each file is parsed with its lines shifted past those of the files before it (blank lines
/// prepended: YAML ignores them), every line is unique across the project, and this map takes a
/// line back to its file.
struct SourceMap: Sendable {
    /// First global line of each file, ascending.
    private var files: [(path: String, firstLine: Int)]
    private(set) var nextLine = 1

    init(file: String) { files = [(file, 1)] }

    init() { files = [] }

    /// Registers a file and returns the text to parse: `text` shifted to its global lines.
    mutating func add(_ path: String, text: String) -> String {
        let padding = nextLine - 1
        files.append((path, nextLine))
        nextLine += text.reduce(into: 1) { count, character in if character.isNewline { count += 1 } }
        return String(repeating: "\n", count: padding) + text
    }

    func location(line: Int, column: Int) -> SourceLocation {
        guard let file = files.last(where: { $0.firstLine <= line }) ?? files.first else {
            return SourceLocation(file: "", line: line, column: column)
        }
        return SourceLocation(file: file.path, line: max(line - file.firstLine + 1, 0), column: column)
    }
}

import Yams

/// Reads typed values out of a YAML node tree, recording each problem with its file:line:column
/// instead of stopping at the first one.
///
/// `Yams.compose` keeps a mark on every node; decoding through `Codable` would lose it.
final class NodeReader {
    let file: String
    private(set) var errors: [ManifestError] = []

    init(file: String) { self.file = file }

    func location(_ node: Node) -> SourceLocation {
        SourceLocation(file: file, line: (node.mark?.line ?? 0), column: (node.mark?.column ?? 0))
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

    func int(_ node: Node, _ field: String, range: ClosedRange<Int>? = nil) -> Int? {
        guard let text = scalar(node, field) else { return nil }
        guard let value = Int(text) else {
            fail(.wrongType, node, field, "expected a whole number, found '\(text)'")
            return nil
        }
        if let range, !range.contains(value) {
            fail(.outOfRange, node, field, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    func bool(_ node: Node, _ field: String) -> Bool? {
        guard let text = scalar(node, field) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            fail(.wrongType, node, field, "expected true or false, found '\(text)'")
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
    func duration(_ node: Node, _ field: String) -> Duration? {
        guard let text = scalar(node, field) else { return nil }
        guard let value = DurationText.parse(text) else {
            fail(.wrongType, node, field, "expected a duration such as 10s, 1m30s or 500ms, found '\(text)'")
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

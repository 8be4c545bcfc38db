import Foundation
import Yams

/// A document as SOPS sees it: mappings in file order, sequences, and typed leaves. SOPS walks
/// this tree in order to encrypt each leaf and to hash the leaves into its MAC, so the order and
/// the types (which change how a leaf is hashed) are kept exactly as written.
indirect enum SOPSTree: Sendable {
    case mapping([(key: String, value: SOPSTree)])
    case sequence([SOPSTree])
    case leaf(SOPSLeaf)
    case null

    subscript(key: String) -> SOPSTree? {
        guard case .mapping(let items) = self else { return nil }
        return items.first { $0.key == key }?.value
    }

    /// The tree with each leaf replaced by `transform(leaf, path)`, walking in file order.
    /// Sequence items share their parent's path, as in SOPS.
    func mapLeaves(_ path: [String] = [], _ transform: (SOPSLeaf, [String]) throws(SecretError) -> SOPSLeaf) throws(SecretError) -> SOPSTree {
        switch self {
        case .mapping(let items):
            var result: [(key: String, value: SOPSTree)] = []
            for item in items { result.append((item.key, try item.value.mapLeaves(path + [item.key], transform))) }
            return .mapping(result)
        case .sequence(let items):
            var result: [SOPSTree] = []
            for item in items { result.append(try item.mapLeaves(path, transform)) }
            return .sequence(result)
        case .leaf(let leaf): return .leaf(try transform(leaf, path))
        case .null: return .null
        }
    }
}

/// A scalar with the type SOPS gives it (`str`, `int`, `float`, `bool`, …).
struct SOPSLeaf: Sendable {
    var text: String
    var type: String

    static func string(_ text: String) -> SOPSLeaf { SOPSLeaf(text: text, type: "str") }

    /// The bytes SOPS hashes into its MAC for this value: Go's formatting of the typed value.
    var macBytes: [UInt8] {
        switch type {
        case "bool": Array(((Bool(text.lowercased()) ?? false) ? "True" : "False").utf8)
        case "int": Array((Int(text).map(String.init) ?? text).utf8)
        case "float": Array((Double(text).map(Self.goFloat) ?? text).utf8)
        default: Array(text.utf8)
        }
    }

    /// `strconv.FormatFloat(value, 'f', -1, 64)`: the shortest digits that read back, never an exponent.
    static func goFloat(_ value: Double) -> String {
        let text = "\(value)"
        guard let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }), let exponent = Int(text[text.index(after: e)...]) else {
            return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
        }
        var mantissa = String(text[..<e])
        let negative = mantissa.hasPrefix("-")
        if negative { mantissa.removeFirst() }
        let parts = mantissa.split(separator: ".", maxSplits: 1)
        var digits = String(parts[0]) + (parts.count > 1 ? String(parts[1]) : "")
        var point = parts[0].count + exponent
        if point <= 0 {
            digits = String(repeating: "0", count: 1 - point) + digits
            point = 1
        }
        if digits.count < point { digits += String(repeating: "0", count: point - digits.count) }
        var result = String(digits.prefix(point))
        var fraction = String(digits.dropFirst(point))
        while fraction.hasSuffix("0") { fraction.removeLast() }
        if !fraction.isEmpty { result += "." + fraction }
        return (negative ? "-" : "") + result
    }
}

/// Reading and writing SOPS's text formats, and its "binary" one: any other file, kept whole as
/// the value `data` of a JSON document.
enum SOPSFormat: String, Sendable {
    case yaml, json, dotenv, binary, ini

    /// SOPS picks the format by extension (any other is binary); a name without one is sniffed.
    static func of(path: String, text: String) -> SOPSFormat {
        if let format = byExtension(path) { return format }
        let start = text.drop { $0.isWhitespace }
        if start.hasPrefix("{") { return .binary }
        if text.split(separator: "\n").contains(where: { $0.hasPrefix("sops_mac=") || $0.hasPrefix("sops_version=") }) { return .dotenv }
        return .yaml
    }

    /// The format SOPS gives a file of this name, when its extension is one it knows.
    static func byExtension(_ path: String) -> SOPSFormat? {
        let name = path.lowercased()
        if name.hasSuffix(".json") { return .json }
        if name.hasSuffix(".env") || name.hasSuffix(".dotenv") { return .dotenv }
        if name.hasSuffix(".yaml") || name.hasSuffix(".yml") { return .yaml }
        if name.hasSuffix(".ini") { return .ini }
        return nil
    }

    func parse(_ text: String) throws(SecretError) -> SOPSTree {
        switch self {
        case .ini: throw .unsupported("it is a SOPS INI document; Berth reads SOPS YAML, JSON, dotenv and binary files")
        case .dotenv: return try Self.parseDotenv(text)
        case .yaml, .json, .binary:
            let node: Node?
            do {
                node = try Yams.compose(yaml: text)
            } catch {
                throw .malformed("it is not valid \(rawValue.uppercased())")
            }
            guard let node else { return .mapping([]) }
            return try Self.tree(node, depth: 0)
        }
    }

    private static func tree(_ node: Node, depth: Int) throws(SecretError) -> SOPSTree {
        guard depth < 64 else { throw .malformed("it nests deeper than 64 levels") }
        switch node {
        case .mapping(let mapping):
            var items: [(key: String, value: SOPSTree)] = []
            for (key, value) in mapping {
                guard let key = key.scalar?.string else { throw .unsupported("it has a key that is not a string") }
                items.append((key, try tree(value, depth: depth + 1)))
            }
            return .mapping(items)
        case .sequence(let sequence):
            var items: [SOPSTree] = []
            for value in sequence { items.append(try tree(value, depth: depth + 1)) }
            return .sequence(items)
        case .scalar(let scalar):
            guard scalar.style == .plain else { return .leaf(.string(scalar.string)) }
            let text = scalar.string
            if ["", "~", "null", "Null", "NULL"].contains(text) { return .null }
            if ["true", "True", "TRUE", "false", "False", "FALSE"].contains(text) { return .leaf(SOPSLeaf(text: text, type: "bool")) }
            if Int(text) != nil { return .leaf(SOPSLeaf(text: text, type: "int")) }
            if Double(text) != nil, text.contains(where: \.isNumber) { return .leaf(SOPSLeaf(text: text, type: "float")) }
            return .leaf(.string(text))
        case .alias:
            throw .unsupported("it uses YAML aliases")
        }
    }

    private static func parseDotenv(_ text: String) throws(SecretError) -> SOPSTree {
        var items: [(key: String, value: SOPSTree)] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            if line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else { throw .malformed("line \(index + 1) is not KEY=VALUE") }
            let value = line[line.index(after: equals)...].replacingOccurrences(of: "\\n", with: "\n")
            items.append((String(line[..<equals]), .leaf(.string(value))))
        }
        return .mapping(items)
    }

    /// The document as text in this format.
    func render(_ tree: SOPSTree) throws(SecretError) -> String {
        switch self {
        case .ini: throw .unsupported("Berth does not write SOPS INI documents")
        case .binary:
            guard case .leaf(let data)? = tree["data"] else { throw .malformed("a SOPS binary file keeps its content under 'data'") }
            return data.text
        case .dotenv:
            guard case .mapping(let items) = tree else { throw .unsupported("a dotenv document is a list of KEY=VALUE") }
            var text = ""
            for item in items {
                guard case .leaf(let leaf) = item.value else { throw .unsupported("dotenv cannot hold the nested value '\(item.key)'") }
                text += "\(item.key)=\(leaf.text.replacingOccurrences(of: "\n", with: "\\n"))\n"
            }
            return text
        case .json:
            return Self.json(tree, indent: "") + "\n"
        case .yaml:
            do {
                return try Yams.serialize(node: Self.node(tree), indent: 4)
            } catch {
                throw .malformed("it cannot be written as YAML")
            }
        }
    }

    private static func node(_ tree: SOPSTree) -> Node {
        switch tree {
        case .mapping(let items): .mapping(Node.Mapping(items.map { (Node($0.key), node($0.value)) }))
        case .sequence(let items): .sequence(Node.Sequence(items.map(node)))
        case .leaf(let leaf) where leaf.type == "str":
            .scalar(Node.Scalar(leaf.text, Tag(.str), looksTyped(leaf.text) ? .doubleQuoted : .any))
        case .leaf(let leaf): .scalar(Node.Scalar(leaf.text))
        case .null: .scalar(Node.Scalar("null"))
        }
    }

    /// A string a YAML reader could take for another type (a number, a date, a boolean) unless quoted.
    private static func looksTyped(_ text: String) -> Bool {
        ["", "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n"].contains(text.lowercased())
            || text.first.map { $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." } == true
    }

    private static func json(_ tree: SOPSTree, indent: String) -> String {
        let inner = indent + "    "
        switch tree {
        case .mapping(let items):
            if items.isEmpty { return "{}" }
            return "{\n" + items.map { inner + quoted($0.key) + ": " + json($0.value, indent: inner) }.joined(separator: ",\n") + "\n\(indent)}"
        case .sequence(let items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { inner + json($0, indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .leaf(let leaf) where leaf.type == "str": return quoted(leaf.text)
        case .leaf(let leaf) where leaf.type == "bool": return leaf.text.lowercased()
        case .leaf(let leaf): return leaf.text
        case .null: return "null"
        }
    }

    private static func quoted(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}

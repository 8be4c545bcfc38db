public import Foundation

/// Checks a JSON value against a JSON Schema (the part of draft 2020-12 that docs/json/ uses:
/// `type`, `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`,
/// `minimum`, `anyOf`, `$ref` to `#/$defs/…`). The schemas are the contract of `--json`; this makes
/// them tested rather than only written. It also checks Engine bodies against the Engine's own
/// specification (Tests/BerthEngineTests/Fixtures/engine-api).
public struct JSONSchema: Sendable {
    let root: [String: any Sendable]
    /// Objects with `properties` and no `additionalProperties` refuse other keys. Swagger leaves
    /// them open; closed, a body Berth sends proves it uses only what the version defines.
    private var closed = false

    public init(contentsOf url: URL) throws {
        guard let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: any Sendable] else {
            throw SchemaError("\(url.lastPathComponent): a schema is a JSON object")
        }
        self.root = root
    }

    public struct SchemaError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Every place `value` breaks the schema, as `path: what`; empty when it conforms.
    public func violations(of value: Any) -> [String] {
        var found: [String] = []
        check(value, against: root, at: "$", into: &found)
        return found
    }

    /// The same against the definition `name` of `$defs`; `closed` as described above.
    public func violations(of value: Any, definition name: String, closed: Bool = false) -> [String] {
        var schema = self
        schema.closed = closed
        var found: [String] = []
        schema.check(value, against: ["$ref": "#/$defs/\(name)"], at: "$", into: &found)
        return found
    }

    private func check(_ value: Any, against schema: [String: Any], at path: String, into found: inout [String]) {
        if let reference = schema["$ref"] as? String {
            let name = reference.replacingOccurrences(of: "#/$defs/", with: "")
            guard let definition = (root["$defs"] as? [String: Any])?[name] as? [String: Any] else {
                return found.append("\(path): unknown $ref \(reference)")
            }
            return check(value, against: definition, at: path, into: &found)
        }
        if let choices = schema["anyOf"] as? [[String: Any]] {
            let failures = choices.map { choice in
                var inner: [String] = []
                check(value, against: choice, at: path, into: &inner)
                return inner
            }
            // None fits: say why the choice of the value's own type does not (not "is not null").
            if !failures.contains(where: \.isEmpty) {
                found += failures.first { !$0.contains { $0.hasPrefix("\(path): ") } } ?? failures.first ?? []
            }
            return
        }
        if let types = schema["type"].map({ $0 as? [String] ?? [$0 as? String ?? ""] }), !types.contains(where: { Self.value(value, is: $0) }) {
            return found.append("\(path): \(Self.describe(value)) is not \(types.joined(separator: " or "))")
        }
        if let allowed = schema["enum"] as? [Any], !allowed.contains(where: { Self.equal($0, value) }) {
            found.append("\(path): \(Self.describe(value)) is not one of \(allowed)")
        }
        if let constant = schema["const"], !Self.equal(constant, value) { found.append("\(path): \(Self.describe(value)) is not \(constant)") }
        if let minimum = schema["minimum"] as? Double, let number = value as? Double, number < minimum {
            found.append("\(path): \(number) is below \(minimum)")
        }
        if let object = value as? [String: Any] {
            for key in schema["required"] as? [String] ?? [] where object[key] == nil { found.append("\(path): missing \(key)") }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for (key, child) in object {
                if let property = properties[key] as? [String: Any] {
                    check(child, against: property, at: "\(path).\(key)", into: &found)
                } else if let additional = schema["additionalProperties"] as? [String: Any] {
                    check(child, against: additional, at: "\(path).\(key)", into: &found)
                } else if schema["additionalProperties"] as? Bool == false || (closed && schema["additionalProperties"] == nil && !properties.isEmpty)
                {
                    found.append("\(path): \(key) is not in the schema")
                }
            }
        }
        if let array = value as? [Any], let items = schema["items"] as? [String: Any] {
            for (index, item) in array.enumerated() { check(item, against: items, at: "\(path)[\(index)]", into: &found) }
        }
    }

    private static func value(_ value: Any, is type: String) -> Bool {
        switch type {
        case "null": return value is NSNull
        case "object": return value is [String: Any]
        case "array": return value is [Any]
        case "string": return value is String
        case "boolean": return isBool(value)
        case "integer": return !isBool(value) && (value as? NSNumber).map { $0.doubleValue == $0.doubleValue.rounded() } == true
        case "number": return !isBool(value) && value is NSNumber
        default: return false
        }
    }

    /// JSONSerialization reads `true` as an NSNumber too; its type says which it was.
    private static func isBool(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c" || type(of: number) == type(of: NSNumber(value: true))
    }

    private static func equal(_ a: Any, _ b: Any) -> Bool {
        switch (a, b) {
        case (let a as String, let b as String): a == b
        case (let a as NSNumber, let b as NSNumber): a == b
        case (is NSNull, is NSNull): true
        default: false
        }
    }

    private static func describe(_ value: Any) -> String {
        let text = (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])).map { String(decoding: $0, as: UTF8.self) }
        return String((text ?? "\(value)").prefix(80))
    }
}

import Foundation

/// A value found while interpolating, carrying whether a secret went into it.
public struct InterpolatedValue: Sendable, Equatable {
    public var text: String
    public var isSecret: Bool
    /// Network facts (`network.X.gateway`) the value needs and the Engine has not reported yet:
    /// its text holds a placeholder for them, for display only.
    public var pendingFacts: Set<String>

    public init(_ text: String, isSecret: Bool = false, pendingFacts: Set<String> = []) {
        self.text = text
        self.isSecret = isSecret
        self.pendingFacts = pendingFacts
    }
}

/// Why a `${…}` could not be filled in.
public enum InterpolationFailure: Error, Equatable, Sendable {
    /// `${VAR}` where VAR is defined nowhere.
    case undefined(String)
    /// `${VAR:?message}` / `${VAR?message}` with VAR unset (or empty, for `:?`).
    case required(String, message: String)
    case syntax(String)

    public var message: String {
        switch self {
        case .undefined(let name): "variable '\(name)' is not defined in the environment, its env_files, secrets or Berth's own environment"
        case .required(let name, let message): message.isEmpty ? "required variable '\(name)' is not set" : "\(name): \(message)"
        case .syntax(let text): text
        }
    }
}

/// Compose-style variable interpolation.
///
/// Supported: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`,
/// `${VAR?message}`, `${VAR:+replacement}`, `${VAR+replacement}`, nesting inside the default or
/// replacement, and `$$` for a literal `$`. Names in braces may contain `.` (Berth's namespaces
/// such as `${network.app.gateway}`).
public struct Interpolator: Sendable {
    /// What a plain `$VAR` / `${VAR}` of an unset variable becomes.
    public enum Undefined: Sendable {
        /// An error: Berth manifests say what they need.
        case fail
        /// An empty string, as Compose does (it warns); the closure hears each such name.
        case blank(@Sendable (String) -> Void)
    }

    public let lookup: @Sendable (String) -> InterpolatedValue?
    public var undefined: Undefined

    public init(undefined: Undefined = .fail, lookup: @escaping @Sendable (String) -> InterpolatedValue?) {
        self.lookup = lookup
        self.undefined = undefined
    }

    public init(_ variables: [String: String], undefined: Undefined = .fail) {
        self.lookup = { variables[$0].map { InterpolatedValue($0) } }
        self.undefined = undefined
    }

    private func value(of name: String) throws(InterpolationFailure) -> InterpolatedValue {
        if let value = lookup(name) { return value }
        guard case .blank(let heard) = undefined else { throw .undefined(name) }
        heard(name)
        return InterpolatedValue("")
    }

    public func interpolate(_ text: String) throws(InterpolationFailure) -> InterpolatedValue {
        var scanner = Array(text.unicodeScalars)[...]
        return try expand(&scanner, until: nil)
    }

    /// Every variable name a text refers to (outside defaults), for validation.
    public static func references(in text: String) -> [String] {
        /// Filled synchronously by the probe below, never shared across tasks.
        final class Names: @unchecked Sendable { var list: [String] = [] }
        let names = Names()
        let probe = Interpolator { name in
            names.list.append(name)
            return InterpolatedValue("")
        }
        _ = try? probe.interpolate(text)
        return names.list
    }

    private func expand(_ input: inout ArraySlice<Unicode.Scalar>, until terminator: Unicode.Scalar?) throws(InterpolationFailure)
        -> InterpolatedValue
    {
        var output = String.UnicodeScalarView()
        var secret = false
        var pending = Set<String>()
        var depth = 0
        while let scalar = input.first {
            if let terminator, scalar == terminator, depth == 0 { return InterpolatedValue(String(output), isSecret: secret, pendingFacts: pending) }
            input = input.dropFirst()
            guard scalar == "$" else {
                if terminator != nil && scalar == "{" { depth += 1 }
                if terminator != nil && scalar == "}" { depth -= 1 }
                output.append(scalar)
                continue
            }
            guard let next = input.first else {
                output.append(scalar)
                break
            }
            if next == "$" {
                input = input.dropFirst()
                output.append("$")
            } else if next == "{" {
                input = input.dropFirst()
                let value = try braced(&input)
                output.append(contentsOf: value.text.unicodeScalars)
                secret = secret || value.isSecret
                pending.formUnion(value.pendingFacts)
            } else if Self.isNameStart(next) {
                var name = ""
                while let c = input.first, Self.isNameCharacter(c) {
                    name.unicodeScalars.append(c)
                    input = input.dropFirst()
                }
                let value = try value(of: name)
                output.append(contentsOf: value.text.unicodeScalars)
                secret = secret || value.isSecret
                pending.formUnion(value.pendingFacts)
            } else {
                output.append(scalar)
            }
        }
        if terminator != nil { throw .syntax("unterminated '${' in '\(String(output))'") }
        return InterpolatedValue(String(output), isSecret: secret, pendingFacts: pending)
    }

    private func braced(_ input: inout ArraySlice<Unicode.Scalar>) throws(InterpolationFailure) -> InterpolatedValue {
        var name = ""
        // Dotted names (Berth's namespaces, e.g. `network.my-net.gateway`) may contain '-';
        // plain names may not, so `${VAR-default}` keeps its Compose meaning.
        while let c = input.first, Self.isNameCharacter(c) || c == "." || c == "-" && name.unicodeScalars.contains(".") {
            name.unicodeScalars.append(c)
            input = input.dropFirst()
        }
        guard !name.isEmpty else { throw .syntax("'${' must be followed by a variable name") }
        guard let c = input.first else { throw .syntax("unterminated '${\(name)'") }
        input = input.dropFirst()
        if c == "}" { return try value(of: name) }
        var colon = false
        var op = c
        if c == ":" {
            guard let next = input.first else { throw .syntax("unterminated '${\(name):'") }
            colon = true
            op = next
            input = input.dropFirst()
        }
        guard op == "-" || op == "?" || op == "+" else {
            throw .syntax("unexpected '\(op)' in '${\(name)': expected '}', ':-', '-', ':?', '?', ':+' or '+'")
        }
        let argument = try expand(&input, until: "}")
        input = input.dropFirst()
        let value = lookup(name)
        let isSet = colon ? (value.map { !$0.text.isEmpty } ?? false) : value != nil
        switch op {
        case "-": return isSet ? value! : argument
        case "+": return isSet ? argument : InterpolatedValue("")
        default:
            guard isSet else { throw .required(name, message: argument.text) }
            return value!
        }
    }

    static func isNameStart(_ c: Unicode.Scalar) -> Bool { c == "_" || ("a"..."z").contains(c) || ("A"..."Z").contains(c) }
    static func isNameCharacter(_ c: Unicode.Scalar) -> Bool { isNameStart(c) || ("0"..."9").contains(c) }
}

/// Parses `KEY=VALUE` files (`.env`, `env_file`): comments, blank lines, optional `export`,
/// single or double quotes.
public enum EnvFile {
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: String
        public var line: Int
        /// Single-quoted: taken as written, never interpolated.
        public var isLiteral: Bool
    }

    public static func parse(_ text: String) -> [Entry] {
        var result: [Entry] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else {
                result.append(Entry(key: line, value: "", line: index + 1, isLiteral: true))
                continue
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            var isLiteral = false
            if let quote = value.first, quote == "\"" || quote == "'", value.count >= 2, value.last == quote {
                value = String(value.dropFirst().dropLast())
                isLiteral = quote == "'"
            } else if let hash = value.range(of: " #") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            result.append(Entry(key: key, value: value, line: index + 1, isLiteral: isLiteral))
        }
        return result
    }

    /// Parses and interpolates as Compose does for `.env` and `env_file`: `${VAR}` in an unquoted
    /// or double-quoted value sees the entries above it, then `lookup`; unset names become empty.
    /// - Returns: the values, and per failing line the reason (e.g. a `${VAR:?message}`).
    public static func expand(_ text: String, lookup: @escaping @Sendable (String) -> String?) -> (
        values: [(key: String, value: String)], failures: [(line: Int, message: String)]
    ) {
        var values: [(key: String, value: String)] = []
        var failures: [(line: Int, message: String)] = []
        var known: [String: String] = [:]
        for entry in parse(text) {
            var value = entry.value
            if !entry.isLiteral {
                let above = known
                let interpolator = Interpolator(undefined: .blank({ _ in })) { name in
                    (above[name] ?? lookup(name)).map { InterpolatedValue($0) }
                }
                do {
                    value = try interpolator.interpolate(entry.value).text
                } catch {
                    failures.append((entry.line, error.message))
                }
            }
            known[entry.key] = value
            values.append((entry.key, value))
        }
        return (values, failures)
    }
}

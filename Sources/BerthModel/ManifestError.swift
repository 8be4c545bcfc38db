/// A place in a manifest file, 1-based like editors show it.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.file, a.line, a.column) < (b.file, b.line, b.column)
    }
}

/// One problem found in the manifests: where, which field, and what was expected.
public struct ManifestError: Error, Sendable, Hashable, CustomStringConvertible {
    enum Code: String, Sendable {
        case syntax, unknownKey, wrongType, missingField, invalidValue, unknownReference, duplicateName
        case dependencyCycle, undefinedVariable, outOfRange, unreadableFile
    }

    let code: Code
    public let location: SourceLocation?
    /// Dotted path of the field, e.g. `service-b.ports[0].published`.
    public let field: String?
    public let message: String

    init(_ code: Code, at location: SourceLocation?, field: String?, _ message: String) {
        self.code = code
        self.location = location
        self.field = field
        self.message = message
    }

    /// A file or directory that could not be read.
    public static func unreadable(_ file: String, _ message: String) -> ManifestError {
        ManifestError(.unreadableFile, at: SourceLocation(file: file, line: 1, column: 1), field: nil, message)
    }

    /// Whether `a` comes before `b` in the files: errors without a place first, then by file,
    /// line, column, and message.
    static func inFileOrder(_ a: ManifestError, _ b: ManifestError) -> Bool {
        let place = { (error: ManifestError) in error.location.map { ($0.file, $0.line, $0.column) } ?? ("", 0, 0) }
        let (x, y) = (place(a), place(b))
        return (x.0, x.1, x.2, a.message) < (y.0, y.1, y.2, b.message)
    }

    /// Stable, bounded name of the error class (for tests and metrics).
    public var shortDescription: String { code.rawValue }

    public var description: String {
        var text = location.map { "\($0): " } ?? ""
        if let field { text += "\(field): " }
        return text + message
    }
}

/// Every problem of a load or resolution, reported together rather than one at a time.
public struct ManifestErrors: Error, Sendable, CustomStringConvertible {
    public let errors: [ManifestError]

    public init(_ errors: [ManifestError]) {
        // In file order: by file, then line and column as numbers (line 9 before line 10).
        self.errors = errors.sorted { ManifestError.inFileOrder($0, $1) }
    }

    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}

extension ManifestErrors {
    /// The same errors with file paths below `directory` named from `prefix` instead: a stack
    /// checked out of Git reports `deploy/web.yaml`, where the repository has it, not the
    /// checkout in Berth's state directory.
    public func relocated(from directory: String, to prefix: String) -> ManifestErrors {
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        let rename = { (path: String) in path.hasPrefix(base) ? prefix + path.dropFirst(base.count) : path }
        return ManifestErrors(
            errors.map { error in
                ManifestError(
                    error.code, at: error.location.map { SourceLocation(file: rename($0.file), line: $0.line, column: $0.column) },
                    field: error.field, error.message.replacingOccurrences(of: base, with: prefix))
            })
    }
}

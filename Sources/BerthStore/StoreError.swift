/// An error opening or using the reconcile log.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    enum Code: String, Sendable { case open, query, corrupt }
    let code: Code
    public let message: String

    static func open(_ message: String) -> StoreError { StoreError(code: .open, message: message) }
    static func query(_ message: String) -> StoreError { StoreError(code: .query, message: message) }

    public var shortDescription: String { code.rawValue }
    public var description: String { "state store: \(message)" }
}

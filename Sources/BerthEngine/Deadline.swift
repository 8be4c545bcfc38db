import NIOCore

/// A deadline over a whole Engine call, body included.
///
/// The HTTP client's own deadline ends when the response head arrives: a body that then stops,
/// or drips a byte at a time, would hold the call (and with it a reconcile and its stack lock)
/// for ever. Reading the body runs under this bound as well.
enum Deadline {
    /// Runs `operation`; if it has not finished after `timeout`, cancels it and throws a
    /// transport error naming `what`.
    static func within<T: Sendable>(_ timeout: TimeAmount, _ what: String, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let result = try await withThrowingTaskGroup(of: Outcome<T>.self) { group in
            group.addTask { Outcome.finished(try await operation()) }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(max(0, timeout.nanoseconds)))
                return Outcome.timedOut
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
        switch result {
        case .finished(let value): return value
        case .timedOut: throw EngineError.transport("\(what): the Engine did not finish its answer within \(Self.describe(timeout))")
        }
    }

    /// Not a tuple: see docs/toolchain.md for why task results here are enums and structs.
    enum Outcome<T: Sendable>: Sendable {
        case finished(T)
        case timedOut
    }

    static func describe(_ amount: TimeAmount) -> String {
        let seconds = Double(amount.nanoseconds) / 1e9
        return seconds >= 1 ? "\(Int(seconds.rounded())) s" : "\(Int((seconds * 1000).rounded())) ms"
    }
}

public import NIOCore

/// How long one Engine call may take and how often a call that can be repeated safely is tried.
///
/// A stuck Engine must not stall a reconcile forever, and a daemon that is restarting or briefly
/// overloaded should not fail one: reads and idempotent writes get `attempts` tries, spaced by
/// `backoff`, doubling each time (200 ms, 400 ms, … by default).
public struct EngineCallPolicy: Sendable {
    /// The deadline of an ordinary call; pulls, builds, exec and event streams set their own.
    public var timeout: TimeAmount
    /// Tries per repeatable call, the first included.
    public var attempts: Int
    /// The wait before the second try.
    public var backoff: TimeAmount

    public init(timeout: TimeAmount = .seconds(60), attempts: Int = 4, backoff: TimeAmount = .milliseconds(200)) {
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
    }

    public static let standard = EngineCallPolicy()

    /// The wait before try number `attempt` (2, 3, …): `backoff · 2^(attempt-2)`, at most 5 s.
    func backoffMilliseconds(beforeAttempt attempt: Int) -> Int64 {
        let base = backoff.nanoseconds / 1_000_000
        let doubled = base << Int64(min(max(attempt - 2, 0), 16))
        return min(doubled, 5_000)
    }
}

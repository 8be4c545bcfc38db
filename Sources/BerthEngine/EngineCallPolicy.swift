public import NIOCore

/// How long one Engine call may take and how often a call that can be repeated safely is tried.
///
/// A stuck Engine must not stall a reconcile forever, and a daemon that is restarting or briefly
/// overloaded should not fail one: reads and idempotent writes get `attempts` tries, spaced by
/// `backoff`, doubling each time (200 ms, 400 ms, … by default).
public struct EngineCallPolicy: Sendable {
    /// The deadline of a read. Reads cost the Engine little; one that takes this long is stuck or
    /// lost, and trying it again is safe.
    public var readTimeout: TimeAmount
    /// The deadline of an ordinary write (pulls, builds, exec, stops and event streams set their
    /// own). Longer than a read's: a busy Engine can take a while over a write (network creates
    /// queue behind the host's firewall updates), and most writes are sent only once.
    public var writeTimeout: TimeAmount
    /// Tries per repeatable call, the first included.
    public var attempts: Int
    /// The wait before the second try.
    public var backoff: TimeAmount

    public init(
        readTimeout: TimeAmount = .seconds(30), writeTimeout: TimeAmount = .seconds(120), attempts: Int = 4,
        backoff: TimeAmount = .milliseconds(200)
    ) {
        self.readTimeout = readTimeout
        self.writeTimeout = writeTimeout
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

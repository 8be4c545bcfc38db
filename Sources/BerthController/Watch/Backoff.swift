/// Exponential, capped backoff.
///
/// `delay(attempt) = min(base × 2^(attempt − 1), cap)` for attempt ≥ 1, and 0 for attempt 0.
/// With the defaults (base 1 s, cap 300 s):
///
/// | attempt | 0 | 1 | 2 | 3 | 4 | 5 | … | 9 | 10+ |
/// |---|---|---|---|---|---|---|---|---|---|
/// | delay | 0 | 1 s | 2 s | 4 s | 8 s | 16 s | … | 256 s | 300 s |
///
/// No jitter: one controller per host has no herd to spread.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(300)) {
        self.base = base
        self.cap = cap
    }

    public func delay(attempt: Int) -> Duration {
        guard attempt > 0 else { return .zero }
        let exponent = min(attempt - 1, 30)
        let delay = base * (1 << exponent)
        return min(delay, cap)
    }
}

/// Keeps a crash-looping service from driving the control loop hot.
///
/// Every time the loop has to repair a service (its container was missing or had stopped), the
/// service's failure count n goes up, and its next repair waits `backoff.delay(attempt: n)`: the
/// first repair is immediate, the second waits 1 s, the third 2 s, then 4 s, 8 s, … A service is
/// healthy again, and its count resets, when the round that finds it needing a repair began more
/// than `stableAfter` after its backoff ended: its container then stayed up that long. Measured
/// from the round's start, not its end, so a slow Engine (a start that takes 15 s) does not make a
/// crash loop look stable; and from the backoff's end, so a long wait does not either. Pure: time
/// is passed in.
public struct CrashLoopTracker: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var failures: Int
        public var notBefore: ContinuousClock.Instant
    }

    public var backoff: Backoff
    public var stableAfter: Duration
    public private(set) var entries: [String: Entry] = [:]

    public init(backoff: Backoff = Backoff(), stableAfter: Duration = .seconds(60)) {
        self.backoff = backoff
        self.stableAfter = stableAfter
    }

    /// Records that `services` were repaired by a round that began at `observedAt` (when it read the
    /// host) and ended at `now`.
    public mutating func recordRepairs(
        _ services: some Sequence<String>, at now: ContinuousClock.Instant, observedAt: ContinuousClock.Instant? = nil
    ) {
        let observed = observedAt ?? now
        for service in services {
            var entry = entries[service] ?? Entry(failures: 0, notBefore: now)
            if observed - entry.notBefore > stableAfter { entry.failures = 0 }
            entry.failures += 1
            entry.notBefore = now + backoff.delay(attempt: entry.failures)
            entries[service] = entry
        }
    }

    /// Services whose next repair must wait, with the instant it may happen.
    public mutating func held(at now: ContinuousClock.Instant) -> [String: ContinuousClock.Instant] {
        entries = entries.filter { now - $0.value.notBefore <= stableAfter }
        return entries.filter { $0.value.notBefore > now }.mapValues(\.notBefore)
    }
}

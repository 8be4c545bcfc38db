/// Why a reconcile runs, as logged (stored by raw value).
public enum TriggerKind: String, Sendable, Codable, Comparable, CaseIterable {
    /// Commands: `apply`, `down`, a reconcile that goes back (after a failed gate or switch, or
    /// `berth rollback`), and `berth adopt`.
    case apply, down, rollback, adopt
    /// Rounds of `watch`; `git`: the followed ref moved to a new commit.
    case startup, manifest, git, event, backoff, retry, resync

    /// When several arrive together, the log names the most specific one.
    var priority: Int {
        switch self {
        case .manifest, .git: 0
        case .event: 1
        case .startup: 2
        case .backoff: 3
        case .retry: 4
        case .resync: 5
        case .apply, .down, .rollback, .adopt: 6
        }
    }

    public static func < (a: TriggerKind, b: TriggerKind) -> Bool { a.priority < b.priority }
}

/// One reason to reconcile, e.g. `.event` with detail `destroy shop-web`.
public struct Trigger: Sendable, Equatable {
    public var kind: TriggerKind
    public var detail: String
    /// The id of the container an Engine event reported on, to be read fresh (not from the list).
    public var container: String?

    public init(_ kind: TriggerKind, _ detail: String, container: String? = nil) {
        self.kind = kind
        self.detail = detail
        self.container = container
    }
}

/// Coalesces triggers: any number pushed while a reconcile runs (or during the debounce window)
/// become one pending batch, so a burst of events yields one reconcile, never a queue of stale ones.
///
/// Producers `push`; the loop iterates `doorbell` (which holds at most one ring) and `drain`s.
public actor TriggerQueue {
    private var pending: [Trigger] = []
    public nonisolated let doorbell: AsyncStream<Void>
    private let ring: AsyncStream<Void>.Continuation

    public init() {
        (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func push(_ trigger: Trigger) {
        pending.append(trigger)
        ring.yield()
    }

    /// Everything pushed since the last drain.
    public func drain() -> [Trigger] {
        defer { pending.removeAll() }
        return pending
    }

    /// What was pushed since the last drain, from `index` on, without draining it: a round in
    /// flight looks at the events that came meanwhile (see `LateEvents`).
    public func peek(from index: Int) -> ArraySlice<Trigger> { pending[min(index, pending.count)...] }

    public func finish() { ring.finish() }
}

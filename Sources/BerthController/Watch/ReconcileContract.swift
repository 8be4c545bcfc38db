/// The contract between `ControlLoop`, which decides *when* a round runs, and a `RoundReconciler`,
/// which decides *what* it does (in the spirit of controller-runtime's `Reconciler` and `Result`).
/// The loop queues, coalesces, backs off, holds crash-looping services and shuts down; it never
/// loads manifests, takes locks or reads a plan's text.
public protocol RoundReconciler: Sendable {
    /// The stack's name and the files whose edits can change it, read once as the loop starts.
    func prepare() async -> (stack: String, watched: WatchedFiles)
    /// Runs one round. Never throws: every way a round can end is a `RoundResult`.
    func reconcile(_ request: RoundRequest) async -> RoundResult
    /// The services the loop holds back after a round, for `berth status` in another process.
    func backoffChanged(_ held: [String: CrashLoopTracker.Entry]) async
}

/// One round the loop asks for.
public struct RoundRequest: Sendable {
    /// Why it runs: the most specific of the triggers gathered into it.
    public var trigger: Trigger
    /// A manifest file changed: read the stack again first.
    public var reload: Bool
    /// Services in crash-loop backoff, left alone this round.
    public var hold: Set<String>
    /// Containers events named, read by inspect as well as listed (see `Observer.observe(recheck:)`).
    public var recheck: Set<String>
    /// Containers someone stopped or killed: starting them again repairs drift, not a crash.
    public var stoppedByHand: Set<String>
    /// Engine events that arrive while the round runs, for repairs it can take on at once.
    public var late: LateEvents?

    public init(
        trigger: Trigger, reload: Bool = false, hold: Set<String> = [], recheck: Set<String> = [], stoppedByHand: Set<String> = [],
        late: LateEvents? = nil
    ) {
        self.trigger = trigger
        self.reload = reload
        self.hold = hold
        self.recheck = recheck
        self.stoppedByHand = stoppedByHand
        self.late = late
    }
}

/// How a round ended, and what the loop does next.
public struct RoundResult: Sendable {
    public enum Next: Sendable, Equatable {
        /// Wait for the next trigger.
        case done
        /// Run again after at least this long (a failed step, a container the Engine is still removing).
        case requeue(after: Duration, reason: String)
        /// The Engine could not be reached: the loop retries with its growing backoff.
        case engineUnavailable(String)
    }

    public var next: Next
    /// Nil when the round did not reconcile (invalid manifests, Engine unavailable).
    public var report: ReconcileReport?
    /// Why it did not, for the terminal.
    public var error: String?
    /// Services whose repair counts toward crash-loop backoff: a container that exited on its own
    /// was started again, or a step on the service failed. From the steps' service identity.
    public var repaired: Set<String>
    /// Containers this round started (the loop forgets that they were stopped by hand).
    public var started: Set<String>
    /// The stack's networks and containers: events on them concern the stack.
    public var scope: StackScope?

    public init(
        next: Next, report: ReconcileReport? = nil, error: String? = nil, repaired: Set<String> = [], started: Set<String> = [],
        scope: StackScope? = nil
    ) {
        self.next = next
        self.report = report
        self.error = error
        self.repaired = repaired
        self.started = started
        self.scope = scope
    }
}

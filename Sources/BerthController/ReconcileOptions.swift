import BerthModel
import Foundation

/// The user's choices for a reconcile: what to run and how far to go.
public struct ReconcileOptions: Sendable {
    public var profiles: [String]?
    public var environment: String?
    public var replaceConflicts: Bool
    /// Ask the registries whether tags moved, for every image not `pull_policy: never` (`--pull`).
    public var pull = false
    /// Drop the rollback holds first, so failed rollouts are tried again (`--retry-failed`).
    public var retryFailed = false
    /// Start the services `berth stop` stopped (`berth apply`, as `docker compose up` does);
    /// otherwise (`watch`) they stay stopped.
    public var startStopped = false
    /// What `${VAR}` resolves against: the caller's process environment, passed in.
    public var processEnvironment: [String: String]

    public init(processEnvironment: [String: String], profiles: [String]? = nil, environment: String? = nil, replaceConflicts: Bool = false) {
        self.processEnvironment = processEnvironment
        self.profiles = profiles
        self.environment = environment
        self.replaceConflicts = replaceConflicts
    }

    /// The choices of a reconcile that goes back: no registry checks, holds kept.
    var goingBack: ReconcileOptions {
        var options = self
        (options.pull, options.retryFailed, options.startStopped) = (false, false, false)
        return options
    }
}

/// Why a reconcile runs, and what its caller knows that the user did not choose.
public struct Occasion: Sendable, Equatable {
    public var trigger: Trigger
    /// Services to leave alone this time (crash-loop backoff).
    public var hold: Set<String> = []
    /// Ids of containers an Engine event just reported on, read by inspect as well as listed
    /// (see `Observer.observe(recheck:)`).
    public var recheck: Set<String> = []

    public init(trigger: Trigger, hold: Set<String> = [], recheck: Set<String> = []) {
        self.trigger = trigger
        self.hold = hold
        self.recheck = recheck
    }

    /// `berth apply` (and `plan`, `status`, which preview one).
    public static let apply = Occasion(trigger: Trigger(.apply, ""))

    /// A reconcile that goes back to a healthy revision or selection (after a failed gate or
    /// switch, or on request).
    public static func rollback(_ reason: String) -> Occasion { Occasion(trigger: Trigger(.rollback, reason)) }

    /// Whether a rollout that fails its gate here is rolled back: not in a rollback itself, whose
    /// failure is reported, not chased further back.
    var rollsBackFailures: Bool { trigger.kind != .rollback }
}

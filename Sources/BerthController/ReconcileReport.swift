public import BerthEngine
public import BerthModel
public import BerthStore
public import Foundation

/// How a reconcile ended.
public enum ReconcileOutcome: String, Sendable, Codable {
    /// Nothing to do: the host already matched.
    case converged
    /// Steps ran and all succeeded.
    case changed
    /// Some steps failed or were skipped; others succeeded.
    case partial
    /// Every attempted step failed.
    case failed
    /// Something Berth does not own is in the way.
    case conflict
    /// Nothing failed, but the Engine is still finishing something (a container being removed);
    /// the next reconcile converges.
    case pending

    /// Whether the host now matches the manifests.
    public var isConverged: Bool { self == .converged || self == .changed }
}

/// Everything a reconcile did, for output and tests.
public struct ReconcileReport: Sendable {
    public var reconcileID: Int64?
    public var stack: String
    /// Secrets redacted.
    public var desired: DesiredState
    public var plan: Plan
    public var results: [Int: StepResult]
    public var outcome: ReconcileOutcome
    public var engineCalls: EngineCallCounts
    public var startedAt: Date
    public var endedAt: Date
    /// Containers replaced, with their gate result.
    public var rollouts: [RolloutRecord] = []
    /// Services held at an earlier revision this time, instead of what the manifests say.
    public var holds: [RollbackHold] = []
    /// The rollback reconcile that followed a failed rollout or a failed profile switch, if any.
    public var rollback: [ReconcileReport] = []
    /// Why the reconcile failed as a whole although its steps may have succeeded (a profile
    /// switch whose consumers did not all pass their gates).
    public var failure: String?
    /// The host as this reconcile found it, before acting: with the results, what each service
    /// is now (`ServiceState.after`).
    public var observed: ObservedState?
    /// Services `berth stop` stopped, which the reconcile left stopped.
    public var stoppedOnPurpose: [String: Date] = [:]
}

/// What a reconcile would do, computed without touching the host.
public struct Preview: Sendable {
    /// What the manifests say, resolved.
    public var wanted: DesiredState
    /// What will be planned for: `wanted` with held services at their held revision.
    public var desired: DesiredState
    public var observed: ObservedState
    public var plan: Plan
    public var holds: [RollbackHold]
    /// Holds the manifests or images have moved past; dropped by the next apply.
    public var endedHolds: [RollbackHold]
    /// Connections this reconcile points at another target, and the selection it moves away from.
    public var switches: [ConnectionSwitch] = []
    public var previousSelection: StackSelection?
    /// Services `berth stop` stopped, with when: held as they are unless the reconcile starts them.
    public var stoppedOnPurpose: [String: Date] = [:]
    /// The swarm's services and networks, when the stack targets a swarm (`observed` is then empty).
    public var swarm: ObservedSwarm?
}

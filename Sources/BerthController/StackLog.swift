import BerthModel
import BerthStore
import Foundation

/// What the reconcile log says about a stack that planning reads. None of it depends on the
/// host, so `preview` reads it while the Engine answers its lists, not after.
struct StackLog {
    /// Services held at an earlier revision after a failed rollout or a rollback.
    let holds: [RollbackHold]
    let hooksRun: Set<String>
    let failedStarts: [String: Int]
    let adoptedVolumes: Set<String>
    /// The spec hash each service was last applied with.
    let appliedHashes: [String: String]
    /// Services stopped with `berth stop`, left as they are unless this reconcile starts them.
    let stopped: [String: Date]

    init(_ store: ReconcileStore, stack: String, includingStopped: Bool) throws {
        holds = try store.holds(stack: stack)
        hooksRun = try store.hooksRun(stack: stack)
        failedStarts = try store.failedStarts(stack: stack)
        adoptedVolumes = try store.adoptedVolumes(stack: stack)
        appliedHashes = try store.appliedHashes(stack: stack)
        stopped = includingStopped ? try store.stoppedServices(stack: stack) : [:]
    }
}

import Foundation

/// Tests that must not share the machine with the parallel run: one restarts the shared dockerd,
/// the others measure (a zero-downtime update, repair latency against the Engine's own), and a
/// saturated CPU would decide their result.
/// `scripts/test` runs each afterwards in its own invocation, with `BERTH_TEST_ALONE` set to its
/// name; without it they are skipped.
public enum RunsAlone {
    public static let dockerdRestart = "dockerd-restart"
    public static let startFirstProbe = "start-first-probe"
    public static let removalRepair = "removal-repair"

    /// Whether this invocation is the one for `name`.
    public static func now(_ name: String) -> Bool {
        ProcessInfo.processInfo.environment["BERTH_TEST_ALONE"] == name
    }
}

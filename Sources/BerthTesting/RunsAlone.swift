import Foundation

/// Tests that must not share the machine with the parallel run: one restarts the shared dockerd,
/// another measures a zero-downtime update, whose result a saturated CPU would decide.
/// `scripts/test` runs each afterwards in its own invocation, with `BERTH_TEST_ALONE` set to its
/// name; without it they are skipped.
public enum RunsAlone {
    public static let dockerdRestart = "dockerd-restart"
    public static let startFirstProbe = "start-first-probe"

    /// Whether this invocation is the one for `name`.
    public static func now(_ name: String) -> Bool {
        ProcessInfo.processInfo.environment["BERTH_TEST_ALONE"] == name
    }
}

import BerthController
import BerthEngine
import Foundation
import Testing

/// Podman runs healthchecks from systemd timers: where none runs, a health gate says so once the
/// first check was due, instead of waiting for its whole deadline.
@Suite struct PodmanHealthTests {
    static func details(health: String, log: String) throws -> ContainerDetails {
        let json = """
            {"Id": "c1", "Name": "/web", "Image": "sha256:1",
             "State": {"Status": "running", "Running": true, "ExitCode": 0, "StartedAt": "", "FinishedAt": "",
                       "Health": {"Status": "\(health)", "FailingStreak": 0, "Log": \(log)}},
             "Config": {"Image": "busybox", "Healthcheck": {"Test": ["CMD", "true"], "Interval": 2000000000, "Timeout": 1000000000}},
             "HostConfig": {}, "NetworkSettings": {"Networks": {}}, "Mounts": []}
            """
        return try JSONDecoder().decode(ContainerDetails.self, from: Data(json.utf8))
    }

    /// Due after interval (2 s) + timeout (1 s) + 10 s.
    @Test(arguments: [
        ("starting", "null", 12, false), ("starting", "null", 14, true), ("starting", "[]", 14, true),
        ("starting", #"[{"ExitCode": 1, "Output": "no"}]"#, 14, false), ("healthy", "null", 14, false),
    ])
    func noCheckRunIsToldOnceTheFirstWasDue(_ health: String, _ log: String, _ waited: Int, _ told: Bool) throws {
        let message = Executor.healthchecksNotRunning(try Self.details(health: health, log: log), waited: .seconds(waited))
        #expect((message != nil) == told)
        if let message { #expect(message.contains("systemd")) }
    }
}

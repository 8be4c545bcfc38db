import BerthEngine
import BerthTesting
import Foundation
import Testing

/// What only Podman does differently, through the release binary; the converge, profile-switch,
/// watch and pull suites run against Podman too (`scripts/test`). Enabled in that pass
/// (`BERTH_TEST_ENGINE=podman`, DOCKER_HOST at `scripts/podman`'s socket).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["BERTH_TEST_ENGINE"] == "podman", "the Engine under test is not Podman"))
struct PodmanTests {
    /// Writes a Compose project of one service `web` and returns the arguments that name it.
    func project(_ stack: TestStack, web: String) throws -> [String] {
        try stack.write("docker-compose.yml", "services:\n  web:\n    image: \(TestStack.baseImage)\n    command: [sleep, \"100000\"]\n" + web)
        return ["-f", stack.directory.appendingPathComponent("docker-compose.yml").path, "-p", stack.name]
    }

    @Test func engineSaysPodman() async throws {
        try await TestStack.with("pm") { stack in
            #expect(stack.engine.product == .podman)
            let human = try await stack.berth(["engine"])
            #expect(human.stdout.hasPrefix("Podman "), "\(human.stdout)")
            let json = try await stack.berth(["engine", "--json"])
            #expect(json.stdout.contains(#""product" : "podman""#), "\(json.stdout)")
        }
    }

    /// The second apply of a stack whose services have healthchecks is a no-op: health comes from
    /// Podman's health-filtered lists, not the status text it leaves it out of.
    @Test func secondApplyIsANoOp() async throws {
        try await TestStack.with("pm") { stack in
            let project = try project(
                stack, web: "    init: true\n    healthcheck: {test: [CMD, \"true\"], interval: 1s, timeout: 20s, retries: 3}\n")
            let first = try await stack.berth(["apply"] + project)
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            let plan = try await stack.berth(["plan", "--detailed-exitcode"] + project)
            #expect(plan.status == 0, "\(plan.stdout)")
            let second = try await stack.berth(["apply"] + project)
            #expect(second.stdout.contains("already converged"), "\(second.stdout)")
            let status = try await stack.berth(["status"] + project)
            #expect(status.stdout.contains("running (healthy)") && status.stdout.contains("in sync"), "\(status.stdout)")
            let history = try await stack.berth(["history", "--json", "--stack", stack.name])
            #expect(history.stdout.contains(#""engine" : "Podman 4."#), "\(history.stdout)")
        }
    }

    /// Where no healthcheck ever runs (no systemd; the container is labelled so the test harness
    /// leaves it alone), the gate fails once the first check was due, saying why, instead of
    /// waiting out its 5-minute deadline.
    @Test func noHealthcheckRunFailsFast() async throws {
        try await TestStack.with("pm") { stack in
            let project = try project(
                stack,
                web: "    labels: {berth-test.no-systemd: \"true\"}\n"
                    + "    healthcheck: {test: [CMD, \"true\"], interval: 1s, timeout: 1s, retries: 100, start_period: 300s}\n")
            let started = Date()
            let apply = try await stack.berth(["apply"] + project)
            #expect(apply.status != 0)
            #expect(apply.stdout.contains("Podman ran no healthcheck"), "\(apply.stdout)")
            #expect(Date().timeIntervalSince(started) < 120)
        }
    }
}

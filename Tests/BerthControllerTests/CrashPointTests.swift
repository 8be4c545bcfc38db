import BerthEngine
import BerthTesting
import Foundation
import Testing

/// Berth killed (SIGKILL, no cleanup) right after its k-th Engine write, for every k of three
/// representative applies. After each kill, one plain `apply` converges: one container per
/// service, all running under their own names (no `<id>_name` leftovers), volume data intact.
/// Serialized: each scenario starts dozens of short Berth processes; one at a time keeps the
/// machine responsive for the timing-sensitive tests that run beside it.
@Suite(.serialized) struct CrashPointTests {
    enum Scenario: String, CaseIterable, Sendable {
        /// Empty host → network, volume, containers, health gates, the hook.
        case freshApply
        /// An environment value changes → every container is replaced, the db keeps its volume.
        case recreate
        /// internal-db → external-db: the preflight probe, then the db container goes and both
        /// consumers are replaced. A kill during the probe leaves the host on internal-db.
        case profileSwitch
    }

    /// The stack: a "db" owning a named volume (internal-db only), two consumers of it.
    static let manifests = """
        kind: Stack
        name: {{stack}}
        profiles: [internal-db, external-db]
        default_profiles: [internal-db]
        default_environment: test
        ---
        kind: Volume
        name: data
        ---
        kind: Service
        name: db
        image: \(TestStack.baseImage)
        profiles: [internal-db]
        init: true
        command: ["sh", "-c", "mkdir -p /data/www && echo ok > /data/www/index.html && exec httpd -f -p 5432 -h /data/www"]
        volumes: ["data:/data"]
        environment: {MODE: "${MODE}"}
        healthcheck: {test: ["CMD", "timeout", "1", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:5432/"], interval: 200ms, retries: 30}
        hooks: [{name: init, command: [sh, -c, "echo init >> /data/hook-runs"]}]
        ---
        kind: Service
        name: web
        image: \(TestStack.baseImage)
        init: true
        command: [sleep, "600"]
        environment: {MODE: "${MODE}"}
        ---
        kind: Service
        name: worker
        image: \(TestStack.baseImage)
        init: true
        command: [sleep, "600"]
        environment: {MODE: "${MODE}"}
        ---
        kind: Connection
        name: database
        consumers: [web, worker]
        targets:
          internal-db: {service: db, port: 5432}
          external-db: {host: "{{stack}}-outside", port: 5432}
        env: {DB_HOST: "${host}", DB_PORT: "${port}"}
        ---
        kind: Environment
        name: test
        variables: {MODE: "${MODE:-one}"}
        """

    func berth(_ stack: TestStack, _ arguments: [String], mode: String, crashAfter k: Int? = nil) async throws -> CommandResult {
        var environment = stack.berthEnvironment
        environment["MODE"] = mode
        environment["BERTH_CRASH_AFTER_WRITES"] = k.map(String.init)
        return try await Command.run(BerthBinary.path, arguments, environment: environment)
    }

    /// Writes a marker into the volume through the running db, so "data intact" can be checked.
    func mark(_ stack: TestStack) async throws {
        _ = try await Command.docker("exec", "\(stack.name)-db", "sh", "-c", "echo kept > /data/marker")
    }

    func volumeMarker(_ stack: TestStack) async throws -> String? {
        let result = try await Command.run(
            "docker", ["run", "--rm", "-v", "\(stack.name)_data:/data", TestStack.baseImage, "cat", "/data/marker"])
        return result.status == 0 ? result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    @Test(arguments: Scenario.allCases)
    func everyCrashPointConvergesOnTheNextApply(_ scenario: Scenario) async throws {
        try await TestStack.with("k") { stack in
            try stack.write("stack.yaml", Self.manifests)
            let directory = stack.directory.path
            let before = (mode: "one", profile: "internal-db")
            let after = (mode: scenario == .recreate ? "two" : "one", profile: scenario == .profileSwitch ? "external-db" : "internal-db")
            let expected = after.profile == "internal-db" ? ["db", "web", "worker"] : ["web", "worker"]

            /// Puts the host in the scenario's starting state.
            func reset() async throws {
                if scenario == .freshApply {
                    _ = try await berth(stack, ["down", directory], mode: before.mode)
                } else {
                    let result = try await berth(stack, ["apply", directory, "--profile", before.profile], mode: before.mode)
                    try #require(result.status == 0, "reset: \(result.stdout)\(result.stderr)")
                }
            }
            if scenario != .freshApply {
                try await reset()
                try await mark(stack)
            }
            // The outside database of external-db: a server on the stack's network that Berth does not own.
            let outside = "\(stack.name)-outside"
            if scenario == .profileSwitch {
                try await Command.docker(
                    "run", "-d", "--name", outside, "--init", "--network", "\(stack.name)_default", TestStack.baseImage, "httpd", "-f", "-p", "5432")
            }
            defer { if scenario == .profileSwitch { Task { _ = try? await Command.run("docker", ["rm", "-f", outside]) } } }

            var crashPoints = 0
            for k in 1...200 {
                try await reset()
                let killed = try await berth(stack, ["apply", directory, "--profile", after.profile], mode: after.mode, crashAfter: k)
                if killed.status == 0 { break }  // fewer than k writes: every point is covered
                try #require(killed.status == 128 + SIGKILL || killed.status == SIGKILL, "k=\(k): \(killed.stdout)\(killed.stderr)")
                crashPoints += 1

                let resumed = try await berth(stack, ["apply", directory], mode: after.mode)
                #expect(resumed.status == 0, "k=\(k): \(resumed.stdout)\(resumed.stderr)")
                let containers = try await stack.containers()
                let services = containers.map { $0.labels["berth.service"] ?? "?" }.sorted()
                // A switch killed before its first write to the stack (during the preflight probe)
                // ends on the side it started from; one killed later ends on the new side.
                let startingSide = ["db", "web", "worker"]
                #expect(services == expected || (scenario == .profileSwitch && services == startingSide), "k=\(k): \(containers.map(\.name))")
                #expect(containers.allSatisfy { $0.state == "running" }, "k=\(k)")
                #expect(containers.allSatisfy { $0.name == "\(stack.name)-\($0.labels["berth.service"] ?? "")" }, "k=\(k): \(containers.map(\.name))")
                #expect(try await stack.engine.listVolumes(labels: ["berth.stack=\(stack.name)"]).map(\.name) == ["\(stack.name)_data"])
                if scenario != .freshApply {
                    #expect(try await volumeMarker(stack) == "kept", "k=\(k)")
                }
                let converged = try await berth(stack, ["plan", directory, "--detailed-exitcode"], mode: after.mode)
                #expect(converged.status == 0, "k=\(k): \(converged.stdout)")
            }
            #expect(crashPoints >= 5)
            print("crash points exercised (\(scenario.rawValue)): \(crashPoints)")
        }
    }
}

import BerthTesting
import Foundation
import Testing

/// The verbs an operator reaches for after `apply`, run as the release binary on a real dockerd:
/// `ps`, `logs`, `exec`, `stop`/`start`/`restart`, `status` with its exit code.
@Suite struct DayTwoTests {
    /// A web service publishing a port and printing to both streams, and a worker that depends on it.
    static func manifests(port: Int) -> String {
        """
        kind: Stack
        name: {{stack}}
        ---
        kind: Service
        name: web
        image: \(TestStack.baseImage)
        init: true
        command: [sh, -c, "echo web says hello; echo web complains >&2; exec sleep 600"]
        ports: ["127.0.0.1:\(port):80"]
        ---
        kind: Service
        name: worker
        image: \(TestStack.baseImage)
        init: true
        command: [sh, -c, "echo worker ready; exec sleep 600"]
        depends_on: [web]

        """
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    func services(_ status: [String: Any]) -> [String: [String: Any]] {
        Dictionary(uniqueKeysWithValues: (status["services"] as? [[String: Any]] ?? []).map { ($0["service"] as? String ?? "", $0) })
    }

    @Test func psLogsAndExecFindTheServicesContainers() async throws {
        try await TestStack.with("d2") { stack in
            let port = Int.random(in: 20000...40000)
            try stack.write("stack.yaml", Self.manifests(port: port))
            let directory = stack.directory.path
            let applied = try await stack.berth(["apply", directory])
            #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")

            let ps = try await stack.berth(["ps", directory])
            #expect(ps.status == 0)
            #expect(ps.stdout.contains("SERVICE") && ps.stdout.contains("UPTIME"), "\(ps.stdout)")
            #expect(ps.stdout.contains("127.0.0.1:\(port)->80/tcp"), "\(ps.stdout)")
            let listed = try json(try await stack.berth(["ps", directory, "--json"]).stdout)
            #expect(listed["schemaVersion"] as? Int == 1)
            let rows = listed["containers"] as? [[String: Any]] ?? []
            #expect(rows.map { $0["service"] as? String } == ["web", "worker"])
            #expect(rows.allSatisfy { $0["state"] as? String == "running" && $0["uptimeSeconds"] is Int })

            // Both streams of every service, each line prefixed, as `docker compose logs`.
            var logs = try await stack.berth(["logs", directory])
            for _ in 0..<300 where !logs.stdout.contains("worker ready") {
                try await Task.sleep(for: .milliseconds(100))
                logs = try await stack.berth(["logs", directory])
            }
            #expect(logs.stdout.contains("web    | web says hello"), "\(logs.stdout)")
            #expect(logs.stdout.contains("web    | web complains"))
            #expect(logs.stdout.contains("worker | worker ready"))
            let webOnly = try await stack.berth(["logs", directory, "web", "--no-prefix", "--tail", "1"])
            #expect(webOnly.stdout.split(separator: "\n").count == 1 && !webOnly.stdout.contains("worker"), "\(webOnly.stdout)")
            let lines = try await stack.berth(["logs", directory, "--json", "--since", "1h"]).stdout.split(separator: "\n").map {
                try json(String($0))
            }
            #expect(
                lines.contains {
                    $0["service"] as? String == "web" && $0["stream"] as? String == "stderr" && $0["text"] as? String == "web complains"
                })
            #expect(try await stack.berth(["logs", directory, "--since", "yesterday"]).status == 64)

            // exec: the command's output and exit status are the command's own.
            let exec = try await stack.berth(["exec", directory, "web", "--", "sh", "-c", "echo $((6 * 7)); echo to-err >&2; exit 3"])
            #expect(exec.status == 3)
            #expect(exec.stdout == "42\n", "\(exec.stdout)")
            #expect(exec.stderr.contains("to-err"))
            let piped = try await Command.run(
                BerthBinary.path, ["exec", directory, "worker", "cat"], environment: stack.berthEnvironment, stdin: Data("through stdin\n".utf8))
            #expect(piped.status == 0 && piped.stdout == "through stdin\n", "\(piped)")

            // A mistyped service: exit 1, the closest name, nothing else run.
            let typo = try await stack.berth(["logs", directory, "wbe"])
            #expect(typo.status == 1)
            #expect(typo.stderr.contains("has no service 'wbe'; did you mean 'web'?"), "\(typo.stderr)")
            #expect(try await stack.berth(["exec", directory, "wbe", "--", "true"]).status == 1)
        }
    }

    /// `stop` is kept while `watch` runs: the stopped service is shown as stopped on purpose, not
    /// repaired; `start` lets watch keep it running again; `apply` starts what `stop` stopped.
    @Test func aServiceStoppedOnPurposeStaysStoppedUnderWatch() async throws {
        try await TestStack.with("d2") { stack in
            try stack.write("stack.yaml", Self.manifests(port: Int.random(in: 20000...40000)))
            let directory = stack.directory.path
            #expect(try await stack.berth(["apply", directory]).status == 0)

            let watch = Process()
            watch.executableURL = URL(fileURLWithPath: BerthBinary.path)
            watch.arguments = ["watch", directory, "--resync", "1", "--listen", "127.0.0.1:0"]
            watch.environment = stack.berthEnvironment
            watch.standardOutput = FileHandle.nullDevice
            watch.standardError = FileHandle.nullDevice
            try watch.run()
            defer { if watch.isRunning { watch.terminate() } }
            try await Task.sleep(for: .seconds(2))

            let stopped = try await stack.berth(["stop", directory, "worker", "--json"])
            #expect(stopped.status == 0, "\(stopped.stderr)")
            let result = try json(stopped.stdout)
            #expect((result["containers"] as? [[String: Any]])?.map { $0["outcome"] as? String } == ["stopped"])
            try await Task.sleep(for: .seconds(4))  // several resyncs and the stop's own events
            let worker = { try await stack.containers().first { $0.labels["berth.service"] == "worker" }?.state }
            #expect(try await worker() == "exited")

            let status = try await stack.berth(["status", directory, "--detailed-exitcode"])
            #expect(status.status == 0, "\(status.stdout)")
            #expect(status.stdout.contains("■ worker") && status.stdout.contains("stopped on purpose"), "\(status.stdout)")
            #expect(
                services(try json(try await stack.berth(["status", directory, "--json"]).stdout))["worker"]?["condition"] as? String
                    == "stoppedOnPurpose")

            #expect(try await stack.berth(["start", directory, "worker"]).status == 0)
            #expect(try await worker() == "running")
            try await Command.docker("stop", "-t", "1", "\(stack.name)-worker")
            var repaired = false
            for _ in 0..<300 where !repaired {
                try await Task.sleep(for: .milliseconds(200))
                repaired = try await worker() == "running"
            }
            #expect(repaired, "after start, watch repairs the worker again")
            watch.terminate()

            #expect(try await stack.berth(["stop", directory]).status == 0)
            #expect(try await stack.containers().allSatisfy { $0.state == "exited" })
            let plan = try await stack.berth(["plan", directory])
            #expect(plan.stdout.contains("start container"), "apply starts what stop stopped: \(plan.stdout)")
            #expect(try await stack.berth(["apply", directory]).status == 0)
            #expect(try await stack.containers().allSatisfy { $0.state == "running" })
            #expect(
                services(try json(try await stack.berth(["status", directory, "--json"]).stdout)).values.allSatisfy {
                    $0["condition"] as? String == "ok"
                })
        }
    }

    /// `restart` restarts in dependency order; `status --detailed-exitcode` says 2 for drift.
    @Test func restartAndDriftExitCode() async throws {
        try await TestStack.with("d2") { stack in
            try stack.write("stack.yaml", Self.manifests(port: Int.random(in: 20000...40000)))
            let directory = stack.directory.path
            #expect(try await stack.berth(["apply", directory]).status == 0)
            let restarted = try json(try await stack.berth(["restart", directory, "--json"]).stdout)
            #expect((restarted["containers"] as? [[String: Any]])?.map { $0["service"] as? String } == ["web", "worker"])

            try await Command.docker("rm", "-f", "\(stack.name)-worker")
            let drift = try await stack.berth(["status", directory, "--detailed-exitcode"])
            #expect(drift.status == 2)
            #expect(drift.stdout.contains("✗ worker") && drift.stdout.contains("DRIFT"), "\(drift.stdout)")
            #expect(try await stack.berth(["status", directory]).status == 0, "without the flag, drift is not an error")
            let start = try await stack.berth(["start", directory, "worker"])
            #expect(start.status == 1 && start.stderr.contains("`berth apply` creates it"), "\(start.stderr)")

            // `down` forgets deliberate stops: a stack brought back by watch starts everything.
            #expect(try await stack.berth(["stop", directory, "web", "-t", "1"]).status == 0)
            #expect(try stack.store().stoppedServices(stack: stack.name).keys.contains("web"))
            #expect(try await stack.berth(["down", directory]).status == 0)
            #expect(try stack.store().stoppedServices(stack: stack.name).isEmpty)
        }
    }
}

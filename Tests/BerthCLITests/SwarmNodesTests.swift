import BerthTesting
import Foundation
import Testing

private let managerHost = ProcessInfo.processInfo.environment["BERTH_TEST_SWARM_NODES"]

/// The same manifests onto a two-node swarm (`scripts/swarm-nodes`: two dockerd in network
/// namespaces of their own, joined over a veth pair): placement across nodes, a consumer on one
/// node reaching its database on the other through the overlay network, and a node lost and
/// back. `scripts/test` runs it after the single-node suite where the kernel allows it.
@Suite(.enabled(if: managerHost != nil, "no multi-node swarm: scripts/test starts one (scripts/swarm-nodes) where the kernel allows"))
struct SwarmNodesTests {
    static let manifests = """
        kind: Stack
        name: {{stack}}
        target: swarm
        swarm:
          deploy:
            db: {endpoint_mode: dnsrr, placement: {constraints: ["node.role==manager"]}}
            app: {placement: {constraints: ["node.role==worker"]}}
            web: {replicas: 2, endpoint_mode: dnsrr, placement: {preferences: [{spread: node.id}]}}
        ---
        kind: Service
        name: db
        image: \(TestStack.baseImage)
        command: [httpd, -f, -p, "5432"]
        ---
        kind: Service
        name: web
        image: \(TestStack.baseImage)
        command: [httpd, -f, -p, "8080"]
        ---
        kind: Service
        name: app
        image: \(TestStack.baseImage)
        command: [sleep, "600"]
        init: true
        # Passes only when the database on the other node answers through the overlay network.
        healthcheck: {test: [CMD, sh, -c, "echo | nc -w 1 db 5432"], interval: 1s, timeout: 3s, retries: 2}
        depends_on: [db]

        """

    static func manager(_ arguments: [String]) async throws -> String {
        let result = try await Command.run("docker", ["-H", managerHost ?? ""] + arguments)
        guard result.status == 0 else { throw CommandFailure(command: "docker " + arguments.joined(separator: " "), result: result) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `service node` for each running task of the stack, sorted.
    static func placement(of stack: String) async throws -> [String] {
        var rows: [String] = []
        for service in ["app", "db", "web"] {
            let nodes = try await manager([
                "service", "ps", "\(stack)-\(service)", "--filter", "desired-state=running", "--format", "{{.Node}} {{.CurrentState}}",
            ])
            rows += nodes.split(separator: "\n").filter { $0.contains("Running") }.map { "\(service) \($0.split(separator: " ")[0])" }
        }
        return rows.sorted()
    }

    static func nodes(_ arguments: [String]) async throws {
        let script = ProcessInfo.processInfo.environment["BERTH_TEST_SWARM_NODES_SCRIPT"] ?? "scripts/swarm-nodes"
        let result = try await Command.run(script, arguments)
        guard result.status == 0 else { throw CommandFailure(command: "\(script) " + arguments.joined(separator: " "), result: result) }
    }

    /// Polls `condition` every 500 ms for up to `seconds`.
    static func eventually(_ seconds: Int, _ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<(seconds * 2) {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(500))
        }
        return try await condition()
    }

    @Test func placesAcrossNodesAndSaysWhenANodeIsLost() async throws {
        try await TestStack.with("swm") { stack in
            var environment = stack.berthEnvironment
            environment["DOCKER_HOST"] = managerHost
            func berth(_ arguments: [String]) async throws -> CommandResult {
                try await Command.run(BerthBinary.path, arguments, environment: environment)
            }
            defer {
                Task { [name = stack.name, environment] in
                    _ = try? await Command.run(BerthBinary.path, ["down", name], environment: environment)
                }
            }
            let directory = stack.directory.path
            try stack.write("stack.yaml", Self.manifests)

            // Placed by the environment's constraints and spread; app's gate crosses the overlay.
            let applied = try await berth(["apply", directory])
            #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
            #expect(
                try await Self.placement(of: stack.name) == ["app berth-node2", "db berth-node1", "web berth-node1", "web berth-node2"])

            // node2 lost: the plan says which node, and that app cannot run elsewhere.
            try await Self.nodes(["--kill", "2"])
            let down = try await Self.eventually(60) {
                try await Self.manager(["node", "ls", "--format", "{{.Hostname}} {{.Status}}"]).contains("berth-node2 Down")
            }
            #expect(down)
            var plan = try await berth(["plan", directory, "--detailed-exitcode"])
            _ = try await Self.eventually(30) {
                plan = try await berth(["plan", directory, "--detailed-exitcode"])
                return plan.stdout.contains("service \(stack.name)-app: 0 of 1 tasks running: node berth-node2 down")
            }
            #expect(plan.status == 2)
            #expect(plan.stdout.contains("service \(stack.name)-app: 0 of 1 tasks running: node berth-node2 down"), "\(plan.stdout)")
            #expect(!plan.stdout.contains("create-service"), "the services are there; the swarm reschedules, Berth does not")

            // node2 back: the swarm runs app there again, and the stack is in sync.
            try await Self.nodes(["--start", "2"])
            let back = try await Self.eventually(120) { try await berth(["plan", directory, "--detailed-exitcode"]).status == 0 }
            #expect(back)
            #expect(try await Self.placement(of: stack.name).contains("app berth-node2"))
        }
    }
}

import BerthController
import BerthEngine
import BerthModel
import BerthStore
import BerthTesting
import Foundation
import Testing

/// internal-db ⇄ external-db on a running copy of manifests/shop with real PostgreSQL.
/// Serialized: each test runs four PostgreSQL-based containers with 1 s psql healthchecks; six
/// shops at once starve the Engine for every other test on a 2-core machine.
@Suite(.serialized) struct ProfileSwitchTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let password =
        (try? String(contentsOf: repository.appendingPathComponent("manifests/shop/secrets/dev-db-password"), encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""

    /// Copies manifests/shop under the test's stack name, without fixed container names or host ports.
    func copyShop(to stack: TestStack) throws {
        let source = Self.repository.appendingPathComponent("manifests/shop")
        try FileManager.default.removeItem(at: stack.directory)
        try FileManager.default.copyItem(at: source, to: stack.directory)
        func edit(_ file: String, _ change: (String) -> String) throws {
            let url = stack.directory.appendingPathComponent(file)
            try change(try String(contentsOf: url, encoding: .utf8)).write(to: url, atomically: true, encoding: .utf8)
        }
        try edit("stack.yaml") { $0.replacingOccurrences(of: "name: shop", with: "name: \(stack.name)") }
        try edit("services.yaml") { text in
            text.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.hasPrefix("container_name:") && !$0.hasPrefix("ports:") && !$0.hasPrefix("  - \"127.0.0.1:") }
                .joined(separator: "\n")
        }
    }

    func options(_ stack: TestStack, _ profile: String?) -> ReconcileOptions {
        var environment = ProcessInfo.processInfo.environment
        environment["EXTERNAL_DB_HOST"] = "\(stack.name)-external-db"
        return ReconcileOptions(processEnvironment: environment, profiles: profile.map { [$0] })
    }

    /// An outside PostgreSQL Berth does not manage, on the stack's network.
    func startExternalDatabase(_ stack: TestStack, password: String = Self.password) async throws {
        try await Command.docker(
            "run", "-d", "--name", "\(stack.name)-external-db", "--init", "--network", "\(stack.name)_default",
            "-e", "POSTGRES_PASSWORD=\(password)", "-e", "POSTGRES_DB=sf1_db", "berth-demo/postgres:15")
        // The consumers' health gates assume the outside database is already up, as it would be
        // in production; its first start runs initdb, which takes seconds on a loaded machine.
        for _ in 0..<240 {
            let probe = try await Command.run(
                "docker", ["exec", "\(stack.name)-external-db", "pg_isready", "-h", "127.0.0.1", "-U", "postgres", "-d", "sf1_db"])
            if probe.status == 0 { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        Issue.record("the outside database did not become ready within 60 s")
    }

    func ids(_ stack: TestStack) async throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try await stack.containers().map { ($0.labels["berth.service"] ?? $0.name, $0.id) })
    }

    func sql(_ stack: TestStack, _ query: String) async throws -> String {
        try await Command.docker(
            "exec", "-e", "PGPASSWORD=\(Self.password)", "\(stack.name)-database", "psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "sf1_db",
            "-v", "ON_ERROR_STOP=1", "-tAc", query)
    }

    func env(_ stack: TestStack, _ service: String, _ name: String) async throws -> String? {
        let id = try #require(try await ids(stack)[service])
        return try await stack.engine.inspectContainer(id).config.env?.first { $0.hasPrefix("\(name)=") }.map { String($0.dropFirst(name.count + 1)) }
    }

    func withShop(_ body: (TestStack) async throws -> Void) async throws {
        try await TestStack.with("p") { stack in
            try copyShop(to: stack)
            do {
                try await body(stack)
            } catch {
                _ = try? await Command.docker("rm", "-f", "\(stack.name)-external-db")
                throw error
            }
            _ = try? await Command.docker("rm", "-f", "\(stack.name)-external-db")
        }
    }

    @Test func switchesToExternalAndBackWithoutLosingData() async throws {
        try await withShop { stack in
            let consumers = try stack.load().manifest.connections.first { $0.name == "database" }!.consumers.count
            let first = try await stack.reconciler().apply(try stack.load(), options(stack, nil))
            #expect(first.outcome == .changed)
            #expect(try await sql(stack, "INSERT INTO sf1_schema.orders (item) VALUES ('apple'), ('pear'), ('plum')") == "INSERT 0 3")
            try await startExternalDatabase(stack)
            let internalIDs = try await ids(stack)

            let toExternal = try await stack.reconciler().apply(try stack.load(), options(stack, "external-db"))
            #expect(toExternal.outcome == .changed, "\(toExternal.plan)")
            let externalIDs = try await ids(stack)
            #expect(externalIDs["database"] == nil)
            #expect(try await stack.engine.listVolumes(labels: ["berth.stack=\(stack.name)"]).map(\.name) == ["\(stack.name)_db-data"])
            let recreated = externalIDs.filter { internalIDs[$0.key] != nil && internalIDs[$0.key] != $0.value }
            #expect(recreated.keys.sorted() == ["service-b", "service-d"])
            #expect(recreated.count == consumers)
            #expect(externalIDs["frontend"] == internalIDs["frontend"])
            #expect(try await env(stack, "service-b", "DB_HOST") == "\(stack.name)-external-db")
            // The consumers' healthchecks log in with psql; they passed the apply's health gates:
            #expect(toExternal.plan.steps.filter { if case .waitHealthy = $0.operation { true } else { false } }.count == consumers)

            // Without flags, the stack stays on the profile it was switched to.
            let steady = try await stack.reconciler().preview(try stack.load(), options(stack, nil)).plan
            #expect(steady.isConverged)
            #expect(try stack.store().selection(stack: stack.name)?.profiles == ["external-db"])

            let back = try await stack.reconciler().apply(try stack.load(), options(stack, "internal-db"))
            let backFailures = back.results.compactMap { step, result in
                if case .failed(let error) = result.status { "#\(step): \(error)" } else { nil }
            }
            #expect(back.outcome == .changed, "\(backFailures) \(back.failure ?? "")\n\(back.plan)")
            let backIDs = try await ids(stack)
            #expect(backIDs.filter { externalIDs[$0.key] != nil && externalIDs[$0.key] != $0.value }.count == consumers)
            #expect(backIDs["frontend"] == internalIDs["frontend"])
            #expect(try await env(stack, "service-d", "DB_HOST") == "database")
            #expect(try await sql(stack, "SELECT string_agg(item, ',' ORDER BY id) FROM sf1_schema.orders") == "apple,pear,plum")
            let history = try stack.store().history(stack: stack.name)
            #expect(history.prefix(2).map(\.reconcile.profiles) == ["internal-db", "external-db"])
        }
    }

    /// The outside database is not there: nothing is written, the command says which connection
    /// did not answer from where, and the stack stays on internal-db. Once it is up, the same
    /// switch goes through.
    @Test func switchToATargetThatDoesNotAnswerChangesNothing() async throws {
        try await withShop { stack in
            _ = try await stack.reconciler().apply(try stack.load(), options(stack, nil))
            let before = try await ids(stack)
            var environment = options(stack, nil).processEnvironment
            environment["BERTH_STATE"] = stack.statePath

            let refused = try await Command.run(
                BerthBinary.path, ["apply", stack.directory.path, "--profile", "external-db"], environment: environment)
            #expect(refused.status == 1)
            let line = "✗ connection database (external-db): \(stack.name)-external-db:5432 did not answer from network \(stack.name)_default"
            #expect(refused.stdout.contains(line), "\(refused.stdout)")
            #expect(refused.stdout.contains("nothing was changed"))
            #expect(try await ids(stack) == before)
            #expect(try await stack.containers().allSatisfy { $0.state == "running" })
            #expect(try stack.store().selection(stack: stack.name)?.profiles == ["internal-db"])
            #expect(try await stack.engine.listContainers(labels: ["berth.probe=\(stack.name)"], all: true).isEmpty, "the probe is gone")
            let plan = try await Command.run(BerthBinary.path, ["plan", stack.directory.path, "--profile", "external-db"], environment: environment)
            #expect(plan.stdout.contains(line), "\(plan.stdout)")
            #expect(try await stack.reconciler().preview(try stack.load(), options(stack, nil)).plan.isConverged)

            try await startExternalDatabase(stack)
            let switched = try await stack.reconciler().apply(try stack.load(), options(stack, "external-db"))
            #expect(switched.outcome == .changed, "\(switched.plan)")
            #expect(switched.plan.checks.map(\.result) == [.answered])
            #expect(try await env(stack, "service-b", "DB_HOST") == "\(stack.name)-external-db")
            #expect(try await ids(stack)["database"] == nil)
        }
    }

    /// The outside database answers but refuses the credentials: service-b fails its gate, so
    /// every consumer goes back to the internal database, which was never removed; the stack
    /// stays on internal-db and the next apply has nothing to do.
    @Test func switchWhoseConsumersFailTheirGatesGoesBackWhole() async throws {
        try await withShop { stack in
            _ = try await stack.reconciler().apply(try stack.load(), options(stack, nil))
            _ = try await sql(stack, "INSERT INTO sf1_schema.orders (item) VALUES ('kept')")
            let databaseID = try await ids(stack)["database"]
            try await startExternalDatabase(stack, password: "not-the-password")

            let attempt = try await stack.reconciler().apply(try stack.load(), options(stack, "external-db"))
            #expect(attempt.outcome == .failed)
            #expect(attempt.failure?.contains("profile switch failed, going back to [internal-db]") == true, "\(attempt.failure ?? "")")
            let back = try #require(attempt.rollback.first)
            #expect(back.outcome.isConverged, "\(back.plan)\n\(back.results)")
            // The database was kept while the consumers were on trial.
            #expect(
                !attempt.plan.steps.contains { step in
                    if case .removeContainer(.existing(let id, _)) = step.operation, id == databaseID {
                        attempt.results[step.id]?.succeeded == true
                    } else {
                        false
                    }
                })
            let containers = try await stack.containers()
            #expect(containers.map { $0.labels["berth.service"] ?? "?" }.sorted() == ["database", "frontend", "service-b", "service-d"])
            #expect(containers.allSatisfy { $0.state == "running" && !$0.name.contains("_") }, "\(containers.map(\.name))")
            #expect(try await env(stack, "service-b", "DB_HOST") == "database")
            #expect(try await env(stack, "service-d", "DB_HOST") == "database")
            #expect(try await ids(stack)["database"] == databaseID)
            #expect(try stack.store().selection(stack: stack.name)?.profiles == ["internal-db"])
            let next = try await stack.reconciler().preview(try stack.load(), options(stack, nil)).plan
            var healthNow: [String] = []
            for container in try await stack.containers() {
                let details = try await stack.engine.inspectContainer(container.id)
                healthNow.append(
                    "\(details.name) \(details.state.health?.status ?? "-") log \(details.state.health?.checksRun ?? 0) started \(details.state.startedAt)"
                )
            }
            #expect(next.isConverged, "\(next)\nnow: \(healthNow)\nattempt: \(attempt.plan)\n\(attempt.results)\nback: \(back.plan)\n\(back.results)")
            #expect(try await sql(stack, "SELECT string_agg(item, ',') FROM sf1_schema.orders") == "kept")
            let logged = try #require(try stack.store().history(stack: stack.name).first { $0.reconcile.id == attempt.reconcileID })
            #expect(logged.reconcile.outcome == "failed")
            #expect(logged.reconcile.error?.contains("service-b") == true, "\(logged.reconcile.error ?? "")")
        }
    }

    /// Berth killed (SIGKILL) right after its k-th Engine write of a switch; the next plain apply
    /// finishes the switch with no duplicate or leftover container and the volume intact.
    @Test(arguments: [1, 3, 5])
    func interruptedSwitchConvergesOnTheNextApply(afterWrites k: Int) async throws {
        try await withShop { stack in
            _ = try await stack.reconciler().apply(try stack.load(), options(stack, nil))
            _ = try await sql(stack, "INSERT INTO sf1_schema.orders (item) VALUES ('kept')")
            try await startExternalDatabase(stack)
            var environment = options(stack, nil).processEnvironment
            environment["BERTH_STATE"] = stack.statePath
            var crashing = environment
            crashing["BERTH_CRASH_AFTER_WRITES"] = String(k)
            let killed = try await Command.run(BerthBinary.path, ["apply", stack.directory.path, "--profile", "external-db"], environment: crashing)
            #expect(killed.status != 0)

            let resumed = try await Command.run(BerthBinary.path, ["apply", stack.directory.path], environment: environment)
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            // One consistent side: killed during the preflight probe, the host stays on internal-db;
            // killed later, the next apply finishes the switch.
            let containers = try await stack.containers()
            let services = containers.map { $0.labels["berth.service"] ?? "?" }.sorted()
            let host = try await env(stack, "service-b", "DB_HOST")
            #expect(try await env(stack, "service-d", "DB_HOST") == host)
            if host == "database" {
                #expect(services == ["database", "frontend", "service-b", "service-d"], "k=\(k)")
            } else {
                #expect(services == ["frontend", "service-b", "service-d"], "k=\(k)")
                #expect(host == "\(stack.name)-external-db")
            }
            #expect(containers.allSatisfy { $0.state == "running" && !$0.name.contains("_") })

            let back = try await Command.run(BerthBinary.path, ["apply", stack.directory.path, "--profile", "internal-db"], environment: environment)
            #expect(back.status == 0, "\(back.stdout)\(back.stderr)")
            #expect(try await sql(stack, "SELECT string_agg(item, ',') FROM sf1_schema.orders") == "kept")
        }
    }
}

import BerthController
import BerthEngine
import BerthModel
import BerthStore
import BerthTesting
import Foundation
import Testing

/// Converge on the real Engine: fresh apply, idempotence, every drift kind, conflicts, down.
@Suite struct ConvergeTests {
    /// The causes of the write steps of a report, as `kind cause` lines.
    /// `docker network rm`, tried again for a while: Podman can still count a container removed a
    /// moment ago as using the network.
    func removeNetwork(_ network: String) async throws {
        for attempt in 1...20 {
            let result = try await Command.run("docker", ["network", "rm", network])
            if result.status == 0 { return }
            guard attempt < 20, result.stderr.contains("associated containers") else {
                throw CommandFailure(command: "docker network rm \(network)", result: result)
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    func reasons(_ report: ReconcileReport) -> [String] {
        report.plan.steps.filter(\.operation.isWrite).map { "\($0.operation.kind) \($0.cause)" }
    }

    @Test func freshApplyThenNothingToDo() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            let first = try await stack.apply()
            #expect(first.outcome == .changed)
            let containers = try await stack.containers()
            #expect(Set(containers.map(\.name)) == ["\(stack.name)-db", "\(stack.name)-web"])
            #expect(containers.allSatisfy { $0.state == "running" })
            let web = try #require(containers.first { $0.name == "\(stack.name)-web" })
            #expect(web.labels["berth.stack"] == stack.name)
            #expect(web.labels["berth.service"] == "web")
            #expect(web.labels["berth.spec-hash"] == first.desired.container("web")?.specHash)
            let details = try await stack.engine.inspectContainer(web.id)
            #expect(details.config.env?.contains("DB_HOST=db") == true)
            #expect(details.config.env?.contains("DB_PASSWORD=\(TestManifests.secret)") == true)

            let plan = try await stack.reconciler().preview(
                try stack.load(), ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment)
            ).plan
            #expect(plan.isConverged)
            let second = try await stack.apply()
            #expect(second.outcome == .converged)
            #expect(second.engineCalls.writes == 0)
            // Podman's list leaves health out: three health-filtered lists more (PodmanDialect).
            let podmanHealthLists = stack.engine.product == .podman ? 3 : 0
            #expect(second.engineCalls.reads <= 6 + podmanHealthLists, "no-op apply should be O(1) reads: \(second.engineCalls)")
        }
    }

    @Test func removedStoppedAndRenamedContainersComeBack() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            try await stack.apply()
            try await Command.docker("rm", "-f", "\(stack.name)-web")
            try await Command.docker("stop", "-t", "1", "\(stack.name)-db")
            let removedAndStopped = try await stack.apply()
            #expect(removedAndStopped.outcome == .changed)
            #expect(reasons(removedAndStopped).contains("create missing"))
            #expect(reasons(removedAndStopped).contains { $0.hasPrefix("start stopped: Exited") })

            try await Command.docker("rename", "\(stack.name)-web", "\(stack.name)-by-hand")
            let renamed = try await stack.apply()
            #expect(reasons(renamed) == ["rename renamed to \(stack.name)-by-hand"])
            #expect(try await stack.containers().map(\.name).contains("\(stack.name)-web"))
            #expect(try await stack.apply().engineCalls.writes == 0)
        }
    }

    @Test func disconnectedContainerAndRemovedNetworkAreRepaired() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            try await stack.apply()
            let network = "\(stack.name)_default"
            try await Command.docker("network", "disconnect", network, "\(stack.name)-web")
            let reconnected = try await stack.apply()
            #expect(reasons(reconnected) == ["connect detached from network \(network)"])

            try await Command.docker("rm", "-f", "\(stack.name)-web", "\(stack.name)-db")
            try await removeNetwork(network)
            let rebuilt = try await stack.apply()
            #expect(reasons(rebuilt).contains("create-network missing"))
            #expect(rebuilt.outcome == .changed)
            let web = try #require(try await stack.containers().first { $0.name == "\(stack.name)-web" })
            #expect(web.networks.keys.contains(network))

            // Podman refuses to remove a network that stopped containers are on: no such state there.
            guard stack.engine.product == .docker else { return }
            // Stopped, not removed: the containers still name the old network's id, which the
            // Engine never starts again; they are replaced in one apply, their volume kept.
            try await Command.docker("stop", "-t", "1", "\(stack.name)-web", "\(stack.name)-db")
            try await Command.docker("network", "rm", network)
            let restored = try await stack.apply()
            #expect(restored.outcome == .changed, "\(restored.failure ?? "")")
            #expect(reasons(restored).contains("create network \(network) recreated"))
            let running = try await stack.containers()
            #expect(running.count == 2 && running.allSatisfy { $0.state == "running" && $0.networks.keys.contains(network) })
            #expect(try await stack.apply().engineCalls.writes == 0)
        }
    }

    @Test func changedEnvironmentRecreatesOnlyThatService() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            try await stack.apply()
            let before = Dictionary(uniqueKeysWithValues: try await stack.containers().map { ($0.name, $0.id) })
            try stack.write("environments.yaml", TestManifests.environment.replacingOccurrences(of: "MODE: one", with: "MODE: two"))
            let report = try await stack.apply()
            #expect(reasons(report).contains("create spec changed: env MODE"))
            let after = Dictionary(uniqueKeysWithValues: try await stack.containers().map { ($0.name, $0.id) })
            #expect(after.count == 2)
            #expect(after["\(stack.name)-db"] == before["\(stack.name)-db"])
            #expect(after["\(stack.name)-web"] != before["\(stack.name)-web"])
            let web = try await stack.engine.inspectContainer(after["\(stack.name)-web"]!)
            #expect(web.config.env?.contains("MODE=two") == true)
        }
    }

    @Test func rebuiltImageTagIsDetected() async throws {
        try await TestStack.with { stack in
            let image = "berth-test/\(stack.name):1"
            func build(_ version: String) async throws {
                var context = TarArchive()
                context.addFile("Dockerfile", contents: Data("FROM \(TestStack.baseImage)\nLABEL version=\(version)\n".utf8))
                _ = try await stack.engine.buildImage(context: context.archive, tag: image)
            }
            try await build("1")
            try TestManifests.write(stack)
            try stack.write(
                "services.yaml",
                TestManifests.services.replacingOccurrences(of: "name: web\nimage: \(TestStack.baseImage)", with: "name: web\nimage: \(image)"))
            try await stack.apply()
            try await build("2")
            let report = try await stack.apply()
            #expect(reasons(report).contains { $0.hasPrefix("create image changed: sha256:") })
            let web = try #require(try await stack.containers().first { $0.name == "\(stack.name)-web" })
            #expect(web.imageID == (try await stack.engine.inspectImage(image).id))
            try? await stack.engine.removeContainer(web.id, force: true)
            try? await stack.engine.removeImage(image, force: true)
        }
    }

    @Test func serviceDeletedFromManifestsIsRemovedAsOrphan() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            try stack.write("extra.yaml", "kind: Service\nname: extra\nimage: \(TestStack.baseImage)\ninit: true\ncommand: [sleep, \"600\"]\n")
            try await stack.apply()
            #expect(try await stack.containers().count == 3)
            try stack.remove("extra.yaml")
            let report = try await stack.apply()
            #expect(reasons(report) == ["stop orphan: no longer in the manifests", "remove orphan: no longer in the manifests"])
            #expect(try await stack.containers().count == 2)
        }
    }

    @Test func foreignContainerHoldingAWantedNameIsLeftAlone() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            let foreign = try await Command.docker(
                "run", "-d", "--name", "\(stack.name)-web", "--label", "berth.stack.test-foreign=\(stack.name)", TestStack.baseImage, "sleep", "600")
            defer { Task { _ = try? await Command.docker("rm", "-f", foreign) } }
            let report = try await stack.apply()
            #expect(report.outcome == .conflict, "\(report.results.values.compactMap(\.error))")
            #expect(report.plan.conflicts.map(\.resource) == ["container \(stack.name)-web"])
            #expect(try await stack.engine.inspectContainer(foreign).state.running)
            try await Command.docker("rm", "-f", foreign)
        }
    }

    @Test func downKeepsVolumesUnlessAsked() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            try await stack.apply()
            let db = "\(stack.name)-db"
            try await Command.docker("exec", db, "sh", "-c", "echo kept-across-down > /data/www/index.html")
            let down = try await stack.reconciler().down(stack: stack.name, removeVolumes: false)
            #expect(down.outcome == .changed)
            #expect(try await stack.containers().isEmpty)
            #expect(try await stack.engine.listNetworks(labels: ["berth.stack=\(stack.name)"]).isEmpty)
            #expect(try await stack.engine.listVolumes(labels: ["berth.stack=\(stack.name)"]).count == 1)

            try await stack.apply()
            #expect(try await Command.docker("exec", db, "cat", "/data/www/index.html") == "kept-across-down")

            _ = try await stack.reconciler().down(stack: stack.name, removeVolumes: true)
            #expect(try await stack.engine.listVolumes(labels: ["berth.stack=\(stack.name)"]).isEmpty)
        }
    }

    @Test func historyLogsEveryReconcileAndNoSecret() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            try await stack.apply()
            try await Command.docker("rm", "-f", "\(stack.name)-web")
            try await stack.apply()
            try await stack.apply()
            let history = try stack.store().history(stack: stack.name)
            #expect(history.map(\.reconcile.outcome) == ["converged", "changed", "changed"])
            #expect(history[1].actions.contains { $0.kind == "create" && $0.reason == "missing" && $0.outcome == .ok })
            #expect(history.allSatisfy { $0.reconcile.endedAt != nil && $0.reconcile.manifestDigest.count == 64 })
            // Which Engine served each reconcile: Docker's or Podman's name and version.
            let engine = "\(stack.engine.product) \(stack.engine.engineVersion)"
            #expect(history.allSatisfy { $0.reconcile.engine == engine }, "\(history.map(\.reconcile.engine))")
            for file in [stack.statePath, stack.statePath + "-wal"] {
                let bytes = (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data()
                #expect(bytes.range(of: Data(TestManifests.secret.utf8)) == nil, "secret found in \(file)")
            }
        }
    }

    @Test func invalidManifestsChangeNothing() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            try stack.write("services.yaml", TestManifests.services + "\nports: [\"99999:80\"]\nhealthchek: {}\n")
            #expect(throws: ManifestErrors.self) { try stack.load() }  // unknown key: rejected at load
            // Valid YAML whose values fail only at resolution: the Engine is read, never written.
            try stack.write("services.yaml", TestManifests.services + "\nports: [\"99999:80\"]\n")
            try stack.write("environments.yaml", "kind: Environment\nname: test\nvariables: {}\nsecrets: {DB_PASSWORD: {file: secret.txt}}\n")
            let before = stack.engine.callCounts
            do {
                try await stack.apply()
                Issue.record("apply should have failed")
            } catch let errors as ManifestErrors {
                let lines = errors.errors.map(\.description)
                #expect(lines.contains { $0.hasSuffix("services.yaml:16:9: web.ports[0]: port 99999 is out of range 1...65535") }, "\(lines)")
                #expect(lines.contains { $0.contains("services.yaml:15:21: web.environment.MODE: variable 'MODE' is not defined") }, "\(lines)")
            }
            #expect(stack.engine.callCounts.writes == before.writes)
            #expect(try await stack.containers().isEmpty)
            #expect(try await stack.engine.listNetworks(labels: ["berth.stack=\(stack.name)"]).isEmpty)
        }
    }

    @Test func hookRunsOnceAfterHealthy() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            try stack.write(
                "services.yaml",
                TestManifests.services.replacingOccurrences(
                    of: "volumes: [\"data:/data\"]",
                    with:
                        "volumes: [\"data:/data\"]\nhooks: [{name: init, command: [sh, -c, \"echo run >> /data/hook-runs; echo password=$$DB_PASSWORD\"]}]"
                ))
            try await stack.apply()
            try await stack.apply()
            #expect(try await Command.docker("exec", "\(stack.name)-db", "cat", "/data/hook-runs") == "run")
            let runs = try stack.store().hookRuns(stack: stack.name)
            #expect(runs.map(\.hook) == ["init"])
            #expect(runs.first?.exitCode == 0)
            // The hook printed the password; the log keeps only a placeholder.
            #expect(runs.first?.output.contains("password=<secret>") == true, "\(runs.first?.output ?? "")")
            #expect(runs.first?.output.contains(TestManifests.secret) == false)
        }
    }
}

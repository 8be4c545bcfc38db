import BerthController
import BerthEngine
import BerthTesting
import Foundation
import Testing

/// An Engine that errs, stalls or hangs up: retries where safe, and a failure on one service
/// does not stop the others.
@Suite struct EngineFaultTests {
    static func failures(_ report: ReconcileReport) -> [String] {
        report.plan.steps.compactMap { step in
            if case .failed(let message)? = report.results[step.id]?.status { "\(step): \(message)" } else { nil }
        }
    }

    /// 5xx answers, a stall past the deadline and a dropped connection on calls that can be
    /// repeated are absorbed by retries: the stack converges in one apply.
    @Test func transientFaultsAreRetried() async throws {
        try await TestStack.with("f") { stack in
            try TestManifests.write(stack)
            let proxy = try await FaultyEngine(rules: [
                .init("GET", "/containers/json", times: 2, .answer(status: 500, message: "injected: engine busy")),
                .init("GET", "/networks", times: 1, .stall(.seconds(20))),
                .init("POST", "/start", times: 1, .drop),
            ])
            let engine = try await DockerClient.connect(
                to: .unixSocket(path: proxy.socketPath),
                policy: EngineCallPolicy(readTimeout: .seconds(12), attempts: 4, backoff: .milliseconds(50)))
            let reconciler = Reconciler(engine: engine, store: try stack.store())
            let report = try await reconciler.apply(try stack.load(), ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment))
            #expect(report.outcome == .changed, "\(Self.failures(report))")
            #expect(proxy.injectedCount == 4)
            #expect(engine.callCounts.retries == 4)
            #expect(
                try await reconciler.preview(try stack.load(), ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment)).plan
                    .isConverged)
            #expect(try await stack.containers().filter { $0.state == "running" }.count == 2)
            try await engine.shutdown()
            await proxy.stop()
        }
    }

    /// A create is not repeated (a lost answer could hide a success): the failure is reported,
    /// the other service converges, and the next apply creates the missing one.
    @Test func failedWriteIsNotRepeatedAndTheNextApplyFinishes() async throws {
        try await TestStack.with("f") { stack in
            try TestManifests.write(stack)
            let proxy = try await FaultyEngine(rules: [
                .init("POST", "/containers/create?name=\(stack.name)-web", times: 1, .answer(status: 500, message: "injected: create failed"))
            ])
            let engine = try await DockerClient.connect(
                to: .unixSocket(path: proxy.socketPath), policy: EngineCallPolicy(backoff: .milliseconds(50)))
            let reconciler = Reconciler(engine: engine, store: try stack.store())
            let report = try await reconciler.apply(try stack.load(), ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment))
            #expect(report.outcome == .partial, "\(Self.failures(report))")
            #expect(engine.callCounts.retries == 0)
            #expect(try await stack.containers().map { $0.labels["berth.service"] } == ["db"])
            let next = try await reconciler.apply(try stack.load(), ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment))
            #expect(next.outcome == .changed, "\(Self.failures(next))")
            #expect(try await stack.containers().count == 2)
            try await engine.shutdown()
            await proxy.stop()
        }
    }

    /// A real 500 from dockerd (the host port is taken by a container Berth does not manage)
    /// fails that service only; the reconcile ends `partial`, naming the container in the way.
    @Test func engineErrorOnOneServiceLeavesTheOthersConverged() async throws {
        try await TestStack.with("f") { stack in
            let port = Int.random(in: 30_000...39_999)
            let blocker = "\(stack.name)-blocker"
            _ = try await Command.docker("run", "-d", "--name", blocker, "-p", "127.0.0.1:\(port):80", TestStack.baseImage, "sleep", "600")
            defer { Task { _ = try? await Command.docker("rm", "-f", blocker) } }
            try stack.write(
                "stack.yaml",
                """
                kind: Stack
                name: {{stack}}
                ---
                kind: Service
                name: api
                image: \(TestStack.baseImage)
                init: true
                command: [httpd, -f, -p, "80", -h, /www]
                ports: ["127.0.0.1:\(port):80"]
                ---
                kind: Service
                name: worker
                image: \(TestStack.baseImage)
                init: true
                command: [sleep, "600"]
                ---
                kind: Service
                name: cache
                image: \(TestStack.baseImage)
                init: true
                command: [sleep, "600"]
                """)
            let report = try await stack.apply()
            #expect(report.outcome == .partial)
            let failures = report.results.values.compactMap { if case .failed(let message) = $0.status { message } else { nil } }
            #expect(failures.count == 1)
            #expect(failures.first?.contains("host port \(port) is already published by container \(blocker)") == true, "\(failures)")
            let running = try await stack.containers().filter { $0.state == "running" }.compactMap { $0.labels["berth.service"] }
            #expect(running.sorted() == ["cache", "worker"])

            let logged = try #require(try stack.store().history(stack: stack.name).first)
            #expect(logged.reconcile.outcome == "partial")
            #expect(logged.actions.filter { $0.outcome == .failed }.map(\.error) == [failures.first])

            _ = try await Command.docker("rm", "-f", blocker)
            #expect(try await stack.apply().outcome == .changed)
            #expect(try await stack.containers().filter { $0.state == "running" }.count == 3)
        }
    }
}

/// When the reconcile log cannot record a step (a full disk), the step fails before it reaches
/// the Engine: the host never changes without a record.
@Suite struct UnloggedStepTests {
    @Test func aStepTheLogCannotRecordDoesNotTouchTheEngine() async throws {
        try await TestStack.with("ul") { stack in
            try TestManifests.write(stack)
            let options = ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment)
            let plan = try await stack.reconciler().preview(try stack.load(), options).plan
            #expect(!plan.steps.isEmpty)
            let before = stack.engine.callCounts
            struct DiskFull: Error, CustomStringConvertible { var description: String { "database or disk is full" } }
            let results = await Executor(engine: stack.engine, stack: stack.name).execute(plan, gate: { _ in throw DiskFull() })
            #expect(stack.engine.callCounts.since(before).writes == 0)
            #expect(results.values.allSatisfy { !$0.succeeded })
            #expect(results.values.contains { $0.error == "database or disk is full" })
            #expect(try await stack.containers().isEmpty)
        }
    }
}

import BerthController
import BerthEngine
import BerthModel
import BerthTesting
import Foundation
import Testing

/// A Berth process killed mid-apply can leave writes in flight that the Engine carries out after
/// the next reconcile has observed the host. These tests replay that on the real Engine: a plan is
/// made, part of it is executed "by the dead process", then the whole plan runs.
@Suite struct OverlappingWriteTests {
    /// The steps up to `target` with everything they depend on, as a plan of their own.
    func prefix(of plan: Plan, through target: PlanStep) -> Plan {
        var wanted: Set<Int> = [target.id]
        var frontier = [target]
        while let step = frontier.popLast() {
            for id in step.dependsOn where wanted.insert(id).inserted {
                frontier += plan.steps.filter { $0.id == id }
            }
        }
        return Plan(stack: plan.stack, steps: plan.steps.filter { wanted.contains($0.id) })
    }

    func step(_ plan: Plan, _ kind: String, _ name: String) throws -> PlanStep {
        try #require(plan.steps.first { $0.operation.kind.rawValue == kind && $0.operation.target.contains(name) }, "\(plan)")
    }

    func failures(_ results: [Int: StepResult]) -> [String] {
        results.values.compactMap(\.error).sorted()
    }

    /// Plans, runs the plan's steps through `kind` of `name` as the killed process did, then runs
    /// the whole plan as the next reconcile would: its failures, and whether the host converged.
    func replayDeadProcess(_ stack: TestStack, through kind: String, of name: String) async throws -> (failures: [String], converged: Bool) {
        let plan = try await stack.reconciler().preview(try stack.load(), ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment))
            .plan
        let executor = Executor(engine: stack.engine, stack: stack.name)
        let dead = prefix(of: plan, through: try step(plan, kind, name))
        try #require(failures(await executor.execute(dead)) == [])
        let next = failures(await executor.execute(plan))
        return (
            next,
            try await stack.reconciler().preview(try stack.load(), ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment)).plan
                .isConverged
        )
    }

    @Test func createAndNetworkThatLandAfterObservationAreTakenOver() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            let next = try await replayDeadProcess(stack, through: "create", of: "\(stack.name)-web")
            #expect(next.failures == [])
            #expect(next.converged)
            let containers = try await stack.containers()
            #expect(containers.map(\.name).sorted() == ["\(stack.name)-db", "\(stack.name)-web"])
            #expect(containers.allSatisfy { $0.state == "running" })
            #expect(try await stack.engine.listNetworks(labels: ["berth.stack=\(stack.name)"]).count == 1)
        }
    }

    @Test func renameThatLandedAfterObservationCountsAsDone() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            try await stack.apply()
            try stack.write("environments.yaml", TestManifests.environment.replacingOccurrences(of: "MODE: one", with: "MODE: two"))
            let next = try await replayDeadProcess(stack, through: "rename", of: "\(stack.name)-web")
            #expect(next.failures == [])
            #expect(next.converged)
            #expect(try await stack.containers().map(\.name).sorted() == ["\(stack.name)-db", "\(stack.name)-web"])
        }
    }

    @Test func connectThatLandedAfterObservationCountsAsDone() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            try await stack.apply()
            try await Command.docker("network", "disconnect", "\(stack.name)_default", "\(stack.name)-web")
            let next = try await replayDeadProcess(stack, through: "connect", of: "\(stack.name)-web")
            #expect(next.failures == [])
            #expect(next.converged)
        }
    }

    /// Only a container with this very spec is taken over; anything else under the name stays
    /// untouched and the step fails with the Engine's conflict.
    @Test func foreignContainerThatTookTheNameIsNotTakenOver() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            let plan = try await stack.reconciler().preview(
                try stack.load(), ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment)
            ).plan
            try await Command.docker("create", "--name", "\(stack.name)-web", "--label", "berth.stack=\(stack.name)", TestStack.baseImage, "true")

            let results = await Executor(engine: stack.engine, stack: stack.name).execute(plan)
            let create = try step(plan, "create", "\(stack.name)-web")
            #expect(results[create.id]?.error?.contains("is already in use") == true, "\(failures(results))")
            let holder = try await stack.engine.inspectContainer("\(stack.name)-web")
            #expect(holder.config.labels?["berth.service"] == nil)
        }
    }

    /// The plan a reconcile makes when the Engine lists `name`'s running container as dead (as it
    /// does for a moment after `docker rm -f`), with that container's id.
    func planAsIfDead(_ stack: TestStack, _ name: String) async throws -> (plan: Plan, old: String) {
        let preview = try await stack.reconciler().preview(
            try stack.load(), ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment))
        var observed = preview.observed
        let index = try #require(observed.containers.firstIndex { $0.name == name })
        observed.containers[index].state = "dead"
        let plan = Planner.plan(desired: preview.desired, observed: observed)
        #expect(plan.steps.map(\.operation.kind.rawValue) == ["remove", "create", "start"], "\(plan)")
        return (plan, observed.containers[index].id)
    }

    /// `docker rm -f` by hand just before a reconcile: the Engine lists the container as dead
    /// while it removes it, a dead container takes nothing but a removal, and its name stays held
    /// until it is gone. The replacement waits for that rather than failing: under `watch` a
    /// failed step counts toward crash-loop backoff, and this repair was held back 5 s for it.
    /// The hand's removal and the plan's run side by side, so each run takes one of the races
    /// (remove refused as already in progress, name still held, container already gone).
    @Test func aDeadContainerRemovedByHandMeanwhileIsReplaced() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            try await stack.apply()
            let web = "\(stack.name)-web"
            for _ in 0..<3 {
                let (plan, old) = try await planAsIfDead(stack, web)
                let byHand = Task { try await stack.engine.removeContainer(old, force: true) }
                let results = await Executor(engine: stack.engine, stack: stack.name).execute(plan)
                _ = await byHand.result  // whichever removal came second was refused or found nothing
                #expect(failures(results) == [])
                let now = try await stack.engine.inspectContainer(web)
                #expect(now.id != old && now.state.running)
            }
        }
    }

    /// The Engine refuses a forced removal while another removal of the container runs, and the
    /// container reads as running until that removal has killed it. The step asks again rather
    /// than judging by state: here the first two answers are "already in progress" about a
    /// container that stays running (that removal failed), and the third removes it.
    @Test func aRemovalRefusedAsInProgressIsAskedAgain() async throws {
        try await TestStack.with { stack in
            try TestManifests.write(stack)
            try await stack.apply()
            let web = "\(stack.name)-web"
            let (plan, old) = try await planAsIfDead(stack, web)
            let refusal = "removal of container \(old) is already in progress"
            let proxy = try await FaultyEngine(rules: [.init("DELETE", "/containers/\(old)", times: 2, .answer(status: 409, message: refusal))])
            let engine = try await DockerClient.connect(to: .unixSocket(path: proxy.socketPath))
            let results = await Executor(engine: engine, stack: stack.name).execute(plan)
            try await engine.shutdown()
            await proxy.stop()
            #expect(proxy.injectedCount == 2)
            #expect(failures(results) == [])
            let now = try await stack.engine.inspectContainer(web)
            #expect(now.id != old && now.state.running)
        }
    }
}

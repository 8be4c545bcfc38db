import BerthController
import BerthTesting
import Foundation
import Testing

/// dockerd restarted under a running watch. It restarts the shared daemon, so it runs alone
/// (`scripts/test` runs it after everything else).
@Suite(.enabled(if: RunsAlone.now(RunsAlone.dockerdRestart)))
struct EngineRestartTests {
    @Test func watchRecoversAfterTheEngineRestarts() async throws {
        try await TestStack.with("r") { stack in
            try TestManifests.write(stack)
            let loop = ControlLoop(
                watching: StackSource.directory(stack.directory.path),
                options: ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment),
                engine: stack.engine, store: try stack.store())
            let task = Task { try await loop.run() }
            defer { task.cancel() }
            func bothRunning() async -> Bool {
                let containers = (try? await stack.containers()) ?? []
                return containers.count == 2 && containers.allSatisfy { $0.state == "running" }
            }
            for _ in 0..<900 where !(await bothRunning()) { try await Task.sleep(for: .milliseconds(100)) }
            #expect(await bothRunning())
            let before = try stack.store().history(stack: stack.name).count

            try await EngineDaemon.restart()

            // Containers with restart policy "no" stay down after a daemon restart: the loop must
            // notice the Engine is back and start them.
            // Recovered by the loop (restarting, or replacing a container the Engine can no longer
            // start), and logged: a round writes its actions when it ends, after the containers run.
            func startLogged() throws -> Bool {
                let after = try stack.store().history(stack: stack.name, limit: 500)
                return after.prefix(after.count - before).contains { entry in
                    entry.actions.contains { $0.kind == "start" && $0.outcome == .ok }
                }
            }
            var recovered = false
            var logged = false
            for _ in 0..<1200 where !(recovered && logged) {
                try await Task.sleep(for: .milliseconds(100))
                recovered = await bothRunning()
                logged = try startLogged()
            }
            #expect(recovered, "the stack did not converge after the engine restart")
            #expect(logged, "no start logged since the restart")
            task.cancel()
            _ = await task.result
        }
    }
}

import BerthController
import BerthEngine
import BerthTesting
import Foundation
import Testing

/// The Observer on the real Engine.
@Suite struct ObserverTests {
    /// A stack of one service on the base image running `command`.
    func oneService(_ stack: TestStack, command: String) throws {
        try stack.write(
            "stack.yaml",
            """
            kind: Stack
            name: {{stack}}
            ---
            kind: Service
            name: one
            image: \(TestStack.baseImage)
            command: \(command)
            """)
    }

    /// Docker 20.10 sends `die` before its container list says the container stopped. A watch
    /// round woken by that event must see it stopped, or a crash-looping service waits for the
    /// next resync instead of its backoff.
    @Test func containerAnEventReportedOnIsReadFresh() async throws {
        try await TestStack.with("o") { stack in
            try oneService(stack, command: "[sh, -c, 'exit 3']")
            // `since` makes the Engine replay from before the start: no race with subscribing.
            let since = String(Int(Date().timeIntervalSince1970) - 1)
            let events = stack.engine.events(
                filters: ["label": ["berth.stack=\(stack.name)"], "type": ["container"], "event": ["die"]], since: since)
            let died = Task { () -> String? in
                for try await event in events { return event.actor.id }
                return nil
            }
            let timeout = Task {
                try await Task.sleep(for: .seconds(60))
                died.cancel()
            }
            try await stack.apply()
            let id = try #require(try await died.value, "no die event within 60 s")
            timeout.cancel()
            async let listed = Observer(engine: stack.engine).observe()
            async let rechecked = Observer(engine: stack.engine).observe(recheck: [id])
            let fresh = try #require(try await rechecked.containers.first { $0.id == id })
            #expect(fresh.state == "exited")
            #expect(fresh.status == "Exited (3)")
            #expect(fresh.health == nil)
            #expect(fresh.name == "\(stack.name)-one")
            // Not asserted, since it is a race: the plain list often still says `running` here.
            let stale = try await listed.containers.first { $0.id == id }?.state
            print("list right after die: \(stale ?? "absent"); inspect: \(fresh.state)")
        }
    }

    /// A container that goes away between the list and its inspect is gone, not an error.
    @Test func containerRemovedBeforeTheRecheckIsDropped() async throws {
        try await TestStack.with("o") { stack in
            try oneService(stack, command: "[sleep, '600']")
            try await stack.apply()
            let id = try #require(try await stack.containers().first?.id)
            let proxy = try await FaultyEngine(rules: [.init("GET", "/containers/\(id)/json", .answer(status: 404, message: "No such container"))])
            let engine = try await DockerClient.connect(to: .unixSocket(path: proxy.socketPath))
            let observed = try await Observer(engine: engine).observe(recheck: [id])
            try await engine.shutdown()
            await proxy.stop()
            #expect(!observed.containers.contains { $0.id == id })
            #expect(try await Observer(engine: stack.engine).observe().containers.contains { $0.id == id })
        }
    }
}

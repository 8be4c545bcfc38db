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

    /// Each fan-out of the Observer answers for every key it was asked about. The Swift 6.3.1
    /// release build lost answers here (and crashed) before they went through `concurrently`;
    /// the tests run on the release build, so this fails if that shape comes back.
    @Test func everyParallelReadAnswersForEveryKey() async throws {
        try await TestStack.with("o") { stack in
            let published = ["a", "b", "c"].map { "127.0.0.1:5000/\(stack.name)/\($0):1" }
            defer { Task { [engine = stack.engine] in for reference in published { try? await engine.removeImage(reference, force: true) } } }
            for reference in published { try await stack.publish("v1", reference: reference) }
            let unreachable = "127.0.0.1:1/\(stack.name)/nothing:1"
            let observer = Observer(engine: stack.engine)

            let answers = await observer.registryDigests(Set(published + [unreachable]))
            #expect(answers.count == 4)
            for reference in published {
                let pushedAs = ImageReference.split(reference).repository + "@"
                let pushed = try await stack.engine.inspectImage(reference).repoDigests.first { $0.hasPrefix(pushedAs) }
                #expect(answers[reference] == pushed.map { .digest(String($0.dropFirst(pushedAs.count))) }, "\(reference)")
            }
            guard case .unreachable = answers[unreachable] else {
                Issue.record("the unreachable registry's answer is \(String(describing: answers[unreachable]))")
                return
            }

            let images = try await observer.images(Set(published + ["berth-test/\(stack.name)-missing:1"]))
            #expect(images.keys.sorted() == published.sorted())

            try stack.write(
                "stack.yaml",
                "kind: Stack\nname: {{stack}}\n"
                    + ["x", "y", "z"].map { "---\nkind: Service\nname: \($0)\nimage: \(TestStack.baseImage)\ncommand: [sleep, '600']\n" }.joined())
            try await stack.apply()
            let ids = Set(try await stack.containers().map(\.id))
            let observed = try await observer.observe(recheck: ids)
            let rechecked = observed.containers.filter { ids.contains($0.id) }
            #expect(rechecked.count == 3)
            #expect(Set(rechecked.map(\.name)) == Set(["x", "y", "z"].map { "\(stack.name)-\($0)" }))
            #expect(rechecked.allSatisfy { $0.state == "running" })
        }
    }
}

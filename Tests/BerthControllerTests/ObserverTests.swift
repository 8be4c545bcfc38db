import BerthController
import BerthEngine
import BerthModel
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
            async let listed = Observer(engine: stack.engine).observe(stack: stack.name)
            async let rechecked = Observer(engine: stack.engine).observe(stack: stack.name, recheck: [id])
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
            let observed = try await Observer(engine: engine).observe(stack: stack.name, recheck: [id])
            try await engine.shutdown()
            await proxy.stop()
            #expect(!observed.containers.contains { $0.id == id })
            #expect(try await Observer(engine: stack.engine).observe(stack: stack.name).containers.contains { $0.id == id })
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
            let observed = try await observer.observe(stack: stack.name, recheck: ids)
            let rechecked = observed.containers.filter { ids.contains($0.id) }
            #expect(rechecked.count == 3)
            #expect(Set(rechecked.map(\.name)) == Set(["x", "y", "z"].map { "\(stack.name)-\($0)" }))
            #expect(rechecked.allSatisfy { $0.state == "running" })
        }
    }

    /// What else the host runs is not read: the stack's own objects come by label, and the names
    /// its plan needs besides are looked up exactly (`web` must not find `web2`), by a
    /// name-filtered list for a few names and by one plain list for many. A no-op apply makes the
    /// same Engine calls with unrelated containers around as without.
    @Test func costFollowsTheStackNotTheHost() async throws {
        try await TestStack.with("o") { stack in
            try oneService(stack, command: "[sleep, '600']")
            try await stack.apply()
            let quiet = try await stack.apply()
            #expect(quiet.outcome == .converged)

            let foreign = "berth.stack.test-foreign=\(stack.name)"
            defer {
                Task { [engine = stack.engine] in
                    for container in (try? await engine.listContainers(labels: [foreign], all: true)) ?? [] {
                        try? await engine.removeContainer(container.id, force: true, volumes: false)
                    }
                    for network in (try? await engine.listNetworks(labels: [foreign])) ?? [] { try? await engine.removeNetwork(network.id) }
                }
            }
            for name in ["held", "held2", "x.held"] + (1...12).map({ "other\($0)" }) {
                try await Command.docker("create", "--name", "\(stack.name)-\(name)", "--label", foreign, TestStack.baseImage, "true")
            }
            try await Command.docker("network", "create", "--label", foreign, "\(stack.name)-edge2")

            let observer = Observer(engine: stack.engine)
            var observed = try await observer.observe(stack: stack.name)
            #expect(observed.containers.map(\.name) == ["\(stack.name)-one"])
            #expect(observed.networks.allSatisfy { $0.stack == stack.name })

            let few = NamesToLookUp(containers: ["\(stack.name)-held", "\(stack.name)-free", "\(stack.name)xheld"], networks: ["\(stack.name)-edge"])
            try await observer.lookUp(few, into: &observed)
            #expect(observed.containers.map(\.name).sorted() == ["\(stack.name)-held", "\(stack.name)-one"])
            #expect(observed.networks.allSatisfy { $0.stack == stack.name }, "edge2 is not edge")

            var many = try await observer.observe(stack: stack.name)
            let names = Set((1...Observer.namesPerFilter + 4).map { "\(stack.name)-free\($0)" } + ["\(stack.name)-held", "\(stack.name)-x.held"])
            try await observer.lookUp(NamesToLookUp(containers: names), into: &many)
            #expect(many.containers.map(\.name).sorted() == ["\(stack.name)-held", "\(stack.name)-one", "\(stack.name)-x.held"])

            let crowded = try await stack.apply()
            #expect(crowded.outcome == .converged)
            #expect(crowded.engineCalls == quiet.engineCalls)
        }
    }

    /// `berth apply -p NAME` lists what the stack owns while its files load. The first reconcile
    /// of that stack plans from that listing and counts its calls; every later one lists afresh,
    /// and a listing of another stack is never used.
    @Test func aListingStartedBeforeTheManifestsLoadIsUsedOnce() async throws {
        try await TestStack.with("o") { stack in
            try oneService(stack, command: "[sleep, '600']")
            try await stack.apply()
            let quiet = try await stack.apply()
            #expect(quiet.outcome == .converged)
            let options = ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment)

            // A listing of another stack is left alone: this one is observed as it is.
            let elsewhere = EarlyListing(stack: stack.name + "x", engine: Task { stack.engine })
            _ = try await elsewhere.owned
            try await Command.docker("rm", "-f", "\(stack.name)-one")
            let other = try await Reconciler(engine: stack.engine, store: try stack.store(), early: elsewhere).apply(try stack.load(), options)
            #expect(other.outcome == .changed)
            #expect(other.plan.steps.contains { $0.cause == .missing })

            // Listed, then the container removed: the first reconcile plans from the listing (which
            // still has it), so it was used; the next one lists again and brings the container back.
            let early = EarlyListing(stack: stack.name, engine: Task { stack.engine })
            _ = try await early.owned
            try await Command.docker("rm", "-f", "\(stack.name)-one")
            let reconciler = Reconciler(engine: stack.engine, store: try stack.store(), early: early)
            let first = try await reconciler.apply(try stack.load(), options)
            #expect(first.outcome == .converged)
            #expect(first.engineCalls == quiet.engineCalls, "the listing's three reads belong to the reconcile that used it")
            let second = try await reconciler.apply(try stack.load(), options)
            #expect(second.outcome == .changed)
            #expect(second.plan.steps.contains { $0.cause == .missing })
            #expect(try await stack.apply().outcome == .converged)
        }
    }
}

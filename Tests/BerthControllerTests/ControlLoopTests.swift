import BerthController
import BerthEngine
import Foundation
import ServiceLifecycleTestKit
import Synchronization
import Testing

/// The loop's scheduling against a scripted `RoundReconciler` and a scripted event stream: fast,
/// no Engine. (What a round does on a real Engine is in `WatchTests`.)
@Suite struct ControlLoopTests {
    /// Answers each round from a script and remembers what was asked, and when.
    final class ScriptedRounds: RoundReconciler, Sendable {
        let script: @Sendable (Int, RoundRequest) async -> RoundResult
        let log = Mutex<[(request: RoundRequest, at: ContinuousClock.Instant, finished: Bool)]>([])

        init(_ script: @escaping @Sendable (Int, RoundRequest) async -> RoundResult) { self.script = script }

        func prepare() async -> (stack: String, watched: WatchedFiles) { ("s", WatchedFiles(directories: [], names: [], anyManifest: false)) }

        func reconcile(_ request: RoundRequest) async -> RoundResult {
            let index = log.withLock { log in
                log.append((request, ContinuousClock.now, false))
                return log.count - 1
            }
            let result = await script(index, request)
            log.withLock { $0[index].finished = true }
            return result
        }

        func backoffChanged(_ held: [String: CrashLoopTracker.Entry]) async {}

        var requests: [RoundRequest] { log.withLock { $0.map(\.request) } }
        var instants: [ContinuousClock.Instant] { log.withLock { $0.map(\.at) } }
        var allFinished: Bool { log.withLock { $0.allSatisfy(\.finished) } }
    }

    /// An Engine event stream the test writes to.
    final class ScriptedEvents: EngineEventSource, Sendable {
        let (stream, continuation) = AsyncThrowingStream<EngineEvent, any Error>.makeStream()
        func events(filters: [String: [String]], since: String?, until: Date?) -> AsyncThrowingStream<EngineEvent, any Error> { stream }

        func die(_ name: String, stack: String = "s") throws {
            let json = """
                {"Type": "container", "Action": "die", "timeNano": 1,
                 "Actor": {"ID": "\(name)-id", "Attributes": {"name": "\(name)", "berth.stack": "\(stack)"}}}
                """
            continuation.yield(try JSONDecoder().decode(EngineEvent.self, from: Data(json.utf8)))
        }
    }

    /// An event source whose streams end on their own at `until`, as the Engine ends them.
    final class WindowedEvents: EngineEventSource, Sendable {
        let windows = Mutex<[(since: String?, until: Date?)]>([])
        func events(filters: [String: [String]], since: String?, until: Date?) -> AsyncThrowingStream<EngineEvent, any Error> {
            windows.withLock { $0.append((since, until)) }
            return AsyncThrowingStream { continuation in
                Task {
                    try? await Task.sleep(for: .milliseconds(Int64(max(0, (until ?? Date()).timeIntervalSinceNow) * 1000)))
                    continuation.finish()
                }
            }
        }
    }

    /// A gate a scripted round waits on until the test opens it.
    final class Gate: Sendable {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        func wait() async { for await _ in stream { return } }
        func open() { continuation.yield() }
    }

    func loop(_ rounds: ScriptedRounds, _ events: ScriptedEvents, _ configuration: WatchConfiguration = WatchConfiguration()) -> ControlLoop {
        ControlLoop(configuration: configuration, reconciler: rounds, events: events)
    }

    func until(_ what: String, seconds: Int = 6, _ condition: () -> Bool) async throws {
        for _ in 0..<(seconds * 50) where !condition() { try await Task.sleep(for: .milliseconds(20)) }
        try #require(condition(), "timed out waiting for \(what)")
    }

    @Test func burstOfEventsDuringARoundBecomesOneRound() async throws {
        let gate = Gate()
        let rounds = ScriptedRounds { index, _ in
            if index == 0 { await gate.wait() }
            return RoundResult(next: .done)
        }
        let events = ScriptedEvents()
        let task = Task { try await loop(rounds, events).run() }
        defer { task.cancel() }
        try await until("the startup round") { rounds.requests.count == 1 }
        for name in ["a", "b", "c", "d", "e"] { try events.die(name) }
        try events.die("x", stack: "another")
        try await Task.sleep(for: .milliseconds(100))
        gate.open()
        try await until("the round the burst asked for") { rounds.requests.count == 2 }
        try await Task.sleep(for: .milliseconds(300))
        let requests = rounds.requests
        #expect(requests.count == 2)
        #expect(requests[0].trigger.kind == .startup)
        #expect(requests[1].trigger.kind == .event)
        #expect(requests[1].trigger.detail == "die a, die b, die c, die d, die e")
        #expect(requests[1].recheck == ["a-id", "b-id", "c-id", "d-id", "e-id"])
    }

    @Test func unreachableEngineIsRetriedWithGrowingDelays() async throws {
        let rounds = ScriptedRounds { index, _ in index < 4 ? RoundResult(next: .engineUnavailable("connection refused")) : RoundResult(next: .done) }
        let task = Task {
            try await loop(rounds, ScriptedEvents(), WatchConfiguration(engineRetry: Backoff(base: .milliseconds(50), cap: .seconds(1)))).run()
        }
        defer { task.cancel() }
        try await until("four retries") { rounds.requests.count == 5 }
        try await Task.sleep(for: .milliseconds(500))
        #expect(rounds.requests.count == 5, "a round that succeeded asks for no more")
        #expect(rounds.requests.dropFirst().allSatisfy { $0.trigger.kind == .retry && $0.trigger.detail == "after: connection refused" })
        let instants = rounds.instants
        for (attempt, minimum) in [50, 100, 200, 400].enumerated() {
            #expect(instants[attempt + 1] - instants[attempt] >= .milliseconds(minimum), "retry \(attempt + 1)")
        }
    }

    @Test func requeuedRoundsBackOffLikeACrashLoop() async throws {
        let rounds = ScriptedRounds { index, _ in
            index < 4 ? RoundResult(next: .requeue(after: .milliseconds(10), reason: "a step failed")) : RoundResult(next: .done)
        }
        let configuration = WatchConfiguration(crashLoop: CrashLoopTracker(backoff: Backoff(base: .milliseconds(50), cap: .seconds(1))))
        let task = Task { try await loop(rounds, ScriptedEvents(), configuration).run() }
        defer { task.cancel() }
        try await until("four requeued rounds") { rounds.requests.count == 5 }
        try await Task.sleep(for: .milliseconds(500))
        #expect(rounds.requests.count == 5)
        #expect(rounds.requests.dropFirst().allSatisfy { $0.trigger == Trigger(.retry, "a step failed") })
        let instants = rounds.instants
        for (attempt, minimum) in [50, 100, 200, 400].enumerated() {
            #expect(instants[attempt + 1] - instants[attempt] >= .milliseconds(minimum), "requeue \(attempt + 1)")
        }
    }

    /// A crash-looping service is left alone while its backoff runs, and the loop wakes itself
    /// for its repair when the backoff ends; another service's drift is repaired meanwhile.
    @Test func heldServiceIsRepairedWhenItsBackoffEnds() async throws {
        let events = ScriptedEvents()
        let rounds = ScriptedRounds { index, request in
            guard index == 0 else { return RoundResult(next: .done) }
            // The startup round repaired `app` (it had exited on its own); another container
            // dies while it runs, so the next round follows at once, inside app's backoff.
            try? events.die("other")
            return RoundResult(next: .done, repaired: ["app"])
        }
        // A backoff long enough that the event round falls inside it on a loaded machine too.
        let configuration = WatchConfiguration(crashLoop: CrashLoopTracker(backoff: Backoff(base: .seconds(6), cap: .seconds(12))))
        let task = Task { try await loop(rounds, events, configuration).run() }
        defer { task.cancel() }
        try await until("the event round") { rounds.requests.count == 2 }
        #expect(rounds.requests[1].trigger.kind == .event)
        #expect(rounds.requests[1].hold == ["app"])
        try await until("the wake-up when the backoff ends", seconds: 20) { rounds.requests.count == 3 }
        let woken = rounds.requests[2]
        #expect(woken.trigger == Trigger(.backoff, "app"))
        #expect(woken.hold.isEmpty)
        #expect(rounds.instants[2] - rounds.instants[0] >= .milliseconds(5900))
    }

    /// Event windows that end as asked follow one another without a gap and without a round:
    /// nothing was missed, so there is nothing to reconcile.
    @Test func eventWindowsFollowOneAnotherWithoutARound() async throws {
        let rounds = ScriptedRounds { _, _ in RoundResult(next: .done) }
        let events = WindowedEvents()
        let task = Task {
            try await ControlLoop(configuration: WatchConfiguration(eventWindow: .milliseconds(100)), reconciler: rounds, events: events).run()
        }
        defer { task.cancel() }
        try await until("four windows") { events.windows.withLock { $0.count >= 4 } }
        let windows = events.windows.withLock { $0 }
        // The first starts now: without `since`, Podman replays its whole event log.
        let firstSince = try #require(windows[0].since.flatMap(Double.init))
        #expect(abs(firstSince - (try #require(windows[0].until).timeIntervalSince1970 - 0.1)) < 1)
        for index in 1..<4 {
            #expect(windows[index].since == DockerClient.timestamp(try #require(windows[index - 1].until)))
        }
        #expect(rounds.requests.map(\.trigger.kind) == [.startup])
    }

    /// `/healthz` fails once a round runs past its bound: the loop is wedged.
    @Test func aRoundRunningTooLongIsReportedStuck() async throws {
        let metrics = Metrics()
        #expect(await metrics.stuck(after: .zero) == nil)
        await metrics.roundStarted("event: die web")
        try await Task.sleep(for: .milliseconds(20))
        #expect(await metrics.stuck(after: .seconds(60)) == nil)
        #expect(await metrics.stuck(after: .milliseconds(10))?.contains("event: die web") == true)
        await metrics.roundEnded()
        #expect(await metrics.stuck(after: .zero) == nil)
    }

    /// SIGTERM during a round: the round finishes (it is not cancelled half-way), then `run` returns.
    @Test func shutdownDuringARoundLetsItFinish() async throws {
        let gate = Gate()
        let rounds = ScriptedRounds { _, _ in
            await gate.wait()
            return RoundResult(next: .requeue(after: .milliseconds(10), reason: "again"))
        }
        try await testGracefulShutdown { trigger in
            let task = Task { try await loop(rounds, ScriptedEvents()).run() }
            try await until("the startup round") { rounds.requests.count == 1 }
            trigger.triggerGracefulShutdown()
            try await Task.sleep(for: .milliseconds(100))
            #expect(!rounds.allFinished)
            gate.open()
            try await task.value
            #expect(rounds.allFinished)
            #expect(rounds.requests.count == 1)
        }
    }

    /// Which events wake a round, which mark a hand's stop, and which are another stack's.
    @Test(arguments: [
        ("container", "die", ["name": "s-web", "berth.stack": "s"], "event die s-web"),
        ("container", "health_status: unhealthy", ["name": "s-web", "berth.stack": "s"], "event health_status: unhealthy s-web"),
        ("container", "health_status: healthy", ["name": "s-web", "berth.stack": "s"], "nothing"),
        ("container", "kill", ["name": "s-web", "berth.stack": "s"], "stopped by hand c1"),
        ("container", "die", ["name": "t-web", "berth.stack": "t"], "nothing"),
        ("container", "start", ["name": "s-web", "berth.stack": "s"], "nothing"),
        (
            "network", "disconnect", ["name": "s_default", "container": "abcdef0123456789"],
            "event network disconnect s_default (container abcdef012345)"
        ),
        ("network", "destroy", ["name": "s_default"], "event network destroy s_default"),
        ("network", "disconnect", ["name": "bridge", "container": "abcdef0123456789"], "nothing"),
        // Podman's, in Docker's words (PodmanDialect): the container is named, the network is not.
        ("network", "disconnect", ["container": "abcdef0123456789", "containerName": "s-web"], "event network disconnect (container s-web)"),
        ("network", "disconnect", ["container": "abcdef0123456789", "containerName": "t-web"], "nothing"),
    ])
    func eventTable(_ type: String, _ action: String, _ attributes: [String: String], _ expected: String) throws {
        let object: [String: Any] = ["Type": type, "Action": action, "timeNano": 1, "Actor": ["ID": "c1", "Attributes": attributes]]
        let event = try JSONDecoder().decode(EngineEvent.self, from: JSONSerialization.data(withJSONObject: object))
        let meaning: String =
            switch EventTable.meaning(of: event, stack: "s", scope: StackScope(networks: ["s_default"], containers: ["s-web"])) {
            case .reconcile(let trigger): "\(trigger.kind.rawValue) \(trigger.detail)"
            case .stoppedByHand(let container): "stopped by hand \(container)"
            case nil: "nothing"
            }
        #expect(meaning == expected)
    }
}

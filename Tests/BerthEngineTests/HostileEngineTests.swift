import BerthEngine
import BerthTesting
import Foundation
import Testing

/// An Engine that misbehaves after answering: every call still ends, and nothing it sends grows
/// Berth without bound. The real dockerd stands behind a fault-injecting proxy.
@Suite(.timeLimit(.minutes(2)))
struct HostileEngineTests {
    /// A client whose calls give up after 2 s. Connecting is not what these tests are about: on
    /// a loaded machine (every suite starting at once) the handshake through the proxy can take
    /// longer than 2 s, so it is tried a few times.
    func client(_ proxy: FaultyEngine) async throws -> DockerClient {
        let policy = EngineCallPolicy(readTimeout: .seconds(2), attempts: 1, backoff: .milliseconds(50))
        for _ in 0..<4 {
            if let client = try? await DockerClient.connect(to: .unixSocket(path: proxy.socketPath), policy: policy) { return client }
            try await Task.sleep(for: .milliseconds(500))
        }
        return try await DockerClient.connect(to: .unixSocket(path: proxy.socketPath), policy: policy)
    }

    /// The head arrives, then the body stops: the call ends at its deadline, with a clear error.
    /// (On a loaded machine the head itself can be late; the error then reads the same.)
    @Test func aBodyThatStopsAfterTheHeadersEndsAtTheDeadline() async throws {
        let proxy = try await FaultyEngine(rules: [.init("GET", "/containers/json", .stallBody(afterBytes: 1))])
        defer { Task { await proxy.stop() } }
        let engine = try await client(proxy)
        defer { Task { try? await engine.shutdown() } }
        let started = ContinuousClock.now
        let error = await #expect(throws: EngineError.self) { _ = try await engine.listContainers(labels: [], all: true) }
        #expect(error?.description.contains("did not finish its answer within 2 s") == true, "\(String(describing: error))")
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(proxy.injectedCount == 1)
    }

    /// No head at all: the HTTP client's deadline ends the call, and its error reads the same.
    @Test func anAnswerThatNeverStartsEndsAtTheDeadline() async throws {
        let proxy = try await FaultyEngine(rules: [.init("GET", "/networks", .stall(.seconds(10)))])
        defer { Task { await proxy.stop() } }
        let engine = try await client(proxy)
        defer { Task { try? await engine.shutdown() } }
        let error = await #expect(throws: EngineError.self) { _ = try await engine.listNetworks() }
        #expect(error?.description.contains("GET /networks: the Engine did not finish its answer within 2 s") == true, "\(String(describing: error))")
    }

    /// One endless line on the event stream: refused after 1 MiB, not read into memory.
    @Test func anEndlessEventLineIsRefused() async throws {
        let proxy = try await FaultyEngine(rules: [.init("GET", "/events", .endlessLine)])
        defer { Task { await proxy.stop() } }
        let engine = try await client(proxy)
        defer { Task { try? await engine.shutdown() } }
        let error = await #expect(throws: EngineError.self) {
            for try await _ in engine.events(filters: ["type": ["container"]]) {}
        }
        #expect(error?.description.contains("longer than 1 MiB") == true, "\(String(describing: error))")
    }

    /// Asked with `until`, the Engine closes the stream then, and it finishes without an error.
    @Test func anEventWindowFinishesCleanly() async throws {
        let engine = try await DockerClient.connect()
        defer { Task { try? await engine.shutdown() } }
        var count = 0
        for try await _ in engine.events(filters: ["type": ["container"], "label": ["berth.none=\(UUID())"]], until: Date().addingTimeInterval(1)) {
            count += 1
        }
        #expect(count == 0)
    }
}

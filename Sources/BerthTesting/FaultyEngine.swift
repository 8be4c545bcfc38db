import AsyncHTTPClient
import BerthEngine
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A unix-socket proxy in front of the real Engine that injects faults into chosen calls: an
/// error answer, a stall longer than the client's deadline, or a dropped connection. Everything
/// else is forwarded unchanged, so the client still drives a real dockerd.
///
/// Answers are collected whole before they are returned: fine for reconciles, not for event streams.
public final class FaultyEngine: Sendable {
    public enum Fault: Sendable {
        /// Answer with this status and `{"message": …}` instead of forwarding.
        case answer(status: Int, message: String)
        /// Wait this long, then forward (a client with a shorter deadline gives up first).
        case stall(Duration)
        /// Close the connection without answering.
        case drop
        /// Forward, send the head and the first `bytes` of the body, then nothing more (a hung
        /// Engine, or a slow network, after the headers).
        case stallBody(afterBytes: Int)
        /// Answer 200 with a body that is one line without end, sent in 64 KiB chunks.
        case endlessLine
    }

    /// A fault for requests whose method matches and whose path contains `path`, `times` times.
    public struct Rule: Sendable {
        let method: String
        let path: String
        var times: Int
        let fault: Fault
        public init(_ method: String, _ path: String, times: Int = .max, _ fault: Fault) {
            self.method = method
            self.path = path
            self.times = times
            self.fault = fault
        }
    }

    public let socketPath: String
    private let upstream: String
    private let rules: NIOLockedValueBox<[Rule]>
    private let injected = NIOLockedValueBox(0)
    private let http = HTTPClient(eventLoopGroupProvider: .singleton)
    private let serving: NIOLockedValueBox<Task<Void, Never>?> = NIOLockedValueBox(nil)

    /// Starts listening; `upstream` is the real Engine's socket: by default the one the tests
    /// use (`DOCKER_HOST`, which names Podman's in the Podman pass).
    public init(upstream: String = FaultyEngine.testedEngineSocket, rules: [Rule] = []) async throws {
        self.socketPath = FileManager.default.temporaryDirectory.appendingPathComponent("berth-faulty-\(UUID().uuidString.prefix(8)).sock").path
        self.upstream = upstream
        self.rules = NIOLockedValueBox(rules)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        let task = Task {
            await withDiscardingTaskGroup { group in
                _ = try? await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { try? await self.serve(connection) }
                    }
                }
            }
        }
        serving.withLockedValue { $0 = task }
    }

    /// `DOCKER_HOST`'s socket, or Docker's when it names none.
    public static var testedEngineSocket: String {
        if case .unixSocket(let path)? = try? EngineEndpoint.fromEnvironment() { path } else { EngineEndpoint.defaultSocketPath }
    }

    /// Replaces the rules.
    public func inject(_ new: [Rule]) { rules.withLockedValue { $0 = new } }

    /// How many faults were injected so far.
    public var injectedCount: Int { injected.withLockedValue { $0 } }

    public func stop() async {
        serving.withLockedValue { $0?.cancel() }
        try? await http.shutdown()
        try? FileManager.default.removeItem(atPath: socketPath)
    }

    private func fault(for head: HTTPRequestHead) -> Fault? {
        rules.withLockedValue { rules in
            guard let index = rules.firstIndex(where: { $0.times > 0 && $0.method == head.method.rawValue && head.uri.contains($0.path) })
            else { return nil }
            rules[index].times -= 1
            injected.withLockedValue { $0 += 1 }
            return rules[index].fault
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let value):
                    head = value
                    body.clear()
                case .body(var chunk): body.writeBuffer(&chunk)
                case .end:
                    guard let head else { continue }
                    let (status, headers, answer): (HTTPResponseStatus, HTTPHeaders, ByteBuffer)
                    switch fault(for: head) {
                    case .drop?:
                        return
                    case .answer(let code, let message)?:
                        let json = try JSONSerialization.data(withJSONObject: ["message": message])
                        (status, headers, answer) = (
                            HTTPResponseStatus(statusCode: code), ["Content-Type": "application/json"], ByteBuffer(bytes: json)
                        )
                    case .stall(let duration)?:
                        try await Task.sleep(for: duration)
                        (status, headers, answer) = try await forward(head, body)
                    case .stallBody(let bytes)?:
                        let (code, forwarded, whole) = try await forward(head, body)
                        var out = HTTPHeaders()
                        for (name, value) in forwarded where !["content-length", "transfer-encoding", "connection"].contains(name.lowercased()) {
                            out.add(name: name, value: value)
                        }
                        out.add(name: "Content-Length", value: String(whole.readableBytes + 1))
                        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: code, headers: out)))
                        try await outbound.write(.body(.byteBuffer(whole.getSlice(at: whole.readerIndex, length: min(bytes, whole.readableBytes))!)))
                        try await Task.sleep(for: .seconds(3600))
                        return
                    case .endlessLine?:
                        try await outbound.write(
                            .head(HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Type": "application/json"])))
                        let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 << 10)
                        while !Task.isCancelled { try await outbound.write(.body(.byteBuffer(chunk))) }
                        return
                    case nil:
                        (status, headers, answer) = try await forward(head, body)
                    }
                    var out = HTTPHeaders()
                    for (name, value) in headers where !["content-length", "transfer-encoding", "connection"].contains(name.lowercased()) {
                        out.add(name: name, value: value)
                    }
                    out.add(name: "Content-Length", value: String(answer.readableBytes))
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: out)))
                    try await outbound.write(.body(.byteBuffer(answer)))
                    try await outbound.write(.end(nil))
                }
            }
        }
    }

    private func forward(_ head: HTTPRequestHead, _ body: ByteBuffer) async throws -> (HTTPResponseStatus, HTTPHeaders, ByteBuffer) {
        let socket = upstream.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? upstream
        var request = HTTPClientRequest(url: "http+unix://\(socket)\(head.uri)")
        request.method = head.method
        request.headers = head.headers
        if body.readableBytes > 0 { request.body = .bytes(body) }
        let response = try await http.execute(request, timeout: .minutes(5))
        return (response.status, response.headers, try await response.body.collect(upTo: 256 << 20))
    }
}

public import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP receiver on 127.0.0.1 for notification tests: it records every request, and can
/// answer with another status or only after a delay (a slow or failing receiver).
public final class HookReceiver: Sendable {
    public struct Request: Sendable {
        public let method: String
        public let path: String
        public let headers: [String: String]
        public let body: Data
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public let port: Int
    private let received = NIOLockedValueBox<[Request]>([])
    private let behaviour: NIOLockedValueBox<(status: Int, delay: Duration)>
    private let serving: NIOLockedValueBox<Task<Void, Never>?> = NIOLockedValueBox(nil)

    public init(status: Int = 200, delay: Duration = .zero) async throws {
        behaviour = NIOLockedValueBox((status, delay))
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        port = server.channel.localAddress?.port ?? 0
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

    public var url: String { "http://127.0.0.1:\(port)/hook" }
    public var requests: [Request] { received.withLockedValue { $0 } }

    public func answer(status: Int, delay: Duration = .zero) { behaviour.withLockedValue { $0 = (status, delay) } }

    /// Waits until `count` requests arrived (or `timeout` passed); returns what arrived.
    public func wait(for count: Int, timeout: Duration = .seconds(30)) async -> [Request] {
        let deadline = ContinuousClock.now + timeout
        while requests.count < count && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        return requests
    }

    public func stop() { serving.withLockedValue { $0?.cancel() } }

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
                    var headers: [String: String] = [:]
                    for (name, value) in head.headers { headers[name.lowercased()] = value }
                    let request = Request(method: head.method.rawValue, path: head.uri, headers: headers, body: Data(body.readableBytesView))
                    received.withLockedValue { $0.append(request) }
                    let (status, delay) = behaviour.withLockedValue { $0 }
                    if delay > .zero { try await Task.sleep(for: delay) }
                    try await outbound.write(
                        .head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: ["Content-Length": "0"])))
                    try await outbound.write(.end(nil))
                }
            }
        }
    }
}

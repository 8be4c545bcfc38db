import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves `/healthz` and `/metrics` for `berth watch --listen`.
///
/// A few lines of SwiftNIO rather than a web framework: two read-only endpoints do not justify
/// another dependency tree in every build.
public struct HealthServer: Sendable {
    public let host: String
    let port: Int
    let metrics: Metrics
    /// `/healthz` fails once a round has run this long (see `Metrics.stuck(after:)`).
    let stuckAfter: Duration

    public init(host: String, port: Int, metrics: Metrics, stuckAfter: Duration = .seconds(1800)) {
        self.host = host
        self.port = port
        self.metrics = metrics
        self.stuckAfter = stuckAfter
    }

    /// Binds and serves until the task is cancelled.
    public func run(onBound: @Sendable (Int) -> Void = { _ in }) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        onBound(server.channel.localAddress?.port ?? port)
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { try? await self.serve(connection) }
                }
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var path = ""
            for try await part in inbound {
                switch part {
                case .head(let head): path = head.uri
                case .body: break
                case .end:
                    let (status, body, type): (HTTPResponseStatus, String, String) =
                        switch path {
                        case "/healthz":
                            if let reason = await metrics.stuck(after: stuckAfter) {
                                (.serviceUnavailable, "stuck: \(reason)\n", "text/plain")
                            } else {
                                (.ok, "ok\n", "text/plain")
                            }
                        case "/metrics": (.ok, await metrics.render(), "text/plain; version=0.0.4")
                        default: (.notFound, "not found\n", "text/plain")
                        }
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: type)
                    headers.add(name: "Content-Length", value: String(body.utf8.count))
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
                    try await outbound.write(.end(nil))
                }
            }
        }
    }
}

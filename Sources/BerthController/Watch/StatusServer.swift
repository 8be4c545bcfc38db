public import BerthStore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// What `berth watch --listen` serves: `/` (the status page), `/healthz` (liveness: the loop is
/// not wedged), `/readyz` (readiness: the Engine answers and the stack converged recently) and
/// `/metrics`. Read-only, GET only; the one exception is `POST /hooks/git` when a followed
/// repository has a webhook secret (`GitWebhook`).
///
/// A few lines of SwiftNIO rather than a web framework: four read-only endpoints do not justify
/// another dependency tree in every build.
public struct StatusServer: Sendable {
    public let host: String
    let port: Int
    let metrics: Metrics
    /// The log the status page draws from, and the stack it shows.
    let store: ReconcileStore?
    let stack: String
    /// `/healthz` fails once a round has run this long (see `Metrics.stuck(after:)`).
    let stuckAfter: Duration
    /// `/readyz` fails when no reconcile converged the stack within this long.
    let readyWithin: Duration
    /// Answers `POST /hooks/git`, when Berth follows a repository with a webhook secret.
    let gitHook: GitWebhook?

    public init(
        host: String, port: Int, metrics: Metrics, store: ReconcileStore? = nil, stack: String = "", stuckAfter: Duration = .seconds(1800),
        readyWithin: Duration = .seconds(600), gitHook: GitWebhook? = nil
    ) {
        self.gitHook = gitHook
        self.host = host
        self.port = port
        self.metrics = metrics
        self.store = store
        self.stack = stack
        self.stuckAfter = stuckAfter
        self.readyWithin = readyWithin
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

    /// The answer to one request.
    func respond(method: HTTPMethod, path: String, headers: HTTPHeaders = [:], body: [UInt8]? = [], peer: String = "") async -> (
        HTTPResponseStatus, String, String
    ) {
        if path.split(separator: "?").first == "/hooks/git" {
            guard let gitHook else {
                return (.notFound, "not found: Berth follows no Git repository with a webhook secret (--git-webhook-secret)\n", "text/plain")
            }
            guard method == .POST else { return (.methodNotAllowed, "POST only\n", "text/plain") }
            guard let body else {
                await metrics.recordGitWebhook("too-large")
                return (.payloadTooLarge, "body larger than \(GitWebhook.maxBody) bytes\n", "text/plain")
            }
            let (status, text) = await gitHook.handle(headers: headers.map { ($0.name, $0.value) }, body: body, from: peer)
            return (HTTPResponseStatus(statusCode: status), text, "text/plain")
        }
        guard method == .GET || method == .HEAD else { return (.methodNotAllowed, "read-only: GET only\n", "text/plain") }
        switch path.split(separator: "?").first.map(String.init) ?? path {
        case "/healthz":
            if let reason = await metrics.stuck(after: stuckAfter) { return (.serviceUnavailable, "stuck: \(reason)\n", "text/plain") }
            return (.ok, "ok\n", "text/plain")
        case "/readyz":
            if let reason = await metrics.unready(maxAge: readyWithin) { return (.serviceUnavailable, "not ready: \(reason)\n", "text/plain") }
            return (.ok, "ready\n", "text/plain")
        case "/metrics":
            return (.ok, await metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
        case "/", "/index.html":
            return (.ok, await page(), "text/html; charset=utf-8")
        default:
            return (.notFound, "not found\n", "text/plain")
        }
    }

    private func page() async -> String {
        let reconciles = (try? store?.history(stack: stack, limit: 300)) ?? []
        let rollouts = (try? store?.rollouts(stack: stack, limit: 1000)) ?? []
        return StatusPage.html(
            StatusPage.Input(
                stack: stack, services: await metrics.services, backoff: await metrics.backoff, engineUp: await metrics.engineUp,
                unready: await metrics.unready(maxAge: readyWithin), reconciles: reconciles, rollouts: rollouts))
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var request: HTTPRequestHead?
            // Only a webhook's body is kept, up to its limit; nil once it went past.
            var received: [UInt8]? = []
            let peer = connection.channel.remoteAddress?.description ?? "?"
            for try await part in inbound {
                switch part {
                case .head(let head):
                    request = head
                    received = []
                case .body(let chunk):
                    guard gitHook != nil, var bytes = received else { continue }
                    bytes += chunk.readableBytesView
                    received = bytes.count > GitWebhook.maxBody ? nil : bytes
                case .end:
                    guard let head = request else { continue }
                    let (status, body, type) = await respond(method: head.method, path: head.uri, headers: head.headers, body: received, peer: peer)
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: type)
                    headers.add(name: "Content-Length", value: String(body.utf8.count))
                    headers.add(name: "Cache-Control", value: "no-store")
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
                    if head.method != .HEAD { try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body)))) }
                    try await outbound.write(.end(nil))
                }
            }
        }
    }
}

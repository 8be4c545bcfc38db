import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The request plumbing every typed call goes through.
extension DockerClient {
    enum Method {
        case get, post, put, delete, head

        var http: HTTPMethod {
            switch self {
            case .get: .GET
            case .post: .POST
            case .put: .PUT
            case .delete: .DELETE
            case .head: .HEAD
            }
        }
        var isWrite: Bool { self == .post || self == .put || self == .delete }
    }

    /// A request body: JSON, a tar archive, or nothing.
    enum Body {
        case none
        case json(Data)
        case tar(Data)
    }

    /// The Engine's HTTP server requires a Host header; over a unix socket any name will do.
    static let hostHeader = "docker"

    static let jsonEncoder = JSONEncoder()
    static let jsonDecoder = JSONDecoder()

    /// Crash-test mode: with `BERTH_CRASH_AFTER_WRITES=k` the process kills itself (SIGKILL, no
    /// cleanup) right after its k-th successful Engine write, so tests can prove that the next
    /// reconcile converges from any intermediate state.
    func crashIfAsked() {
        guard let limit = crashAfterWrites else { return }
        let writes = counters.withLockedValue {
            $0.successfulWrites += 1; return $0.successfulWrites
        }
        if writes >= limit { kill(getpid(), SIGKILL) }
    }

    /// Builds `/v1.xx/path?query` with every query value percent-encoded.
    func url(_ path: String, query: [(String, String?)] = []) -> String {
        var result = baseURL + "/v\(apiVersion)" + path
        let items = query.compactMap { key, value in value.map { (key, $0) } }
        if !items.isEmpty {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            result +=
                "?"
                + items.map { key, value in
                    "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
                }.joined(separator: "&")
        }
        return result
    }

    /// Sends one request and returns the response with a successful status, or throws the
    /// Engine's error (status + message).
    ///
    /// Every call has a deadline (the policy's read or write timeout unless the call needs longer).
    /// Calls that can be repeated safely (reads, and writes marked `idempotent`) are retried with
    /// exponential backoff when the Engine cannot be reached or times out; reads are also retried
    /// on a 5xx answer.
    /// Writes that are not idempotent (create, rename, connect) are sent exactly once: a lost
    /// answer could hide a success, and the next reconcile observes the truth instead.
    func send(
        _ method: Method, _ path: String, query: [(String, String?)] = [], body: Body = .none,
        headers: [(String, String)] = [], timeout: TimeAmount? = nil, accept304: Bool = false, idempotent: Bool = false
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url(path, query: query))
        request.method = method.http
        request.headers.add(name: "Host", value: Self.hostHeader)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        switch body {
        case .none: break
        case .json(let data):
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: data))
        case .tar(let data):
            request.headers.add(name: "Content-Type", value: "application/x-tar")
            request.body = .bytes(ByteBuffer(data: data))
        }
        let repeatable = !method.isWrite || idempotent
        let requestTimeout = timeout ?? (method.isWrite ? policy.writeTimeout : policy.readTimeout)
        var attempt = 1
        while true {
            counters.withLockedValue { counts in
                if method.isWrite { counts.writes += 1 } else { counts.reads += 1 }
            }
            var failure: EngineError
            do {
                let response = try await http.execute(request, timeout: requestTimeout, logger: logger)
                let status = Int(response.status.code)
                if (200..<300).contains(status) || (accept304 && status == 304) {
                    if method.isWrite { crashIfAsked() }
                    return response
                }
                let body = response.body
                let bytes = try await Deadline.within(requestTimeout, "\(method.http) \(path)") { try await body.collect(upTo: 1 << 20) }
                failure = EngineError.http(status, Self.engineMessage(in: bytes))
                guard !method.isWrite, status >= 500 else { throw failure }
            } catch let error as HTTPClientError {
                failure = EngineError.transport("\(method.http) \(path): \(Self.describe(error, after: requestTimeout))")
            }
            guard repeatable, attempt < policy.attempts, !Task.isCancelled else { throw failure }
            let delay = policy.backoffMilliseconds(beforeAttempt: attempt + 1)
            let what = failure.status == nil ? "\(failure)" : "\(method.http) \(path): \(failure)"
            logger.warning("engine call failed (\(what)); retrying in \(delay) ms")
            counters.withLockedValue { $0.retries += 1 }
            try await Task.sleep(for: .milliseconds(delay))
            attempt += 1
        }
    }

    /// Transport failures in words, without the client's type names. A deadline reads the same
    /// whether the head or the body was late (see `Deadline`), with the bound when it is known.
    static func describe(_ error: HTTPClientError, after timeout: TimeAmount? = nil) -> String {
        switch error {
        case .connectTimeout: "timed out connecting"
        case .deadlineExceeded, .readTimeout, .writeTimeout:
            timeout.map { "the Engine did not finish its answer within \(Deadline.describe($0))" } ?? "timed out"
        case .remoteConnectionClosed: "the Engine closed the connection"
        default: "\(error)"
        }
    }

    /// Sends a request and decodes its JSON answer.
    func call<Response: Decodable>(
        _ method: Method, _ path: String, query: [(String, String?)] = [], body: Body = .none,
        timeout: TimeAmount? = nil, as type: Response.Type = Response.self
    ) async throws -> Response {
        let response = try await send(method, path, query: query, body: body, timeout: timeout)
        let bytes = try await collect(
            response, upTo: 64 << 20, timeout: timeout ?? (method.isWrite ? policy.writeTimeout : policy.readTimeout), "\(method.http) \(path)")
        do {
            return try Self.jsonDecoder.decode(Response.self, from: bytes)
        } catch {
            throw EngineError.decoding("\(path): \(error)")
        }
    }

    /// Sends a request whose answer carries nothing Berth needs (204, or 304 where allowed).
    func perform(
        _ method: Method, _ path: String, query: [(String, String?)] = [], body: Body = .none,
        timeout: TimeAmount? = nil, accept304: Bool = false, idempotent: Bool = false
    ) async throws {
        let response = try await send(
            method, path, query: query, body: body, timeout: timeout, accept304: accept304, idempotent: idempotent)
        _ = try await collect(
            response, upTo: 16 << 20, timeout: timeout ?? (method.isWrite ? policy.writeTimeout : policy.readTimeout), "\(method.http) \(path)")
    }

    /// A whole response body, at most `limit` bytes, within `timeout` (see `Deadline`).
    func collect(_ response: HTTPClientResponse, upTo limit: Int, timeout: TimeAmount, _ what: String) async throws -> ByteBuffer {
        let body = response.body
        return try await Deadline.within(timeout, what) { try await body.collect(upTo: limit) }
    }

    static func json<Value: Encodable>(_ value: Value) throws -> Body {
        .json(try jsonEncoder.encode(value))
    }

    static func engineMessage(in bytes: ByteBuffer) -> String {
        struct Message: Decodable { let message: String }
        if let decoded = try? jsonDecoder.decode(Message.self, from: bytes) { return decoded.message }
        return String(buffer: bytes).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Encodes filters the way the Engine wants them: `{"label": ["k=v", …], "name": […]}`.
    static func filters(_ filters: [String: [String]]) -> String? {
        guard !filters.isEmpty, let data = try? JSONEncoder().encode(filters) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Filters for objects that carry every label in `labels` and, when `names` is not empty, one
    /// of those exact names. Docker and Podman match `name` as a regular expression (a plain `web`
    /// would also match `web2` and `my-web`), so each name is anchored and its dots escaped; a
    /// container's name may be given with its leading slash.
    static func matching(labels: [String], names: [String], slash: Bool = false) -> [String: [String]] {
        var filters: [String: [String]] = [:]
        if !labels.isEmpty { filters["label"] = labels }
        if !names.isEmpty { filters["name"] = names.map { exactName($0, slash: slash) } }
        return filters
    }

    static func exactName(_ name: String, slash: Bool) -> String {
        var escaped = ""
        for character in name {
            if "\\.+*?()|[]{}^$".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return "^" + (slash ? "/?" : "") + escaped + "$"
    }
}

/// Splits a streamed body into newline-delimited JSON messages (pull, build, events).
struct JSONLines<Element: Decodable & Sendable>: AsyncSequence {
    let body: HTTPClientResponse.Body
    /// The longest message read: events and progress messages are a few hundred bytes.
    static var maximumLine: Int { 1 << 20 }

    struct AsyncIterator: AsyncIteratorProtocol {
        var bytes: HTTPClientResponse.Body.AsyncIterator
        var pending = ByteBuffer()
        var finished = false

        mutating func next() async throws -> Element? {
            while true {
                // One message never needs more than this; an endless line must not grow Berth.
                if pending.readableBytes > JSONLines.maximumLine {
                    throw EngineError.stream("the Engine sent a message longer than \(JSONLines.maximumLine >> 20) MiB; the stream was closed")
                }
                if let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                    let length = newline - pending.readerIndex
                    let line = pending.readSlice(length: length)!
                    pending.moveReaderIndex(forwardBy: 1)
                    if line.readableBytes == 0 { continue }
                    return try decode(line)
                }
                if finished {
                    guard pending.readableBytes > 0 else { return nil }
                    let rest = pending
                    pending = ByteBuffer()
                    return try decode(rest)
                }
                if var chunk = try await bytes.next() {
                    pending.discardReadBytes()
                    pending.writeBuffer(&chunk)
                } else {
                    finished = true
                }
            }
        }

        private func decode(_ line: ByteBuffer) throws -> Element {
            do {
                return try JSONDecoder().decode(Element.self, from: line)
            } catch {
                throw EngineError.decoding("stream message '\(String(buffer: line))': \(error)")
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: body.makeAsyncIterator()) }
}

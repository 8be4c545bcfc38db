import Foundation
import Glibc

/// What `berth exec` runs, and how it is attached.
public struct AttachedExec: Sendable {
    public var command: [String]
    /// A pseudo-terminal in the container: one raw stream, for a user at a terminal.
    public var tty: Bool
    /// Pass this process's stdin to the command (closed for it when ours ends).
    public var stdin: Bool
    public var user: String?
    public var workingDir: String?
    /// `KEY=value` entries added to the container's environment for this command.
    public var environment: [String] = []

    public init(command: [String], tty: Bool, stdin: Bool, user: String? = nil, workingDir: String? = nil, environment: [String] = []) {
        self.command = command
        self.tty = tty
        self.stdin = stdin
        self.user = user
        self.workingDir = workingDir
        self.environment = environment
    }
}

/// `docker exec -i [-t]`: the command's input and output are this process's.
///
/// The Engine hands over the connection of `POST /exec/{id}/start` as a raw two-way stream (an
/// HTTP upgrade), which the pooled HTTP client cannot do; so this call opens its own socket to the
/// Engine and copies bytes both ways on a thread of its own until the command ends.
extension DockerClient {
    /// Runs the command in `container` and returns its exit code.
    /// - Throws: `EngineError` when the Engine refuses (no such container, not running) or when
    ///   the Engine is reached over TLS, which this call does not speak yet.
    public func execAttached(_ exec: AttachedExec, in container: String) async throws -> Int {
        let socketAddress = try RawEngineSocket.address(of: endpoint)
        let created: CreatedResponse = try await call(
            .post, "/containers/\(container)/exec",
            body: try Self.json(
                ExecCreateRequest(
                    cmd: exec.command, attachStdin: exec.stdin, tty: exec.tty, user: exec.user, workingDir: exec.workingDir,
                    env: exec.environment.isEmpty ? nil : exec.environment)))
        let body = Array(try JSONEncoder().encode(ExecStartRequest(tty: exec.tty)))
        let head =
            "POST /v\(apiVersion)/exec/\(created.id)/start HTTP/1.1\r\nHost: \(Self.hostHeader)\r\nContent-Type: application/json\r\n"
            + "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: \(body.count)\r\n\r\n"
        let socket = try RawEngineSocket.connect(socketAddress)
        let leftover: [UInt8]
        do {
            try RawEngineSocket.writeAll(socket, Array(head.utf8) + body)
            leftover = try RawEngineSocket.readResponseHead(socket)
        } catch {
            close(socket)
            throw error
        }
        if exec.tty, let size = TerminalSize.current() {
            _ = try? await perform(.post, "/exec/\(created.id)/resize", query: [("h", "\(size.rows)"), ("w", "\(size.columns)")])
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                defer { close(socket) }
                do {
                    try RawEngineSocket.pump(socket, stdin: exec.stdin, tty: exec.tty, already: leftover)
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
        var details: ExecDetails = try await call(.get, "/exec/\(created.id)/json")
        for _ in 0..<100 where details.running {
            try await Task.sleep(for: .milliseconds(20))
            details = try await call(.get, "/exec/\(created.id)/json")
        }
        return details.exitCode ?? -1
    }
}

/// The rows and columns of this process's terminal, when stdout is one.
public struct TerminalSize: Sendable, Equatable {
    public var rows: Int
    public var columns: Int

    public static func current() -> TerminalSize? {
        var size = winsize()
        guard isatty(STDOUT_FILENO) == 1, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 else { return nil }
        return TerminalSize(rows: Int(size.ws_row), columns: Int(size.ws_col))
    }
}

/// A plain socket to the Engine, for the one call that needs the connection itself.
enum RawEngineSocket {
    enum Address {
        case unix(String)
        case tcp(host: String, port: Int)
    }

    static func address(of endpoint: EngineEndpoint) throws -> Address {
        switch endpoint {
        case .unixSocket(let path): return .unix(path)
        case .tcp(let host, let port, nil): return .tcp(host: host, port: port)
        case .tcp(_, _, .some):
            throw EngineError.transport("an attached exec over TLS (DOCKER_TLS_VERIFY) is not supported yet; use `docker exec` for this Engine")
        }
    }

    static func connect(_ address: Address) throws -> Int32 {
        switch address {
        case .unix(let path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw failure("socket") }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
                close(fd)
                throw EngineError.transport("socket path too long: \(path)")
            }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (index, byte) in bytes.enumerated() { raw[index] = byte }
            }
            let result = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else {
                close(fd)
                throw failure("connect to unix://\(path)")
            }
            return fd
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
                throw EngineError.transport("cannot resolve \(host)")
            }
            defer { freeaddrinfo(list) }
            var entry: UnsafeMutablePointer<addrinfo>? = first
            while let info = entry {
                let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
                if fd >= 0, Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
                if fd >= 0 { close(fd) }
                entry = info.pointee.ai_next
            }
            throw failure("connect to tcp://\(host):\(port)")
        }
    }

    static func failure(_ what: String) -> EngineError {
        EngineError.transport("\(what): \(String(cString: strerror(errno)))")
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("write")
            }
            offset += written
        }
    }

    /// Reads the Engine's answer up to the blank line; returns the stream bytes read past it.
    /// - Throws: the Engine's error when it did not switch to the stream (`101` or `200`).
    static func readResponseHead(_ fd: Int32) throws -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let end: [UInt8] = Array("\r\n\r\n".utf8)
        while true {
            if let range = received.firstRange(of: end) {
                let head = String(decoding: received[..<range.lowerBound], as: UTF8.self)
                let status = head.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
                guard status == 101 || status == 200 else {
                    // An error answer is small JSON: read what is there, bounded.
                    var rest = Array(received[range.upperBound...])
                    while rest.count < 65536 {
                        let count = read(fd, &buffer, buffer.count)
                        if count <= 0 { break }
                        rest += buffer[0..<count]
                    }
                    let message = String(decoding: rest, as: UTF8.self)
                    let text = message.firstRange(of: "{").map { String(message[$0.lowerBound...]) } ?? message
                    throw EngineError.http(status, DockerClient.engineMessage(in: .init(string: text)))
                }
                return Array(received[range.upperBound...])
            }
            guard received.count < 65536 else { throw EngineError.stream("the Engine's answer to exec start has no end of headers") }
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw EngineError.stream("the Engine closed the exec connection before answering") }
            received += buffer[0..<count]
        }
    }

    /// Copies stdin to the socket and the socket to stdout/stderr until the Engine closes it.
    /// With `tty`, the local terminal (when stdin is one) is put in raw mode for the duration.
    static func pump(_ fd: Int32, stdin: Bool, tty: Bool, already: [UInt8]) throws {
        var frames = OutputFrames()
        func deliver(_ bytes: [UInt8]) throws {
            if tty {
                try writeAll(STDOUT_FILENO, bytes)
                return
            }
            for chunk in try frames.push(bytes) {
                try writeAll(chunk.stream == .stderr ? STDERR_FILENO : STDOUT_FILENO, chunk.bytes)
            }
        }
        var saved = termios()
        let raw = tty && stdin && isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &saved) == 0
        if raw {
            var settings = saved
            cfmakeraw(&settings)
            tcsetattr(STDIN_FILENO, TCSANOW, &settings)
        }
        defer { if raw { tcsetattr(STDIN_FILENO, TCSANOW, &saved) } }

        try deliver(already)
        var reading = stdin
        var buffer = [UInt8](repeating: 0, count: 32768)
        while true {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            if reading { fds.append(pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                throw failure("poll")
            }
            if fds[0].revents != 0 {
                let count = read(fd, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return }
                try deliver(Array(buffer[0..<count]))
            }
            if reading, fds[1].revents != 0 {
                let count = read(STDIN_FILENO, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 {
                    reading = false
                    shutdown(fd, Int32(SHUT_WR))
                } else {
                    try writeAll(fd, Array(buffer[0..<count]))
                }
            }
        }
    }
}

import NIOCore

/// One-shot commands inside a running container (`docker exec`), used for hooks.
extension DockerClient {
    /// Runs `command` in `container`, waits for it, and returns its exit code and output.
    public func exec(_ command: [String], in container: String) async throws -> ExecResult {
        let created: CreatedResponse = try await call(
            .post, "/containers/\(container)/exec", body: try Self.json(ExecCreateRequest(cmd: command)))
        let response = try await send(
            .post, "/exec/\(created.id)/start", body: try Self.json(ExecStartRequest()), timeout: .minutes(30))
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var buffer = try await collect(response, upTo: 16 << 20, timeout: .minutes(30), "exec in \(container)")
        // The attached stream is multiplexed: 8-byte frame headers [stream, 0, 0, 0, size(be32)].
        while buffer.readableBytes >= 8,
            let header = buffer.readBytes(length: 8),
            let frame = buffer.readBytes(length: Int(UInt32(header[4]) << 24 | UInt32(header[5]) << 16 | UInt32(header[6]) << 8 | UInt32(header[7])))
        {
            if header[0] == 2 { stderr += frame } else { stdout += frame }
        }
        var details: ExecDetails = try await call(.get, "/exec/\(created.id)/json")
        while details.running {
            try await Task.sleep(for: .milliseconds(20))
            details = try await call(.get, "/exec/\(created.id)/json")
        }
        return ExecResult(
            exitCode: details.exitCode ?? -1, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}

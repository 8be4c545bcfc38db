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
        let buffer = try await collect(response, upTo: 16 << 20, timeout: .minutes(30), "exec in \(container)")
        var frames = OutputFrames()
        for chunk in try frames.push(buffer.readableBytesView) {
            if chunk.stream == .stderr { stderr += chunk.bytes } else { stdout += chunk.bytes }
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

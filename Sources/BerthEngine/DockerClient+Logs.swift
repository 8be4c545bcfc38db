import Foundation
import NIOCore

/// A container's output (`docker logs`).
extension DockerClient {
    public struct LogOptions: Sendable {
        /// Keep the stream open and pass on new output as it comes.
        public var follow = false
        /// Only output since this time (`seconds.nanoseconds`, see `timestamp(_:)`).
        public var since: String?
        /// Only the last lines: a number, or `all`.
        public var tail: String?
        /// Prefix each line with the Engine's RFC 3339 timestamp.
        public var timestamps = false

        public init(follow: Bool = false, since: String? = nil, tail: String? = nil, timestamps: Bool = false) {
            self.follow = follow
            self.since = since
            self.tail = tail
            self.timestamps = timestamps
        }
    }

    /// Streams what `container` wrote to stdout and stderr. A container made with a TTY has one
    /// raw stream, passed on as stdout; otherwise the Engine multiplexes the two (`OutputFrames`).
    /// Cancelling the consuming task closes the connection.
    public func logs(_ container: String, tty: Bool, _ options: LogOptions) -> AsyncThrowingStream<OutputChunk, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: OutputChunk.self)
        let producer = Task {
            do {
                let response = try await send(
                    .get, "/containers/\(container)/logs",
                    query: [
                        ("stdout", "true"), ("stderr", "true"), ("follow", options.follow ? "true" : "false"), ("since", options.since),
                        ("tail", options.tail), ("timestamps", options.timestamps ? "true" : "false"),
                    ], timeout: options.follow ? .hours(24 * 365) : .minutes(10))
                var frames = OutputFrames()
                for try await piece in response.body {
                    if tty {
                        continuation.yield(OutputChunk(.stdout, Array(piece.readableBytesView)))
                    } else {
                        for chunk in try frames.push(piece.readableBytesView) { continuation.yield(chunk) }
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in producer.cancel() }
        return stream
    }
}

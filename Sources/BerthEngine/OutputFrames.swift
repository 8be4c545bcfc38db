/// One piece of a container's output, from its stdout or its stderr.
public struct OutputChunk: Sendable, Equatable {
    public enum Stream: Sendable, Equatable {
        case stdout, stderr
    }
    public var stream: Stream
    public var bytes: [UInt8]

    public init(_ stream: Stream, _ bytes: [UInt8]) {
        self.stream = stream
        self.bytes = bytes
    }
}

/// Splits the Engine's multiplexed output stream (logs and attach of a container without a TTY)
/// into chunks: each frame is an 8-byte header `[stream, 0, 0, 0, size (big endian u32)]` and
/// `size` bytes. Bytes arrive in arbitrary pieces, so a frame may span several of them.
///
/// The Engine's answer is untrusted: a frame larger than `maximumFrame` is an error rather than
/// a reason to buffer gigabytes.
public struct OutputFrames: Sendable {
    public static let maximumFrame = 16 << 20

    private var pending: [UInt8] = []

    public init() {}

    /// The complete frames that `bytes` finishes, in order.
    public mutating func push(_ bytes: some Sequence<UInt8>) throws -> [OutputChunk] {
        pending.append(contentsOf: bytes)
        var chunks: [OutputChunk] = []
        var start = 0
        while pending.count - start >= 8 {
            let size = pending[start + 4..<start + 8].reduce(0) { $0 << 8 | Int($1) }
            guard size <= Self.maximumFrame else {
                throw EngineError.stream("an output frame of \(size) bytes exceeds the \(Self.maximumFrame >> 20) MiB limit")
            }
            guard pending.count - start - 8 >= size else { break }
            let stream: OutputChunk.Stream = pending[start] == 2 ? .stderr : .stdout
            chunks.append(OutputChunk(stream, Array(pending[start + 8..<start + 8 + size])))
            start += 8 + size
        }
        pending.removeFirst(start)
        return chunks
    }

    /// Bytes of a frame the stream ended in the middle of.
    public var leftover: Int { pending.count }
}

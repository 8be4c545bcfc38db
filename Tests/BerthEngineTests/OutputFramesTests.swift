import BerthEngine
import Testing

/// The Engine's multiplexed stdout/stderr stream, cut into arbitrary pieces as a socket delivers it.
@Suite struct OutputFramesTests {
    static func frame(_ stream: UInt8, _ text: String) -> [UInt8] {
        let body = Array(text.utf8)
        return [
            stream, 0, 0, 0, UInt8(body.count >> 24 & 0xFF), UInt8(body.count >> 16 & 0xFF), UInt8(body.count >> 8 & 0xFF), UInt8(body.count & 0xFF),
        ]
            + body
    }

    @Test(arguments: [1, 3, 7, 8, 9, 1000])
    func framesSurviveAnyCut(piece: Int) throws {
        let bytes = Self.frame(1, "hello\n") + Self.frame(2, "oops\n") + Self.frame(1, "") + Self.frame(1, "bye")
        var frames = OutputFrames()
        var chunks: [OutputChunk] = []
        for start in stride(from: 0, to: bytes.count, by: piece) {
            chunks += try frames.push(bytes[start..<min(bytes.count, start + piece)])
        }
        #expect(
            chunks == [
                OutputChunk(.stdout, Array("hello\n".utf8)), OutputChunk(.stderr, Array("oops\n".utf8)), OutputChunk(.stdout, []),
                OutputChunk(.stdout, Array("bye".utf8)),
            ])
        #expect(frames.leftover == 0)
    }

    @Test func aFrameCutShortIsLeftOver() throws {
        var frames = OutputFrames()
        #expect(try frames.push(Self.frame(1, "hello").dropLast(2)).isEmpty)
        #expect(frames.leftover == 11)
    }

    /// A hostile header announcing 4 GiB is refused before anything is buffered for it.
    @Test func anOversizedFrameIsRefused() {
        var frames = OutputFrames()
        #expect(throws: EngineError.self) { try frames.push([1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 65]) }
    }
}

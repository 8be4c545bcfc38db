import Foundation

/// Writes to stdout and stderr with write(2). `FileHandle.write` traps when the reader has gone
/// (`berth apply | head -3`); here that output is dropped and the work goes on, so a closed pipe
/// never cuts a reconcile short.
enum Console {
    /// Writes all of `text`; false when the reader has gone (EPIPE) or the descriptor is closed.
    @discardableResult
    static func write(_ text: String, to fd: Int32 = STDOUT_FILENO) -> Bool {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return false
            }
            bytes = bytes.dropFirst(written)
        }
        return true
    }

    static func error(_ text: String) { write(text, to: STDERR_FILENO) }
}

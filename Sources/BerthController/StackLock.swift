import Foundation

/// An advisory lock (flock) per stack, so two Berth processes never act on one stack at once.
///
/// `apply` waits for it (printing who holds it); `watch` holds a second, lifetime lock so that a
/// second `watch` of the same stack refuses to start.
public final class StackLock: Sendable {
    private let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }  // closing the descriptor releases the lock

    /// The lock file for `stack` next to the state file.
    public static func path(stateFile: String, stack: String, purpose: String) -> String {
        URL(fileURLWithPath: stateFile).deletingLastPathComponent().appendingPathComponent("\(stack).\(purpose).lock").path
    }

    /// Runs `body` while holding the lock at `path`, released when `body` returns or throws:
    /// the scoped form every command and watch round uses.
    public static func holding<T>(
        _ path: String, timeout: Duration, isolation: isolated (any Actor)? = #isolation, onWait: @Sendable (String) -> Void = { _ in },
        _ body: () async throws -> T
    ) async throws -> T {
        let lock = try await acquire(path, timeout: timeout, onWait: onWait)
        defer { lock.release() }
        return try await body()
    }

    /// Lets go of the lock now rather than when the last reference goes.
    func release() { flock(fd, LOCK_UN) }

    /// The lock held while one reconcile (apply, down, or one round of watch) acts on `stack`.
    public static func reconcile(stateFile: String, stack: String, timeout: Duration, onWait: @Sendable (String) -> Void = { _ in }) async throws
        -> StackLock
    {
        try await acquire(path(stateFile: stateFile, stack: stack, purpose: "reconcile"), timeout: timeout, onWait: onWait)
    }

    /// Takes the lock, waiting up to `timeout` (zero: try once).
    /// - Throws: `LockError` naming the holder's pid when it stays taken.
    public static func acquire(_ path: String, timeout: Duration, onWait: @Sendable (String) -> Void = { _ in }) async throws -> StackLock {
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LockError(message: "cannot open lock \(path): \(String(cString: strerror(errno)))") }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var told = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            guard clock.now < deadline else {
                close(fd)
                throw LockError(message: "another Berth process (pid \(holder)) is acting on this stack; lock \(path)")
            }
            if !told {
                onWait("waiting for another Berth process (pid \(holder)) to finish with this stack…")
                told = true
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        return StackLock(fd: fd, path: path)
    }
}

public struct LockError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

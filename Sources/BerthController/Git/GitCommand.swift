import Foundation

/// Runs the `git` command-line client: Berth follows repositories with the Git that the host
/// has (its transports, credential handling and SSH), not a reimplementation.
///
/// Never blocks the cooperative pool (completion comes through the termination handler), never
/// waits forever (each run has a deadline, then git is killed) and never keeps more of git's
/// error output than a screenful. Output goes to temporary files: pipes read through dispatch
/// sources raced their descriptors' teardown on Linux.
struct GitCommand: Sendable {
    /// What git sees besides its arguments: credentials go here, never on the command line.
    var environment: [String: String] = [:]
    var timeout: Duration = .seconds(300)

    /// Runs `git ARGUMENTS…`; returns its standard output.
    /// - Throws: `GitError` with git's last words when it exits non-zero or runs out of time.
    @discardableResult
    func run(_ arguments: [String], extraEnvironment: [String: String] = [:]) async throws -> String {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("berth-git-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("out")
        let errURL = scratch.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        var environment = ProcessInfo.processInfo.environment
        // Never ask on a terminal for a password or a host key: there is no one to answer.
        environment["GIT_TERMINAL_PROMPT"] = "0"
        environment["GIT_ASKPASS"] = "/bin/false"
        environment["SSH_ASKPASS"] = "/bin/false"
        environment["LC_ALL"] = "C"
        environment.merge(self.environment) { _, mine in mine }
        environment.merge(extraEnvironment) { _, mine in mine }
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice

        let timeout = self.timeout
        let once = ResumeOnce()
        let status: Int32? = try await withCheckedThrowingContinuation { continuation in
            once.set(continuation)
            process.terminationHandler = { process in once.resume(process.terminationStatus) }
            do {
                try process.run()
            } catch {
                once.fail(GitError(description: "cannot run git: \(error.localizedDescription); install git (Debian: apt install git)"))
                return
            }
            once.watchdog = Task {
                try await Task.sleep(for: timeout)
                if process.isRunning {
                    once.resume(nil)
                    process.terminate()
                }
            }
        }
        once.watchdog?.cancel()
        let output = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        guard let status else {
            throw GitError(description: "git \(arguments.first ?? "") took longer than \(timeout.components.seconds) s and was stopped")
        }
        guard status == 0 else {
            let words = Self.lastWords((try? Data(contentsOf: errURL)) ?? Data())
            throw GitError(description: words.isEmpty ? "git \(arguments.first ?? "") exited \(status)" : words)
        }
        return output
    }

    /// The end of git's error output, at most 2 KiB: what went wrong, without a server's banner.
    static func lastWords(_ data: Data) -> String {
        let text = String(decoding: data.suffix(2048), as: UTF8.self)
        return text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.suffix(4).joined(separator: "; ")
    }
}

/// Resumes a continuation once, whichever of exit and deadline comes first.
private final class ResumeOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Int32?, any Error>?
    private var _watchdog: Task<Void, any Error>?

    /// Kills git at the deadline; cancelled once git ended.
    var watchdog: Task<Void, any Error>? {
        get { lock.withLock { _watchdog } }
        set { lock.withLock { _watchdog = newValue } }
    }

    func set(_ continuation: CheckedContinuation<Int32?, any Error>) { lock.withLock { self.continuation = continuation } }
    func resume(_ status: Int32?) { take()?.resume(returning: status) }
    func fail(_ error: any Error) { take()?.resume(throwing: error) }

    private func take() -> CheckedContinuation<Int32?, any Error>? {
        lock.withLock {
            defer { continuation = nil }
            return continuation
        }
    }
}

/// Git could not do what Berth asked: git's own last words, or why it did not run.
public struct GitError: Error, CustomStringConvertible {
    public let description: String
}

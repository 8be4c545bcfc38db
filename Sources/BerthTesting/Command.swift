public import Foundation

/// The result of running a program.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs programs (the docker CLI as "another client", the berth binary) without blocking the
/// cooperative thread pool: completion arrives through the termination handler. A program that
/// crashes throws `ProcessCrashed`.
///
/// Output goes to temporary files, read after the program exits. Pipes with
/// `FileHandle.readabilityHandler` register libdispatch sources whose teardown races the closing
/// descriptor on Linux, and crashed a test process that ran many short commands in a row.
public enum Command {
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil) async throws
        -> CommandResult
    {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-command-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        let inURL = directory.appendingPathComponent("stdin")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: inURL.path, contents: stdin ?? Data())

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
        if let environment { process.environment = environment }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let input = try FileHandle(forReadingFrom: inURL)
        defer {
            try? out.close()
            try? err.close()
            try? input.close()
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in continuation.resume(returning: process.terminationStatus) }
            do {
                try process.run()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        try ProcessCrashed.check(process, command: ([executable] + arguments).joined(separator: " "), output: stdout + stderr)
        return CommandResult(status: status, stdout: stdout, stderr: stderr)
    }

    /// `docker ARGS…`, expecting success.
    @discardableResult
    public static func docker(_ arguments: String...) async throws -> String {
        let result = try await run("docker", arguments)
        guard result.status == 0 else { throw CommandFailure(command: "docker " + arguments.joined(separator: " "), result: result) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public struct CommandFailure: Error, CustomStringConvertible {
    public let command: String
    public let result: CommandResult
    public init(command: String, result: CommandResult) {
        self.command = command
        self.result = result
    }
    public var description: String { "\(command) exited \(result.status): \(result.stderr)" }
}

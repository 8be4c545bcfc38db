public import Foundation

/// The result of running a program.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs programs (the docker CLI as "another client", the berth binary) without blocking the
/// cooperative thread pool: completion arrives through the termination handler.
public enum Command {
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil) async throws
        -> CommandResult
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
        if let environment { process.environment = environment }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        let collected = OutputCollector()
        out.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData, to: \.stdout) }
        err.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData, to: \.stderr) }
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in continuation.resume(returning: process.terminationStatus) }
            do {
                try process.run()
                if let stdin { input.fileHandleForWriting.write(stdin) }
                try? input.fileHandleForWriting.close()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        out.fileHandleForReading.readabilityHandler = nil
        err.fileHandleForReading.readabilityHandler = nil
        collected.append(out.fileHandleForReading.readDataToEndOfFile(), to: \.stdout)
        collected.append(err.fileHandleForReading.readDataToEndOfFile(), to: \.stderr)
        return CommandResult(status: status, stdout: collected.text(\.stdout), stderr: collected.text(\.stderr))
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
    public var description: String { "\(command) exited \(result.status): \(result.stderr)" }
}

/// Output gathered from pipe handlers on other threads.
final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var buffers = Buffers()
    struct Buffers { var stdout = Data(); var stderr = Data() }

    func append(_ data: Data, to path: WritableKeyPath<Buffers, Data>) {
        lock.lock()
        buffers[keyPath: path].append(data)
        lock.unlock()
    }
    func text(_ path: KeyPath<Buffers, Data>) -> String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: buffers[keyPath: path], as: UTF8.self)
    }
}

public import Foundation

/// The `berth` executable the CLI, crash-point and deploy tests run: what users run.
///
/// `scripts/test` builds it with `scripts/build` (release) and names it in `BERTH_TEST_BINARY`;
/// without that variable the release build is used when there is one, else the debug build.
public enum BerthBinary {
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    public static let path: String = {
        if let named = ProcessInfo.processInfo.environment["BERTH_TEST_BINARY"], !named.isEmpty { return named }
        let release = repository.appendingPathComponent(".build/release/berth").path
        if FileManager.default.isExecutableFile(atPath: release) { return release }
        return repository.appendingPathComponent(".build/debug/berth").path
    }()
}

/// A program that died of a signal only a bug sends (a trap, a bad access, an abort): every test
/// that runs a program fails on it, with the program's output, which holds the Swift runtime's
/// backtrace. SIGKILL and SIGTERM are not crashes: tests send those themselves.
public struct ProcessCrashed: Error, CustomStringConvertible {
    public let command: String
    public let signal: Int32
    public let output: String

    public var description: String { "\(command) crashed with signal \(signal):\n\(output)" }

    static let crashSignals: Set<Int32> = [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE, SIGSYS]

    /// Throws when `process` ended by one of the crash signals.
    public static func check(_ process: Process, command: String, output: @autoclosure () -> String) throws {
        guard process.terminationReason == .uncaughtSignal, crashSignals.contains(process.terminationStatus) else { return }
        throw ProcessCrashed(command: command, signal: process.terminationStatus, output: output())
    }
}

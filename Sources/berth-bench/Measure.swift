import Foundation

/// Seconds of a Duration.
func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    let rank = p / 100 * Double(sorted.count - 1)
    let low = Int(rank.rounded(.down)), high = Int(rank.rounded(.up))
    return sorted[low] + (sorted[high] - sorted[low]) * (rank - Double(low))
}

func median(_ values: [Double]) -> Double { percentile(values, 50) }

func milliseconds(_ seconds: Double) -> String { String(format: "%7.1f ms", seconds * 1000) }

/// `12 ms`, `1.23 s`: short, for tables.
func short(_ seconds: Double) -> String {
    if seconds.isNaN { return "—" }
    return seconds < 1 ? String(format: "%.0f ms", seconds * 1000) : String(format: "%.2f s", seconds)
}

/// CPU seconds (user + system) and resident memory of a process, from /proc.
func usage(of pid: Int32) -> (cpu: Double, rssKB: Int) {
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    let cpu = fields.count > 13 ? (Double(fields[11])! + Double(fields[12])!) / ticks : 0
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    return (cpu, rss)
}

/// A finished program run: wall time from spawn to exit, status and stdout.
struct TimedRun {
    let seconds: Double
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs a program and times it from just before the spawn to its exit (seen by the termination
/// handler, so the cooperative pool is never blocked). Output goes to files read afterwards.
func timed(_ executable: String, _ arguments: [String], environment: [String: String]) async throws -> TimedRun {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let outURL = directory.appendingPathComponent("out"), errURL = directory.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    defer {
        try? out.close()
        try? err.close()
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = environment
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    let started = ContinuousClock.now
    let (status, ended): (Int32, ContinuousClock.Instant) = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { process in continuation.resume(returning: (process.terminationStatus, ContinuousClock.now)) }
        do {
            try process.run()
        } catch {
            continuation.resume(throwing: error)
        }
    }
    return TimedRun(
        seconds: seconds(ended - started), status: status, stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
}

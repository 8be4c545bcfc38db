import BerthEngine
import BerthTesting
import Foundation
import NIOConcurrencyHelpers

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
    return (cpu, procStatus(pid, "VmRSS:") ?? 0)
}

/// Anonymous memory (heap, stacks) of a process, proportional share, from `smaps_rollup`: the
/// part of its RSS that is its own, unlike the pages of its binary and libraries.
func pssAnonKB(of pid: Int32) -> Int? {
    let rollup = (try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8)) ?? ""
    return rollup.split(separator: "\n").first { $0.hasPrefix("Pss_Anon:") }?.split(separator: " ").dropFirst().first.flatMap { Int($0) }
}

/// A kB field of `/proc/PID/status` (`VmRSS:`, `VmHWM:`), while the process lives.
func procStatus(_ pid: Int32, _ field: String) -> Int? {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    return status.split(separator: "\n").first { $0.hasPrefix(field) }?.split(separator: " ").dropFirst().first.flatMap { Int($0) }
}

/// A finished program run: wall time from spawn to exit, status and stdout.
struct TimedRun {
    let seconds: Double
    let status: Int32
    let stdout: String
    let stderr: String
    /// The process's peak resident memory (`VmHWM`) as last read, every 10 ms, before it exited.
    /// Not `wait4`'s `ru_maxrss`: a child spawned with vfork semantics inherits the parent's peak
    /// there when it execs (here the bench's own ~30 MiB).
    var peakRSSKB = 0
}

/// Runs a program and times it from just before the spawn to its exit: `posix_spawn` and `waitpid`
/// rather than Foundation's `Process`, so the spawn costs what a shell's does. The wait runs on a
/// thread of its own, so the cooperative pool is never blocked. Output goes to files read afterwards.
func timed(_ executable: String, _ arguments: [String], environment: [String: String]) async throws -> TimedRun {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let outPath = directory.appendingPathComponent("out").path, errPath = directory.appendingPathComponent("err").path

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }

    let started = ContinuousClock.now
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
    guard spawned == 0 else { throw BenchError(description: "cannot run \(executable): \(String(cString: strerror(spawned)))") }
    let child = pid
    let peak = NIOLockedValueBox(0)
    let sampler = Task {
        while !Task.isCancelled {
            if let kb = procStatus(child, "VmHWM:") { peak.withLockedValue { $0 = max($0, kb) } }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
    let (status, ended): (Int32, ContinuousClock.Instant) = await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(child, &status, 0) == -1 && errno == EINTR {}
            continuation.resume(returning: (status, ContinuousClock.now))
        }
    }
    sampler.cancel()
    // Exited: its code; killed by a signal: 128 + the signal, as a shell says.
    let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return TimedRun(
        seconds: seconds(ended - started), status: code, stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "", peakRSSKB: peak.withLockedValue { $0 })
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
}

/// The benches' options: `--flag value` pairs only. An unknown flag, or one without its value,
/// ends the program with status 2.
struct BenchArguments {
    private var values: [String: String] = [:]

    init(_ arguments: [String], known: Set<String>) {
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            guard known.contains(flag), let value = iterator.next() else {
                FileHandle.standardError.write(Data("unknown argument or missing value: \(flag)\n".utf8))
                exit(2)
            }
            values[flag] = value
        }
    }

    func string(_ flag: String) -> String? { values[flag] }
    func int(_ flag: String) -> Int? { values[flag].flatMap { Int($0) } }
}

/// The container the floors create: the benches' idle service (`init`, `sleep`), on the default
/// bridge, labelled so that `stack`'s cleanup removes it.
func floorRequest(stack: String) -> ContainerCreateRequest {
    var request = ContainerCreateRequest(image: TestStack.baseImage)
    request.cmd = ["sleep", "86400"]
    request.labels = ["berth.stack": stack, "berth.bench": "floor"]
    request.hostConfig.initProcess = true
    request.hostConfig.networkMode = "bridge"
    return request
}

/// The Engine's own floor: create and start one container through the raw API, `repetitions`
/// times one after another (each removed again), in seconds.
func engineFloor(_ engine: DockerClient, stack: String, repetitions: Int) async throws -> [Double] {
    var floor: [Double] = []
    let request = floorRequest(stack: stack)
    for index in 0..<repetitions {
        let start = ContinuousClock.now
        let id = try await engine.createContainer(name: "\(stack)-floor\(index)", request)
        try await engine.startContainer(id)
        floor.append(seconds(ContinuousClock.now - start))
        try await engine.removeContainer(id, force: true)
    }
    return floor
}

/// Runs `body` for every item, 16 at a time by default: the width of Berth's executor and of the
/// client's connection pool, so a floor measured this way is the Engine's speed at the parallelism
/// Berth can use.
func concurrently<T: Sendable>(_ items: [T], width: Int = 16, _ body: @escaping @Sendable (T) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var next = items.makeIterator()
        for _ in 0..<width { if let item = next.next() { group.addTask { try await body(item) } } }
        while try await group.next() != nil {
            if let item = next.next() { group.addTask { try await body(item) } }
        }
    }
}

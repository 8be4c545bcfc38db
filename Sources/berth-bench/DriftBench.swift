import BerthEngine
import BerthTesting
import Foundation

/// `berth-bench drift`: how fast `berth watch` repairs a removed container, next to the Engine's
/// own floor (create + start of the same container through the raw API), measured in one run; and
/// what an idle `berth watch` costs in CPU and memory.
///
/// Usage: berth-bench drift [--berth PATH] [--repetitions N] [--services N] [--idle-seconds S] [--json PATH]
struct DriftOptions {
    var berth = ".build/release/berth"
    var repetitions = 20
    var services = 5
    var idleSeconds = 60
    var json: String?

    init(_ arguments: [String]) {
        let given = BenchArguments(arguments, known: ["--berth", "--repetitions", "--services", "--idle-seconds", "--json"])
        berth = given.string("--berth") ?? berth
        repetitions = given.int("--repetitions") ?? repetitions
        services = given.int("--services") ?? services
        idleSeconds = given.int("--idle-seconds") ?? idleSeconds
        json = given.string("--json")
    }
}

/// A running `berth watch` and the measurements taken through it.
struct WatchProbe {
    let process: Process
    let engine: DockerClient
    let stack: String

    /// Starts `berth ARGUMENTS…` (a `watch` command) and waits until `expected` containers of the stack run.
    static func start(berth: String, _ arguments: [String], state: String, engine: DockerClient, stack: String, expected: Int) async throws
        -> WatchProbe
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: berth)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["BERTH_STATE"] = state
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // A watch brings a big stack up at the Engine's pace (N = 500: ~100 s on 2 cores).
        let deadline = ContinuousClock.now + .seconds(120 + expected / 2)
        var running = 0
        while running != expected {
            guard ContinuousClock.now < deadline else {
                process.terminate()
                throw BenchError(description: "berth watch ran \(running) of \(expected) containers after \(120 + expected / 2) s")
            }
            try await Task.sleep(for: .milliseconds(100))
            running = try await engine.listContainers(labels: ["berth.stack=\(stack)"], all: false).count
        }
        try await Task.sleep(for: .seconds(1))
        return WatchProbe(process: process, engine: engine, stack: stack)
    }

    /// Removes each named container in turn and times its replacement's `start` event: from the
    /// return of the remove call, and from its start (which includes the Engine's kill and cleanup).
    func repairs(of names: [String], repetitions: Int) async throws -> (afterRemoval: [Double], fromRemoveCall: [Double]) {
        var afterRemoval: [Double] = []
        var fromRemoveCall: [Double] = []
        for index in 0..<repetitions {
            let name = names[index % names.count]
            let events = engine.events(filters: ["type": ["container"], "event": ["start"], "label": ["berth.stack=\(stack)"]], since: nil)
            let waiter = Task { () -> ContinuousClock.Instant? in
                for try await event in events where event.actor.attributes["name"] == name { return ContinuousClock.now }
                return nil
            }
            try await Task.sleep(for: .milliseconds(200))
            guard let target = try await engine.listContainers(labels: ["berth.stack=\(stack)"]).first(where: { $0.name == name }) else {
                throw BenchError(description: "container \(name) not found")
            }
            let removeCalled = ContinuousClock.now
            try await engine.removeContainer(target.id, force: true)
            let removed = ContinuousClock.now
            let timeout = Task {
                try await Task.sleep(for: .seconds(30))
                waiter.cancel()
            }
            guard let running = try await waiter.value else { throw BenchError(description: "\(name) was not repaired within 30 s") }
            timeout.cancel()
            afterRemoval.append(seconds(running - removed))
            fromRemoveCall.append(seconds(running - removeCalled))
            // Let the follow-up reconcile settle so each repetition starts from a converged host.
            try await Task.sleep(for: .milliseconds(600))
        }
        return (afterRemoval, fromRemoveCall)
    }

    /// CPU (percent of one core) and RSS of the idle watch over `duration`.
    func idle(for duration: Int) async throws -> (cpuPercent: Double, rssKB: Int) {
        try await Task.sleep(for: .seconds(3))
        let before = usage(of: process.processIdentifier)
        try await Task.sleep(for: .seconds(duration))
        let after = usage(of: process.processIdentifier)
        return ((after.cpu - before.cpu) / Double(duration) * 100, after.rssKB)
    }

    func stop() async {
        process.terminate()
        while process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
    }
}

enum DriftBench {
    static func run(_ options: DriftOptions) async throws {
        let engine = try await DockerClient.connect()
        let stack = try await TestStack.make("bench")
        print(
            "berth-bench drift: \(options.repetitions) repetitions, \(options.services) services, Docker Engine \(engine.engineVersion), \(ProcessInfo.processInfo.activeProcessorCount) cores"
        )

        // The stack: N idle services on the base image.
        var manifest = "kind: Stack\nname: \(stack.name)\n"
        for index in 0..<options.services {
            manifest += "---\nkind: Service\nname: s\(index)\nimage: \(TestStack.baseImage)\ninit: true\ncommand: [sleep, \"86400\"]\n"
        }
        try stack.write("stack.yaml", manifest)

        // Floor: the Engine creating and starting the same container, one at a time.
        let floor = try await engineFloor(engine, stack: stack.name, repetitions: options.repetitions)

        // Berth: a real `berth watch` process; remove one container, wait for the Engine's `start` of its replacement.
        let watch = try await WatchProbe.start(
            berth: options.berth, ["watch", stack.directory.path, "--resync", "300"], state: stack.statePath, engine: engine, stack: stack.name,
            expected: options.services)
        let names = (0..<options.services).map { "\(stack.name)-s\($0)" }
        let (repair, repairFromRemoveCall) = try await watch.repairs(of: names, repetitions: options.repetitions)
        // Idle: the same watch process with nothing happening (after the last repair's follow-ups settle).
        let idle = try await watch.idle(for: options.idleSeconds)
        await watch.stop()

        let floorP50 = percentile(floor, 50), floorP95 = percentile(floor, 95)
        let repairP50 = percentile(repair, 50), repairP95 = percentile(repair, 95)
        print("")
        print("                                   p50          p95       ratio p95 vs floor")
        print("engine floor (create+start)   \(milliseconds(floorP50))   \(milliseconds(floorP95))")
        print(
            "berth watch drift repair      \(milliseconds(repairP50))   \(milliseconds(repairP95))     \(String(format: "%.2f×", repairP95 / floorP95))"
        )
        print(
            "  (from the start of rm -f     \(milliseconds(percentile(repairFromRemoveCall, 50)))   \(milliseconds(percentile(repairFromRemoveCall, 95))), Engine removal included)"
        )
        print("")
        print(
            "idle berth watch over \(options.idleSeconds) s: CPU \(String(format: "%.3f", idle.cpuPercent)) % of one core, RSS \(idle.rssKB / 1024) MiB"
        )
        print("target: drift repair p95 ≤ 500 ms → \(repairP95 <= 0.5 ? "met" : "NOT met")")

        if let path = options.json {
            let result: [String: Any] = [
                "engine": engine.engineVersion, "repetitions": options.repetitions, "services": options.services,
                "floorSeconds": ["p50": floorP50, "p95": floorP95, "samples": floor],
                "repairSeconds": ["p50": repairP50, "p95": repairP95, "samples": repair],
                "repairFromRemoveCallSeconds": ["p50": percentile(repairFromRemoveCall, 50), "p95": percentile(repairFromRemoveCall, 95)],
                "ratioP95": repairP95 / floorP95,
                "idle": ["seconds": options.idleSeconds, "cpuPercent": idle.cpuPercent, "rssKB": idle.rssKB],
            ]
            try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        }
        await stack.cleanup()
        try await engine.shutdown()
    }
}

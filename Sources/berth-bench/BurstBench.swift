import BerthEngine
import BerthTesting
import Foundation

/// `berth-bench burst`: many containers of a stack removed at once under `berth watch`, until all
/// run again, next to the Engine creating and starting as many containers at the same width (16,
/// Berth's executor's) through the raw API, in one run.
///
/// Usage: berth-bench burst [--berth PATH] [--containers N] [--repetitions N] [--json PATH]
struct BurstOptions {
    var berth = ".build/release/berth"
    var containers = 30
    var repetitions = 5
    var json: String?

    init(_ arguments: [String]) {
        let given = BenchArguments(arguments, known: ["--berth", "--containers", "--repetitions", "--json"])
        berth = given.string("--berth") ?? berth
        containers = given.int("--containers") ?? containers
        repetitions = given.int("--repetitions") ?? repetitions
        json = given.string("--json")
    }
}

enum BurstBench {
    static func run(_ options: BurstOptions) async throws {
        let engine = try await DockerClient.connect()
        let stack = try await TestStack.make("burst")
        let count = options.containers
        print("berth-bench burst: \(count) containers, \(options.repetitions) repetitions, Docker Engine \(engine.engineVersion)")
        var manifest = "kind: Stack\nname: \(stack.name)\n"
        for index in 0..<count {
            manifest += "---\nkind: Service\nname: s\(index)\nimage: \(TestStack.baseImage)\ninit: true\ncommand: [sleep, \"86400\"]\n"
        }
        try stack.write("stack.yaml", manifest)

        // Floor: the Engine creating and starting `count` containers, 16 at a time.
        var floor: [Double] = []
        let request = floorRequest(stack: stack.name)
        for repetition in 0..<options.repetitions {
            let started = ContinuousClock.now
            try await concurrently(Array(0..<count)) { index in
                let id = try await engine.createContainer(name: "\(stack.name)-floor\(repetition)-\(index)", request)
                try await engine.startContainer(id)
            }
            floor.append(seconds(ContinuousClock.now - started))
            let made = try await engine.listContainers(labels: ["berth.bench=floor", "berth.stack=\(stack.name)"])
            try await concurrently(made) { container in try await engine.removeContainer(container.id, force: true) }
        }

        // Berth: remove every container of the watched stack at once; time until the last
        // replacement's `start` event, from the moment the last removal returned.
        let watch = try await WatchProbe.start(
            berth: options.berth, ["watch", stack.directory.path, "--resync", "300"], state: stack.statePath, engine: engine, stack: stack.name,
            expected: count)
        var repair: [Double] = []
        for _ in 0..<options.repetitions {
            let events = engine.events(filters: ["type": ["container"], "event": ["start"], "label": ["berth.stack=\(stack.name)"]], since: nil)
            let waiter = Task { () -> ContinuousClock.Instant? in
                var started = Set<String>()
                for try await event in events {
                    started.insert(event.actor.attributes["name"] ?? event.actor.id)
                    if started.count == count { return ContinuousClock.now }
                }
                return nil
            }
            try await Task.sleep(for: .milliseconds(200))
            let victims = try await engine.listContainers(labels: ["berth.stack=\(stack.name)"])
            guard victims.count == count else { throw BenchError(description: "\(victims.count) of \(count) containers before the burst") }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for victim in victims { group.addTask { try await engine.removeContainer(victim.id, force: true) } }
                try await group.waitForAll()
            }
            let removed = ContinuousClock.now
            let timeout = Task {
                try await Task.sleep(for: .seconds(120))
                waiter.cancel()
            }
            guard let done = try await waiter.value else { throw BenchError(description: "not all \(count) containers ran again within 120 s") }
            timeout.cancel()
            repair.append(seconds(done - removed))
            try await Task.sleep(for: .seconds(2))
        }
        await watch.stop()

        let ratio = median(repair) / median(floor)
        print("")
        print("| \(count) containers | median | samples |")
        print("| --- | --- | --- |")
        print("| Engine floor: create + start, 16 at a time | \(short(median(floor))) | \(floor.map(short).joined(separator: ", ")) |")
        print("| `berth watch`: all removed → all started again | \(short(median(repair))) | \(repair.map(short).joined(separator: ", ")) |")
        print("ratio: \(String(format: "%.2f×", ratio)) the floor; target ≤ 1.2× → \(ratio <= 1.2 ? "met" : "NOT met")")
        if let path = options.json {
            let result: [String: Any] = [
                "engine": engine.engineVersion, "containers": count, "floorSeconds": floor, "repairSeconds": repair, "ratio": ratio,
            ]
            try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        }
        await stack.cleanup()
        try await engine.shutdown()
    }
}

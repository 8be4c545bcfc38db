import BerthEngine
import BerthTesting
import Foundation

/// `berth-bench engines`: the same stack on Docker and on Podman, side by side in one run: a cold
/// `berth apply`, a no-op `berth apply` (both CLI wall time), and the drift repair of a removed
/// container under `berth watch`, each next to that Engine's own create+start of one container.
///
/// Usage: berth-bench engines [--berth PATH] [--repetitions N] [--services N] [--podman DOCKER_HOST] [--json PATH]
struct EnginesOptions {
    var berth = ".build/release/berth"
    var repetitions = 5
    var services = 10
    var podman = "unix:///run/berth-podman/podman.sock"
    var json: String?

    init(_ arguments: [String]) {
        let given = BenchArguments(arguments, known: ["--berth", "--repetitions", "--services", "--podman", "--json"])
        berth = given.string("--berth") ?? berth
        repetitions = given.int("--repetitions") ?? repetitions
        services = given.int("--services") ?? services
        podman = given.string("--podman") ?? podman
        json = given.string("--json")
    }
}

enum EnginesBench {
    /// Medians, in seconds, for one Engine.
    struct Result: Codable {
        var engine: String
        var coldApply: Double
        var noOpApply: Double
        var repair: Double
        var floor: Double
    }

    static func run(_ options: EnginesOptions) async throws {
        print(
            "berth-bench engines: \(options.services) services, \(options.repetitions) samples per operation, \(ProcessInfo.processInfo.activeProcessorCount) cores"
        )
        let docker = try await measure(options, dockerHost: ProcessInfo.processInfo.environment["DOCKER_HOST"])
        let podman = try await measure(options, dockerHost: options.podman)

        func cell(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count + 2), withPad: " ", startingAt: 0) }
        func row(_ name: String, _ d: Double, _ p: Double) {
            print(cell(name, 40) + cell(short(d), 22) + cell(short(p), 16) + String(format: "%.2f×", p / d))
        }
        print("")
        print(cell("median", 40) + cell(docker.engine, 22) + cell(podman.engine, 16) + "Podman / Docker")
        row("cold apply (\(options.services) services)", docker.coldApply, podman.coldApply)
        row("no-op apply", docker.noOpApply, podman.noOpApply)
        row("watch repair of a removed container", docker.repair, podman.repair)
        row("Engine floor (create+start of one)", docker.floor, podman.floor)
        print(
            "repair vs its own Engine's floor: Docker \(String(format: "%.2f×", docker.repair / docker.floor)), Podman \(String(format: "%.2f×", podman.repair / podman.floor))"
        )
        if let path = options.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(["docker": docker, "podman": podman]).write(to: URL(fileURLWithPath: path))
        }
    }

    /// Runs every measurement against the Engine at `dockerHost` (nil: the default socket).
    static func measure(_ options: EnginesOptions, dockerHost: String?) async throws -> Result {
        if let dockerHost { setenv("DOCKER_HOST", dockerHost, 1) } else { unsetenv("DOCKER_HOST") }
        let stack = try await TestStack.make("eng")
        let engine = stack.engine
        let name = "\(engine.product) \(engine.engineVersion)"
        print("\(name): measuring")
        var manifest = "kind: Stack\nname: \(stack.name)\n"
        for index in 0..<options.services {
            manifest += "---\nkind: Service\nname: s\(index)\nimage: \(TestStack.baseImage)\ninit: true\ncommand: [sleep, \"86400\"]\n"
        }
        try stack.write("stack.yaml", manifest)
        let environment = stack.berthEnvironment
        func berth(_ arguments: [String]) async throws -> TimedRun {
            let run = try await timed(options.berth, arguments + [stack.directory.path], environment: environment)
            guard run.status == 0 else {
                throw BenchError(description: "berth \(arguments.joined(separator: " ")) on \(name): \(run.stdout)\(run.stderr)")
            }
            return run
        }

        var cold: [Double] = [], noOp: [Double] = []
        for _ in 0..<options.repetitions {
            cold.append(try await berth(["apply"]).seconds)
            noOp.append(try await berth(["apply"]).seconds)
            _ = try await berth(["down"])
        }

        let floor = try await engineFloor(engine, stack: stack.name, repetitions: options.repetitions)

        let watch = try await WatchProbe.start(
            berth: options.berth, ["watch", stack.directory.path, "--resync", "300"], state: stack.statePath, engine: engine, stack: stack.name,
            expected: options.services)
        let names = (0..<options.services).map { "\(stack.name)-s\($0)" }
        let (repair, _) = try await watch.repairs(of: names, repetitions: options.repetitions)
        await watch.stop()
        await stack.cleanup()
        return Result(engine: name, coldApply: median(cold), noOpApply: median(noOp), repair: median(repair), floor: median(floor))
    }
}

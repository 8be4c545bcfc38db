import BerthEngine
import BerthTesting
import Foundation

/// `berth-bench soak`: a `berth watch` process kept busy with drift for a long time, its memory
/// and open files sampled throughout. Growth past the warm-up is a leak, and fails the soak.
///
/// Usage: berth-bench soak [--berth PATH] [--minutes M] [--services N] [--drift-every S] [--json PATH]
struct SoakOptions {
    var berth = ".build/release/berth"
    var minutes = 60
    var services = 4
    var driftEvery = 10
    var json: String?

    init(_ arguments: [String]) {
        let given = BenchArguments(arguments, known: ["--berth", "--minutes", "--services", "--drift-every", "--json"])
        berth = given.string("--berth") ?? berth
        minutes = given.int("--minutes") ?? minutes
        services = given.int("--services") ?? services
        driftEvery = given.int("--drift-every") ?? driftEvery
        json = given.string("--json")
    }
}

enum SoakBench {
    struct Sample: Codable {
        let minute: Double
        let rssKB: Int
        let openFiles: Int
        let cpuSeconds: Double
    }

    static func openFiles(of pid: Int32) -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1 }

    static func run(_ options: SoakOptions) async throws {
        let engine = try await DockerClient.connect()
        let stack = try await TestStack.make("soak")
        var manifest = "kind: Stack\nname: \(stack.name)\n"
        for index in 0..<options.services {
            manifest += "---\nkind: Service\nname: s\(index)\nimage: \(TestStack.baseImage)\ninit: true\ncommand: [sleep, \"86400\"]\n"
        }
        try stack.write("stack.yaml", manifest)
        print(
            "berth-bench soak: \(options.minutes) min, \(options.services) services, drift every \(options.driftEvery) s, Docker Engine \(engine.engineVersion)"
        )
        let watch = try await WatchProbe.start(
            berth: options.berth, ["watch", stack.directory.path, "--resync", "30"], state: stack.statePath, engine: engine, stack: stack.name,
            expected: options.services)
        let pid = watch.process.processIdentifier
        let started = ContinuousClock.now
        let end = started + .seconds(options.minutes * 60)
        var samples: [Sample] = []
        var drifts = 0
        var nextSample = started
        var round = 0
        while ContinuousClock.now < end {
            if ContinuousClock.now >= nextSample {
                let use = usage(of: pid)
                samples.append(
                    Sample(minute: seconds(ContinuousClock.now - started) / 60, rssKB: use.rssKB, openFiles: openFiles(of: pid), cpuSeconds: use.cpu))
                nextSample = nextSample + .seconds(30)
            }
            // One drift of each kind in turn: removal, stop, network disconnect, rename.
            let containers = try await engine.listContainers(labels: ["berth.stack=\(stack.name)"], all: true)
            if let target = containers.sorted(by: { $0.name < $1.name }).dropFirst(round % max(1, containers.count)).first {
                switch round % 4 {
                case 0: try? await engine.removeContainer(target.id, force: true)
                case 1: try? await engine.stopContainer(target.id, timeout: 1)
                case 2: try? await engine.disconnectNetwork("\(stack.name)_default", container: target.id, force: true)
                default: try? await engine.renameContainer(target.id, to: "\(target.name)-by-hand")
                }
                drifts += 1
            }
            round += 1
            try await Task.sleep(for: .seconds(options.driftEvery))
        }
        // The host converged at the end, and what the process holds did not grow after the warm-up.
        try await Task.sleep(for: .seconds(5))
        let running = try await engine.listContainers(labels: ["berth.stack=\(stack.name)"], all: false)
        let use = usage(of: pid)
        samples.append(
            Sample(minute: seconds(ContinuousClock.now - started) / 60, rssKB: use.rssKB, openFiles: openFiles(of: pid), cpuSeconds: use.cpu))
        await watch.stop()
        let history = try stack.store().history(stack: stack.name, limit: 100_000)
        await stack.cleanup()
        try await engine.shutdown()

        let warm = samples.first { $0.minute >= Double(options.minutes) * 0.1 } ?? samples[0]
        let last = samples.last!
        let peak = samples.filter { $0.minute >= warm.minute }.map(\.rssKB).max() ?? last.rssKB
        print("")
        print("minute   RSS MiB   open files   CPU s")
        for sample in samples where Int(sample.minute * 2) % 10 == 0 || sample.minute == last.minute {
            print(String(format: "%6.1f   %7.1f   %10d   %5.1f", sample.minute, Double(sample.rssKB) / 1024, sample.openFiles, sample.cpuSeconds))
        }
        let growth = Double(last.rssKB - warm.rssKB) / Double(max(1, warm.rssKB))
        let leaked = (last.rssKB - warm.rssKB > 8 * 1024 && growth > 0.2) || last.openFiles > warm.openFiles + 5
        let converged =
            running.count == options.services && running.allSatisfy { $0.name.hasPrefix(stack.name + "-s") && !$0.name.hasSuffix("-by-hand") }
        print("")
        print("drifts made: \(drifts); reconciles logged: \(history.count)")
        print(
            String(
                format: "RSS after warm-up %.1f MiB, at the end %.1f MiB (%+.1f %%), peak %.1f MiB; open files %d → %d", Double(warm.rssKB) / 1024,
                Double(last.rssKB) / 1024, growth * 100, Double(peak) / 1024, warm.openFiles, last.openFiles))
        print("converged at the end: \(converged ? "yes" : "NO"); leak: \(leaked ? "YES" : "none")")
        if let path = options.json {
            struct Result: Encodable {
                let minutes: Int, services: Int, driftEvery: Int, drifts: Int, reconciles: Int, converged: Bool, leaked: Bool, samples: [Sample]
            }
            let result = Result(
                minutes: options.minutes, services: options.services, driftEvery: options.driftEvery, drifts: drifts, reconciles: history.count,
                converged: converged, leaked: leaked, samples: samples)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: path))
        }
        if leaked || !converged { throw BenchError(description: leaked ? "the watch process leaked" : "the stack did not converge") }
    }
}

import BerthEngine
import BerthTesting
import Foundation

/// `berth-bench compare`: the same work done by Berth (release CLI), by docker-compose, and by the
/// Engine itself (raw API, in parallel: the floor), for N services, in one run.
///
/// Usage: berth-bench compare [--sizes 20,50,100] [--berth PATH] [--compose PATH|none] [--repetitions R]
///                            [--watch-repetitions W] [--idle-seconds S] [--unrelated N] [--json PATH]
///
/// `--compose none` leaves docker-compose out (it takes minutes per sample at N = 500);
/// `--unrelated N` measures Berth's no-op again beside N containers of no stack.
struct CompareOptions {
    var sizes = [20, 50, 100]
    var berth = ".build/release/berth"
    var compose = "/usr/bin/docker-compose"
    /// Samples of each heavy operation (cold apply, recreate all, restore one); no-op takes 3× as many.
    var repetitions = 3
    var watchRepetitions = 20
    var idleSeconds = 60
    var unrelated = 0
    var json: String?

    var withCompose: Bool { compose != "none" }

    init(_ arguments: [String]) {
        let given = BenchArguments(
            arguments,
            known: ["--sizes", "--berth", "--compose", "--repetitions", "--watch-repetitions", "--idle-seconds", "--unrelated", "--json"])
        sizes = given.string("--sizes").map { $0.split(separator: ",").compactMap { Int($0) } } ?? sizes
        berth = given.string("--berth") ?? berth
        compose = given.string("--compose") ?? compose
        repetitions = given.int("--repetitions") ?? repetitions
        watchRepetitions = given.int("--watch-repetitions") ?? watchRepetitions
        idleSeconds = given.int("--idle-seconds") ?? idleSeconds
        unrelated = given.int("--unrelated") ?? unrelated
        json = given.string("--json")
    }
}

/// Medians of one tool's samples for one size, plus what Berth reports about its Engine calls.
struct ToolResult: Codable {
    var cold: [Double] = []
    var noop: [Double] = []
    var recreate: [Double] = []
    var restore: [Double] = []
    /// Engine calls per operation as `berth apply --json` reports them: "reads/writes".
    var calls: [String: String] = [:]
    /// The largest peak RSS of the CLI over each operation's samples, in kB.
    var peakRSSKB: [String: Int] = [:]

    /// Medians as soon as a phase ends: a later phase that fails does not take them with it.
    var summary: String {
        [("cold", cold), ("no-op", noop), ("recreate", recreate), ("restore", restore)].filter { !$0.1.isEmpty }
            .map { "\($0.0) \(String(format: "%.3f", median($0.1))) s" }.joined(separator: ", ")
    }
}

struct SizeResult: Codable {
    var services: Int
    var berth = ToolResult()
    var compose = ToolResult()
    var floor = ToolResult()
    var floorList: [Double] = []
    var repair: [Double] = []
    var repairFromRemoveCall: [Double] = []
    var floorRepair: [Double] = []
    var idleCPUPercent: Double?
    var idleRSSKB: Int?
    var idlePssAnonKB: Int?
    /// Berth's no-op and the floor's list again, beside `unrelated` containers of no stack.
    var unrelated = 0
    var aloneNoop: [Double] = []
    var crowdedNoop: [Double] = []
    var crowdedCalls = ""
    var crowdedFloorList: [Double] = []
}

enum CompareBench {
    /// What an earlier run that was killed left: its projects' containers and networks. Their
    /// networks hold the fixed subnets a big size asks for (the next cold apply failed with "Pool
    /// overlaps"), and their containers the machine. A project of this bench is named `b`, a
    /// letter for the tool (b, c, f, w) and a run's tag, and its network carries that name in the
    /// label the tool sets. Only networks in the bench's own range (172.29.0.0/16, big sizes) are
    /// taken for leftovers: a user's project that happens to be named alike is never touched.
    static func removeLeftovers(_ engine: DockerClient) async {
        let keys = ["berth.stack", "com.docker.compose.project", "berth.bench"]
        for network in (try? await engine.listNetworks()) ?? [] where network.name.hasSuffix("_default") {
            let project = String(network.name.dropLast("_default".count))
            guard (network.ipam.config ?? []).contains(where: { $0.subnet?.hasPrefix("172.29.") == true }),
                project.count > 2, project.hasPrefix("b"), "bcfw".contains(project.dropFirst().first ?? " "),
                project.dropFirst(2).allSatisfy({ $0.isNumber || ("a"..."z").contains($0) }),
                let key = keys.first(where: { network.labels[$0] == project })
            else { continue }
            progress("removing what an earlier run left: \(project)")
            let containers = (try? await engine.listContainers(labels: ["\(key)=\(project)"])) ?? []
            try? await concurrently(containers, width: 4) { container in try? await engine.removeContainer(container.id, force: true) }
            let stale = (try? await engine.inspectNetwork(network.id))?.containers ?? [:]
            for endpoint in stale.values {
                try? await engine.disconnectNetwork(network.id, container: endpoint.name, force: true)
            }
            try? await engine.removeNetwork(network.id)
        }
    }

    static func run(_ options: CompareOptions) async throws {
        guard !options.withCompose || FileManager.default.isExecutableFile(atPath: options.compose) else {
            throw BenchError(description: "\(options.compose) not found: install Debian's docker-compose (bench/compare does)")
        }
        let engine = try await DockerClient.connect()
        let composeVersion =
            options.withCompose
            ? try await timed(options.compose, ["version", "--short"], environment: ProcessInfo.processInfo.environment).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines) : "none"
        say(
            "berth-bench compare: sizes \(options.sizes), \(options.repetitions) samples per operation, Docker Engine \(engine.engineVersion), docker-compose \(composeVersion), \(ProcessInfo.processInfo.activeProcessorCount) cores"
        )
        await removeLeftovers(engine)
        var results: [SizeResult] = []
        for size in options.sizes {
            let taken = Set(try await engine.listNetworks().flatMap { $0.ipam.config ?? [] }.compactMap(\.subnet))
            let bench = try Workload(size: size, options: options, engine: engine, subnetsTaken: taken)
            defer { bench.removeDirectory() }
            var result = SizeResult(services: size)
            progress("N=\(size): Engine floor")
            result.floor = try await bench.floor(list: &result.floorList, repair: &result.floorRepair)
            progress("N=\(size): Engine floor \(result.floor.summary)")
            if options.withCompose {
                progress("N=\(size): docker-compose")
                result.compose = try await bench.compose()
                progress("N=\(size): docker-compose \(result.compose.summary)")
            }
            progress("N=\(size): berth")
            result.berth = try await bench.berth()
            progress("N=\(size): berth \(result.berth.summary)")
            if options.unrelated > 0 {
                progress("N=\(size): berth no-op beside \(options.unrelated) unrelated containers")
                result.unrelated = options.unrelated
                (result.aloneNoop, result.crowdedNoop, result.crowdedCalls, result.crowdedFloorList) = try await bench.crowded(
                    options.unrelated)
            }
            progress("N=\(size): berth watch")
            let idleSeconds = size == options.sizes.max() ? options.idleSeconds : 0
            do {
                let watched = try await bench.watch(idleSeconds: idleSeconds)
                (result.repair, result.repairFromRemoveCall, result.idleCPUPercent, result.idleRSSKB, result.idlePssAnonKB) = watched
            } catch {
                // The apply phases' numbers stand on their own; the table shows the watch's as missing.
                progress("N=\(size): berth watch failed: \(error)")
            }
            await bench.teardown()
            results.append(result)
            say(Report.table(result))
        }
        say(Report.targets(results))
        if let path = options.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            struct Document: Encodable {
                let engine: String; let compose: String; let cores: Int; let date: Date; let results: [SizeResult]
            }
            try encoder.encode(
                Document(
                    engine: engine.engineVersion, compose: composeVersion, cores: ProcessInfo.processInfo.activeProcessorCount, date: Date(),
                    results: results)
            ).write(to: URL(fileURLWithPath: path))
            say("written: \(path)")
        }
        try await engine.shutdown()
    }

    static func progress(_ text: String) { FileHandle.standardError.write(Data("… \(text)\n".utf8)) }
}

/// N idle busybox services (`init: true`) in one Compose file, run by each tool under its own project name.
struct Workload {
    let size: Int
    let options: CompareOptions
    let engine: DockerClient
    let directory: URL
    /// The Compose file for `berth apply`; docker-compose and `berth watch` have copies of their own.
    let file: String
    let composeFile: String
    let watchFile: String
    let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)

    /// The subnet of each tool's network when a big size needs one (else the Engine's /24s).
    let subnets: [Tool: String]

    /// - Parameter subnetsTaken: subnets of networks on the host; a network an earlier run could
    ///   not remove (stale endpoints, below) would otherwise make the next create fail ("Pool overlaps").
    init(size: Int, options: CompareOptions, engine: DockerClient, subnetsTaken: Set<String>) throws {
        self.size = size
        self.options = options
        self.engine = engine
        // The Engine's default pools here hand out /24s: 253 containers per network. A bigger
        // stack gets a /20 of 172.29.0.0/16, a range those pools do not use.
        var free = (0..<16).map { "172.29.\($0 * 16).0/20" }.filter { !subnetsTaken.contains($0) }.makeIterator()
        var subnets: [Tool: String] = [:]
        if size > 250 {
            for tool in [Tool.berth, .floor, .compose, .watch] {
                guard let subnet = free.next() else { throw BenchError(description: "no free /20 left in 172.29.0.0/16 for N = \(size)") }
                subnets[tool] = subnet
            }
        }
        self.subnets = subnets
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-bench-compare-\(size)-\(tag)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var services = "services:\n"
        for index in 0..<size {
            services += "  s\(index):\n    image: \(TestStack.baseImage)\n    init: true\n    command: [\"sleep\", \"86400\"]\n"
            services += "    environment:\n      GENERATION: \"${GENERATION:-1}\"\n"
        }
        // One file per tool, each with a subnet of its own when a big size needs one: a network the
        // Engine would not let go of (stale endpoints, below) holds its subnet for the next tool.
        var files: [String] = []
        for (name, tool) in [("berth.yml", Tool.berth), ("compose.yml", .compose), ("watch.yml", .watch)] {
            var text = services
            if let subnet = subnets[tool] {
                text += "networks:\n  default:\n    ipam:\n      config:\n        - subnet: \(subnet)\n"
            }
            let path = directory.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            files.append(path)
        }
        (file, composeFile, watchFile) = (files[0], files[1], files[2])
    }

    /// Whose network a subnet is for.
    enum Tool { case berth, floor, compose, watch }

    var berthProject: String { "bb\(tag)" }
    var composeProject: String { "bc\(tag)" }
    var floorProject: String { "bf\(tag)" }
    /// `watch` gets a project of its own: nothing an earlier phase left behind can collide with it.
    var watchProject: String { "bw\(tag)" }
    var state: String { directory.appendingPathComponent("state.db").path }

    func environment(generation: Int) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["GENERATION"] = String(generation)
        environment["BERTH_STATE"] = state
        return environment
    }

    func removeDirectory() { try? FileManager.default.removeItem(at: directory) }

    /// Removes every container and network the workload made, through the API (not timed), and
    /// waits until the Engine lists none: on a busy host removals finish well after their calls
    /// return, and a network outlives its last container by as long. Docker 20.10 was seen, after
    /// 500 removals, to keep endpoints of containers that no longer exist: the network then
    /// refuses removal, and a container of the same name refuses to join it. Those endpoints are
    /// disconnected by force once the workload has no container left.
    func teardown() async {
        let labels = [
            "berth.stack=\(berthProject)", "berth.stack=\(watchProject)", "com.docker.compose.project=\(composeProject)",
            "berth.bench=\(floorProject)",
        ]
        let engine = self.engine
        let deadline = ContinuousClock.now + .seconds(300)
        // Docker 20.10 may keep a network with stale "active endpoints" after a burst of removals,
        // until it restarts: once no container is left, a network that stays 10 s is left to be
        // reused (both sides reuse theirs), and every label is handled on each pass meanwhile.
        var networksOnlySince: ContinuousClock.Instant?
        while ContinuousClock.now < deadline {
            var left = false, containersLeft = false
            for label in labels {
                let containers = (try? await engine.listContainers(labels: [label])) ?? []
                let networks = (try? await engine.listNetworks(labels: [label])) ?? []
                if containers.isEmpty && networks.isEmpty { continue }
                left = true
                containersLeft = containersLeft || !containers.isEmpty
                // Four at a time: at N = 500, Docker 20.10 stopped answering 16 concurrent removals.
                try? await concurrently(containers, width: 4) { container in try? await engine.removeContainer(container.id, force: true) }
                for network in networks {
                    if containers.isEmpty, let stale = try? await engine.inspectNetwork(network.id).containers.values {
                        for endpoint in stale { try? await engine.disconnectNetwork(network.id, container: endpoint.name, force: true) }
                    }
                    try? await engine.removeNetwork(network.id)
                }
            }
            if !left { return }
            if containersLeft {
                networksOnlySince = nil
            } else if let since = networksOnlySince {
                if ContinuousClock.now - since > .seconds(10) {
                    CompareBench.progress("teardown: the Engine keeps a network with stale endpoints; it is reused")
                    return
                }
            } else {
                networksOnlySince = .now
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    // MARK: Floor: the Engine doing the same work, as parallel as Berth's executor

    /// What Berth and Compose ask of the Engine for service `sN`, down to its network alias: the
    /// service's name on the project network, by which the others reach it. Each alias is a DNS
    /// record the Engine keeps per network, so a floor without them does less work than the tools.
    func floorRequest(generation: Int, container name: String) -> ContainerCreateRequest {
        var request = ContainerCreateRequest(image: TestStack.baseImage)
        request.cmd = ["sleep", "86400"]
        request.env = ["GENERATION=\(generation)"]
        request.labels = ["berth.bench": floorProject]
        request.hostConfig.initProcess = true
        request.hostConfig.networkMode = "\(floorProject)_default"
        let service = String(name.split(separator: "-").last ?? "")
        request.networkingConfig = .init(endpointsConfig: ["\(floorProject)_default": EndpointRequest(aliases: [service])])
        return request
    }

    /// The floor's network, made once per cold start. A create the Engine answers with 409 may
    /// have happened already (a slow answer, a network a teardown could not remove yet): the
    /// network is looked up before anything fails.
    func floorNetwork() async throws {
        let name = "\(floorProject)_default"
        let labels = ["berth.bench": floorProject]
        do {
            let ipam = subnets[.floor].map { NetworkDetails.IPAM(config: [IPAMConfig(subnet: $0, gateway: nil)]) }
            _ = try await engine.createNetwork(NetworkCreateRequest(name: name, driver: "bridge", internal: false, labels: labels, ipam: ipam))
        } catch let error as EngineError where error.status == 409 {
            let existing = try await engine.listNetworks(labels: ["berth.bench=\(floorProject)"], names: [name])
            guard existing.contains(where: { $0.name == name }) else { throw error }
        }
    }

    func floor(list: inout [Double], repair: inout [Double]) async throws -> ToolResult {
        var result = ToolResult()
        let engine = self.engine
        for _ in 0..<options.repetitions {
            await teardown()
            let started = ContinuousClock.now
            try await floorNetwork()
            let requests = (0..<size).map { index in
                ("\(floorProject)-s\(index)", floorRequest(generation: 1, container: "\(floorProject)-s\(index)"))
            }
            try await concurrently(requests) { name, request in
                let id = try await engine.createContainer(name: name, request)
                try await engine.startContainer(id)
            }
            result.cold.append(seconds(ContinuousClock.now - started))
        }
        try await Self.settle()
        for _ in 0..<(options.repetitions * 3) {
            let started = ContinuousClock.now
            _ = try await engine.listContainers(labels: ["berth.bench=\(floorProject)"])
            list.append(seconds(ContinuousClock.now - started))
        }
        for generation in 2..<(2 + options.repetitions) {
            let containers = try await engine.listContainers(labels: ["berth.bench=\(floorProject)"])
            let requests = containers.map { ($0, floorRequest(generation: generation, container: $0.name)) }
            let started = ContinuousClock.now
            try await concurrently(requests) { container, request in
                try await engine.stopContainer(container.id, timeout: 10)
                try await engine.removeContainer(container.id)
                let id = try await engine.createContainer(name: container.name, request)
                try await engine.startContainer(id)
            }
            result.recreate.append(seconds(ContinuousClock.now - started))
        }
        for index in 0..<options.repetitions {
            let name = "\(floorProject)-s\(index % size)"
            let victim = try await engine.listContainers(labels: ["berth.bench=\(floorProject)"]).first { $0.name == name }!
            try await engine.removeContainer(victim.id, force: true)
            let started = ContinuousClock.now
            let id = try await engine.createContainer(name: name, floorRequest(generation: 1 + options.repetitions, container: name))
            try await engine.startContainer(id)
            let elapsed = seconds(ContinuousClock.now - started)
            result.restore.append(elapsed)
            repair.append(elapsed)
        }
        await teardown()
        return result
    }

    // MARK: The tools

    func compose() async throws -> ToolResult {
        try await tool { generation in
            // Bounded: docker-compose 1.29 was seen to hang once with 100 services.
            try await timed(
                "/usr/bin/timeout", ["600", options.compose, "-p", composeProject, "-f", composeFile, "up", "-d"],
                environment: environment(generation: generation))
        } victim: {
            "\(composeProject)_s0_1"
        } label: {
            "com.docker.compose.project=\(composeProject)"
        }
    }

    func berth() async throws -> ToolResult {
        try await tool { generation in
            try await timed(options.berth, ["apply", "-f", file, "-p", berthProject, "--json"], environment: environment(generation: generation))
        } victim: {
            "\(berthProject)-s0-1"
        } label: {
            "berth.stack=\(berthProject)"
        }
    }

    /// Waits before the no-op samples, on every side alike. For several seconds after N containers
    /// were started the Engine is still busy with them (its label-filtered list of 100 took 10 ms
    /// instead of 6.5 ms for ~8 s here), and a no-op is what a converged host answers.
    static func settle() async throws { try await Task.sleep(for: .seconds(10)) }

    /// Cold apply (from nothing), no-op (converged), recreate all (an env value changed), restore one (removed by hand).
    func tool(_ apply: (Int) async throws -> TimedRun, victim: () -> String, label: () -> String) async throws -> ToolResult {
        var result = ToolResult()
        var lastCalls = ""
        var peak = 0
        func run(_ generation: Int) async throws -> TimedRun {
            let run = try await apply(generation)
            peak = max(peak, run.peakRSSKB)
            guard run.status == 0 else {
                // With --json, Berth says why on stdout.
                throw BenchError(description: "apply failed (\(run.status)): \(run.stderr.suffix(2000))\(run.stdout.suffix(2000))")
            }
            if let data = run.stdout.data(using: .utf8), let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let calls = json["engineCalls"] as? [String: Int]
            {
                lastCalls = "\(calls["reads"] ?? 0)/\(calls["writes"] ?? 0)"
            }
            return run
        }
        for _ in 0..<options.repetitions {
            await teardown()
            try? FileManager.default.removeItem(atPath: state)
            result.cold.append(try await run(1).seconds)
        }
        result.calls["cold"] = lastCalls
        (result.peakRSSKB["cold"], peak) = (peak, 0)
        try await Self.settle()
        for _ in 0..<(options.repetitions * 3) { result.noop.append(try await run(1).seconds) }
        result.calls["noop"] = lastCalls
        (result.peakRSSKB["noop"], peak) = (peak, 0)
        for generation in 2..<(2 + options.repetitions) { result.recreate.append(try await run(generation).seconds) }
        result.calls["recreate"] = lastCalls
        (result.peakRSSKB["recreate"], peak) = (peak, 0)
        let generation = 1 + options.repetitions
        for _ in 0..<options.repetitions {
            let target = try await engine.listContainers(labels: [label()]).first { $0.name == victim() }
            if let target { try await engine.removeContainer(target.id, force: true) }
            result.restore.append(try await run(generation).seconds)
        }
        result.calls["restore"] = lastCalls
        (result.peakRSSKB["restore"], peak) = (peak, 0)
        if result.calls.values.allSatisfy(\.isEmpty) { result.calls = [:] }
        await teardown()
        return result
    }

    /// Berth's no-op apply on its converged stack, and the floor's label-filtered list, beside
    /// `count` containers that belong to no stack (made, not started: what a list returns is the
    /// same, and a 2-core machine cannot run a thousand), with Berth's Engine calls.
    /// The no-op alone is measured again first, in the same phase, so both sides see the same host.
    func crowded(_ count: Int) async throws -> (alone: [Double], noop: [Double], calls: String, floorList: [Double]) {
        await teardown()
        try? FileManager.default.removeItem(atPath: state)
        let apply = { try await timed(options.berth, ["apply", "-f", file, "-p", berthProject, "--json"], environment: environment(generation: 1)) }
        guard try await apply().status == 0 else { throw BenchError(description: "berth apply failed") }
        var alone: [Double] = []
        for _ in 0..<(options.repetitions * 3) { alone.append(try await apply().seconds) }
        let engine = self.engine
        let label = "berth.bench.unrelated=\(tag)"
        var unrelated = ContainerCreateRequest(image: TestStack.baseImage)
        unrelated.cmd = ["true"]
        unrelated.labels = ["berth.bench.unrelated": tag]
        let request = unrelated
        try await concurrently(Array(0..<count)) { [tag] index in _ = try await engine.createContainer(name: "bu\(tag)-\(index)", request) }
        @Sendable func removeUnrelated() async {
            for _ in 0..<5 {
                let left = (try? await engine.listContainers(labels: [label])) ?? []
                if left.isEmpty { break }
                try? await concurrently(left) { try? await engine.removeContainer($0.id, force: true) }
            }
        }
        defer { Task { await removeUnrelated() } }
        try await Task.sleep(for: .seconds(5))
        var noop: [Double] = []
        var calls = ""
        for _ in 0..<(options.repetitions * 3) {
            let run = try await apply()
            noop.append(run.seconds)
            if let json = try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any],
                let counts = json["engineCalls"] as? [String: Int]
            {
                calls = "\(counts["reads"] ?? 0)/\(counts["writes"] ?? 0)"
            }
        }
        var list: [Double] = []
        for _ in 0..<(options.repetitions * 3) {
            let started = ContinuousClock.now
            _ = try await engine.listContainers(labels: ["berth.stack=\(berthProject)"])
            list.append(seconds(ContinuousClock.now - started))
        }
        await removeUnrelated()
        await teardown()
        return (alone, noop, calls, list)
    }

    /// `berth watch` on the same workload: drift-repair latency, then the idle cost.
    func watch(idleSeconds: Int) async throws -> ([Double], [Double], Double?, Int?, Int?) {
        try? FileManager.default.removeItem(atPath: state)
        let probe = try await WatchProbe.start(
            berth: options.berth, ["watch", "-f", watchFile, "-p", watchProject, "--resync", "300"], state: state, engine: engine,
            stack: watchProject, expected: size)
        let names = (0..<min(size, 10)).map { "\(watchProject)-s\($0)-1" }
        let (repair, fromRemoveCall) = try await probe.repairs(of: names, repetitions: options.watchRepetitions)
        var idle: (cpuPercent: Double, rssKB: Int)?
        var anonymous: Int?
        if idleSeconds > 0 {
            idle = try await probe.idle(for: idleSeconds)
            anonymous = pssAnonKB(of: probe.process.processIdentifier)
        }
        await probe.stop()
        return (repair, fromRemoveCall, idle?.cpuPercent, idle?.rssKB, anonymous)
    }
}

/// The printed tables.
enum Report {
    static func ratio(_ a: Double, _ b: Double) -> String {
        guard !a.isNaN, !b.isNaN, b > 0 else { return "—" }
        return String(format: "%.2f×", a / b)
    }

    static func table(_ result: SizeResult) -> String {
        let rows: [(String, [Double], [Double], [Double], String)] = [
            ("cold apply", result.berth.cold, result.compose.cold, result.floor.cold, result.berth.calls["cold"] ?? ""),
            ("no-op apply", result.berth.noop, result.compose.noop, result.floorList, result.berth.calls["noop"] ?? ""),
            (
                "recreate all (env changed)", result.berth.recreate, result.compose.recreate, result.floor.recreate,
                result.berth.calls["recreate"] ?? ""
            ),
            ("restore one removed", result.berth.restore, result.compose.restore, result.floor.restore, result.berth.calls["restore"] ?? ""),
        ]
        var lines = [
            "",
            "N = \(result.services)                     berth     compose     floor   berth/compose  berth/floor  berth Engine calls (reads/writes)",
        ]
        for (name, berth, compose, floor, calls) in rows {
            let b = median(berth), c = median(compose), f = median(floor)
            lines.append(
                name.padding(toLength: 27, withPad: " ", startingAt: 0) + short(b).leftPad(9) + short(c).leftPad(12) + short(f).leftPad(10)
                    + ratio(b, c).leftPad(15) + ratio(b, f).leftPad(13) + "  " + calls)
        }
        let p50 = percentile(result.repair, 50), p95 = percentile(result.repair, 95)
        lines.append(
            "watch drift repair p50/p95   \(short(p50)) / \(short(p95))  (floor create+start \(short(median(result.floorRepair))); from the start of rm -f: p95 \(short(percentile(result.repairFromRemoveCall, 95))))"
        )
        if result.unrelated > 0 {
            let alone = median(result.aloneNoop), crowded = median(result.crowdedNoop)
            lines.append(
                "no-op beside \(result.unrelated) unrelated containers: \(short(crowded)) (alone \(short(alone)), \(ratio(crowded, alone))); Engine calls \(result.crowdedCalls) (alone \(result.berth.calls["noop"] ?? "?")); floor list \(short(median(result.crowdedFloorList)))"
            )
        }
        let peaks = ["cold", "noop", "recreate"].compactMap { op in
            result.berth.peakRSSKB[op].map { "\(op) \(String(format: "%.1f", Double($0) / 1024)) MiB" }
        }
        if !peaks.isEmpty { lines.append("berth apply peak RSS: " + peaks.joined(separator: ", ")) }
        if let cpu = result.idleCPUPercent, let rss = result.idleRSSKB {
            lines.append(
                String(
                    format: "idle berth watch: CPU %.3f %% of one core, RSS %.1f MiB, of which Pss_Anon %.1f MiB", cpu, Double(rss) / 1024,
                    Double(result.idlePssAnonKB ?? 0) / 1024))
        }
        lines.append("(medians; floor = the raw Engine API doing the same work in parallel; no-op floor = one label-filtered list)")
        return lines.joined(separator: "\n")
    }

    /// The issue's targets, each met or not: the no-op, watch and idle ones at N = 100 (at the
    /// largest size when 100 was not run), cold and recreate at N = 500 (likewise).
    static func targets(_ results: [SizeResult]) -> String {
        guard let largest = results.max(by: { $0.services < $1.services }) else { return "" }
        let result = results.first { $0.services == 100 } ?? largest
        let big = results.first { $0.services == 500 } ?? largest
        let noop = median(result.berth.noop), composeNoop = median(result.compose.noop)
        // Without docker-compose (`--compose none`) there is nothing to compare with.
        let compose: [(String, Bool)] =
            result.compose.noop.isEmpty
            ? [] : [("no-op ≥ 20× faster than docker-compose (\(String(format: "%.0f×", composeNoop / noop)))", composeNoop / noop >= 20)]
        let checks: [(String, Bool)] =
            [("no-op apply ≤ 40 ms (\(short(noop)))", noop <= 0.04)] + compose + [
                (
                    "cold apply ≤ 1.1× floor at N = \(big.services) (\(ratio(median(big.berth.cold), median(big.floor.cold))))",
                    median(big.berth.cold) <= 1.1 * median(big.floor.cold)
                ),
                (
                    "recreate all ≤ 1.1× floor at N = \(big.services) (\(ratio(median(big.berth.recreate), median(big.floor.recreate))))",
                    median(big.berth.recreate) <= 1.1 * median(big.floor.recreate)
                ),
                ("watch drift repair p95 ≤ 0.5 s (\(short(percentile(result.repair, 95))))", percentile(result.repair, 95) <= 0.5),
                (
                    "idle RSS ≤ 30 MB (\(result.idleRSSKB.map { String(format: "%.1f MiB", Double($0) / 1024) } ?? "—"))",
                    (result.idleRSSKB ?? .max) <= 30 * 1000
                ),
            ]
        return "\ntargets (at N = \(result.services) unless said):\n"
            + checks.map { "  \($0.1 ? "met    " : "NOT met") \($0.0)" }.joined(separator: "\n")
    }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? " " + self : String(repeating: " ", count: width - count) + self }
}

/// Prints unbuffered, so each table shows as its size finishes, also when redirected to a file.
func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

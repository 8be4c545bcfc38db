import BerthEngine
import BerthTesting
import Foundation

/// `berth-bench drift`: how fast `berth watch` repairs a removed container, next to the Engine's
/// own floor (create + start of the same container through the raw API), measured in one run; and
/// what an idle `berth watch` costs in CPU and memory.
///
/// Usage: berth-bench [--berth PATH] [--repetitions N] [--services N] [--idle-seconds S] [--json PATH]
struct Options {
    var berth = ".build/release/berth"
    var repetitions = 20
    var services = 5
    var idleSeconds = 60
    var json: String?

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--berth": berth = iterator.next() ?? berth
            case "--repetitions": repetitions = Int(iterator.next() ?? "") ?? repetitions
            case "--services": services = Int(iterator.next() ?? "") ?? services
            case "--idle-seconds": idleSeconds = Int(iterator.next() ?? "") ?? idleSeconds
            case "--json": json = iterator.next()
            case "drift": break
            default:
                FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
                exit(2)
            }
        }
    }
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    let rank = p / 100 * Double(sorted.count - 1)
    let low = Int(rank.rounded(.down)), high = Int(rank.rounded(.up))
    return sorted[low] + (sorted[high] - sorted[low]) * (rank - Double(low))
}

func milliseconds(_ seconds: Double) -> String { String(format: "%7.1f ms", seconds * 1000) }

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

let options = Options(Array(CommandLine.arguments.dropFirst()))
let engine = try await DockerClient.connect()
let stack = try await TestStack.make("bench")
defer { Task { await stack.cleanup() } }
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
var floor: [Double] = []
for index in 0..<options.repetitions {
    var request = ContainerCreateRequest(image: TestStack.baseImage)
    request.cmd = ["sleep", "86400"]
    request.labels = ["berth.stack": stack.name, "berth.bench": "floor"]
    request.hostConfig.initProcess = true
    request.hostConfig.networkMode = "bridge"
    let start = ContinuousClock.now
    let id = try await engine.createContainer(name: "\(stack.name)-floor\(index)", request)
    try await engine.startContainer(id)
    floor.append(seconds(ContinuousClock.now - start))
    try await engine.removeContainer(id, force: true)
}

// Berth: a real `berth watch` process; remove one container, wait for the Engine's `start` of its replacement.
let watch = Process()
watch.executableURL = URL(fileURLWithPath: options.berth)
watch.arguments = ["watch", stack.directory.path, "--resync", "300"]
var environment = ProcessInfo.processInfo.environment
environment["BERTH_STATE"] = stack.statePath
watch.environment = environment
watch.standardOutput = FileHandle.nullDevice
watch.standardError = FileHandle.nullDevice
try watch.run()
defer { watch.terminate() }
for _ in 0..<300 {
    if try await stack.containers().filter({ $0.state == "running" }).count == options.services { break }
    try await Task.sleep(for: .milliseconds(100))
}
try await Task.sleep(for: .seconds(1))

/// Seconds of a Duration.
func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }

var repair: [Double] = []  // from "container removed" (the rm call returned) to its replacement's start
var repairFromRemoveCall: [Double] = []  // from the start of `rm -f` (includes the Engine's ~100 ms kill + cleanup)
for index in 0..<options.repetitions {
    let name = "\(stack.name)-s\(index % options.services)"
    let events = engine.events(filters: ["type": ["container"], "event": ["start"], "label": ["berth.stack=\(stack.name)"]], since: nil)
    let waiter = Task { () -> ContinuousClock.Instant? in
        for try await event in events where event.actor.attributes["name"] == name { return ContinuousClock.now }
        return nil
    }
    try await Task.sleep(for: .milliseconds(200))
    let target = try await stack.containers().first { $0.name == name }!
    let removeCalled = ContinuousClock.now
    try await engine.removeContainer(target.id, force: true)
    let removed = ContinuousClock.now
    let timeout = Task {
        try await Task.sleep(for: .seconds(30)); waiter.cancel()
    }
    guard let running = try await waiter.value else { fatalError("\(name) was not repaired within 30 s") }
    timeout.cancel()
    repair.append(seconds(running - removed))
    repairFromRemoveCall.append(seconds(running - removeCalled))
    // Let the follow-up reconcile settle so each repetition starts from a converged host.
    try await Task.sleep(for: .milliseconds(600))
}

// Idle: the same watch process with nothing happening (after the last repair's follow-ups settle).
try await Task.sleep(for: .seconds(3))
let before = usage(of: watch.processIdentifier)
try await Task.sleep(for: .seconds(options.idleSeconds))
let after = usage(of: watch.processIdentifier)
let idleCPU = (after.cpu - before.cpu) / Double(options.idleSeconds) * 100

let floorP50 = percentile(floor, 50), floorP95 = percentile(floor, 95)
let repairP50 = percentile(repair, 50), repairP95 = percentile(repair, 95)
print("")
print("                                   p50          p95       ratio p95 vs floor")
print("engine floor (create+start)   \(milliseconds(floorP50))   \(milliseconds(floorP95))")
print("berth watch drift repair      \(milliseconds(repairP50))   \(milliseconds(repairP95))     \(String(format: "%.2f×", repairP95 / floorP95))")
print(
    "  (from the start of rm -f     \(milliseconds(percentile(repairFromRemoveCall, 50)))   \(milliseconds(percentile(repairFromRemoveCall, 95))), Engine removal included)"
)
print("")
print("idle berth watch over \(options.idleSeconds) s: CPU \(String(format: "%.3f", idleCPU)) % of one core, RSS \(after.rssKB / 1024) MiB")
print("target: drift repair p95 ≤ 500 ms → \(repairP95 <= 0.5 ? "met" : "NOT met")")

if let path = options.json {
    let result: [String: Any] = [
        "engine": engine.engineVersion, "repetitions": options.repetitions, "services": options.services,
        "floorSeconds": ["p50": floorP50, "p95": floorP95, "samples": floor],
        "repairSeconds": ["p50": repairP50, "p95": repairP95, "samples": repair],
        "repairFromRemoveCallSeconds": ["p50": percentile(repairFromRemoveCall, 50), "p95": percentile(repairFromRemoveCall, 95)],
        "ratioP95": repairP95 / floorP95,
        "idle": ["seconds": options.idleSeconds, "cpuPercent": idleCPU, "rssKB": after.rssKB],
    ]
    try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
}
watch.terminate()
await stack.cleanup()
try await engine.shutdown()

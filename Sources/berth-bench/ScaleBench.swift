import BerthTesting
import Foundation

/// `berth-bench scale`: `validate`, `render` and `plan` (CLI wall time, release build) of stacks
/// of growing size, in one run. Linear means the time per service stays put: the bench prints
/// each size's time and its ratio to the smallest size's, per service.
///
/// The stack has what makes resolution work: a Connection with two consumers per ten services,
/// dependency chains of ten with health conditions, an Environment with variables, version pins
/// and a secret, one network.
///
/// Usage: berth-bench scale [--berth PATH] [--sizes 500,1000,5000] [--repetitions N] [--json PATH]
struct ScaleOptions {
    var berth = ".build/release/berth"
    var sizes = [500, 1000, 5000]
    var repetitions = 3
    var json: String?

    init(_ arguments: [String]) {
        let given = BenchArguments(arguments, known: ["--berth", "--sizes", "--repetitions", "--json"])
        berth = given.string("--berth") ?? berth
        sizes = given.string("--sizes").map { $0.split(separator: ",").compactMap { Int($0) } } ?? sizes
        repetitions = given.int("--repetitions") ?? repetitions
        json = given.string("--json")
    }
}

enum ScaleBench {
    static let commands = ["validate", "render", "plan"]

    static func run(_ options: ScaleOptions) async throws {
        print("berth-bench scale: sizes \(options.sizes), medians of \(options.repetitions), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        var times: [Int: [String: Double]] = [:]
        for size in options.sizes {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-bench-scale-\(size)-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            try write(size: size, to: directory)
            var environment = ProcessInfo.processInfo.environment
            environment["BERTH_STATE"] = directory.appendingPathComponent("state.db").path
            environment["BERTH_BENCH_DB_PASSWORD"] = "bench-only"
            for command in commands {
                var samples: [Double] = []
                for _ in 0..<options.repetitions {
                    let run = try await timed(options.berth, [command, directory.appendingPathComponent("stack").path], environment: environment)
                    // `plan` exits 0; validate too; render prints the resolved state.
                    guard run.status == 0 else { throw BenchError(description: "berth \(command) at N = \(size) failed: \(run.stderr.suffix(800))") }
                    samples.append(run.seconds)
                }
                times[size, default: [:]][command] = median(samples)
                FileHandle.standardError.write(Data("… N=\(size) \(command): \(short(median(samples)))\n".utf8))
            }
        }
        let smallest = options.sizes.min() ?? 1
        print("")
        print("| services | " + commands.map { "`\($0)`" }.joined(separator: " | ") + " |")
        print("| --- |" + String(repeating: " --- |", count: commands.count))
        for size in options.sizes.sorted() {
            let cells = commands.map { command -> String in
                let time = times[size]?[command] ?? .nan
                let perService = time / Double(size), basePerService = (times[smallest]?[command] ?? .nan) / Double(smallest)
                return size == smallest ? short(time) : "\(short(time)) (\(String(format: "%.2f×", perService / basePerService)) per service)"
            }
            print("| \(size) | " + cells.joined(separator: " | ") + " |")
        }
        if let largest = options.sizes.max(), let row = times[largest] {
            let met = commands.allSatisfy { (row[$0] ?? .infinity) <= 2 }
            print("target: validate, render and plan of \(largest) services ≤ 2 s each → \(met ? "met" : "NOT met")")
        }
        if let path = options.json {
            let result = Dictionary(uniqueKeysWithValues: times.map { (String($0.key), $0.value) })
            try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        }
    }

    /// A stack directory of `size` services.
    static func write(size: Int, to directory: URL) throws {
        let stack = directory.appendingPathComponent("stack")
        try FileManager.default.createDirectory(at: stack, withIntermediateDirectories: true)
        var text = """
            kind: Stack
            name: scale
            default_environment: prod
            ---
            kind: Network
            name: back
            ---
            kind: Environment
            name: prod
            variables: {REGION: eu, DB_NAME: app, DB_USER: app}
            versions: {db: "15"}
            secrets:
              DB_PASSWORD: {env: BERTH_BENCH_DB_PASSWORD}
            ---
            kind: Service
            name: db
            image: \(TestStack.baseImage)
            command: [sleep, "86400"]
            networks: [back]
            healthcheck: {test: [CMD, "true"], interval: 5s}

            """
        var consumers: [String] = []
        for index in 0..<size {
            let name = "s\(index)"
            text += "---\nkind: Service\nname: \(name)\nimage: \(TestStack.baseImage)\ncommand: [sleep, \"86400\"]\nnetworks: [back]\n"
            text += "environment: {REGION: \"${REGION}\", INDEX: \"\(index)\"}\n"
            if index % 10 != 0 { text += "depends_on: {s\(index - 1): {condition: service_started}}\n" }
            if index % 5 == 0 { consumers.append(name) }
        }
        text += """
            ---
            kind: Connection
            name: database
            consumers: [\(consumers.joined(separator: ", "))]
            targets:
              default: {service: db, port: 5432}
            env:
              DB_HOST: ${host}
              DB_PORT: ${port}
              DB_PASSWORD: ${DB_PASSWORD}

            """
        try text.write(to: stack.appendingPathComponent("stack.yaml"), atomically: true, encoding: .utf8)
    }
}

import BerthStore
import Foundation

/// `berth-bench history`: what the SQLite log costs once it is big. The same measurements are
/// taken on a log of a few reconciles (the baseline) and on one of N (100,000 by default), in one
/// run: the `history` query (store call and `berth history` wall time), the reads every reconcile
/// makes before planning, and one reconcile's log write (no-op, and with four actions).
///
/// Usage: berth-bench history [--berth PATH] [--reconciles N] [--samples N] [--json PATH]
struct HistoryOptions {
    var berth = ".build/release/berth"
    var reconciles = 100_000
    var samples = 200
    var json: String?

    init(_ arguments: [String]) {
        let given = BenchArguments(arguments, known: ["--berth", "--reconciles", "--samples", "--json"])
        berth = given.string("--berth") ?? berth
        reconciles = given.int("--reconciles") ?? reconciles
        samples = given.int("--samples") ?? samples
        json = given.string("--json")
    }
}

enum HistoryBench {
    static let stack = "hist"

    /// Medians, in seconds, of one log's measurements.
    struct Costs {
        var history = 0.0
        var historyOfService = 0.0
        var cli = 0.0
        var previewReads = 0.0
        var noOpWrite = 0.0
        var changeWrite = 0.0

        var rows: [(String, Double)] {
            [
                ("history --limit 20 (store)", history), ("history --service (store)", historyOfService), ("berth history (CLI wall)", cli),
                ("reads before each plan", previewReads), ("log write: no-op reconcile", noOpWrite),
                ("log write: reconcile with 4 actions", changeWrite),
            ]
        }
    }

    static func run(_ options: HistoryOptions) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-bench-history-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let small = try ReconcileStore(path: directory.appendingPathComponent("small.db").path)
        let big = try ReconcileStore(path: directory.appendingPathComponent("big.db").path)
        try fill(small, count: 20)
        let filling = ContinuousClock.now
        try fill(big, count: options.reconciles) { done in
            if done % 10_000 == 0 { print("  logged \(done) of \(options.reconciles) reconciles") }
        }
        let fillSeconds = seconds(ContinuousClock.now - filling)

        let baseline = try await measure(small, options)
        let loaded = try await measure(big, options)
        print("")
        print(
            "SQLite log: \(options.reconciles) reconciles (filled in \(String(format: "%.1f", fillSeconds)) s) vs 20, medians of \(options.samples)")
        print("| | 20 reconciles | \(options.reconciles) reconciles | ratio |")
        print("| --- | --- | --- | --- |")
        for ((name, base), (_, value)) in zip(baseline.rows, loaded.rows) {
            print("| \(name) | \(milliseconds(base)) | \(milliseconds(value)) | \(String(format: "%.2f×", value / base)) |")
        }
        print("target: history ≤ 50 ms → \(loaded.history <= 0.05 && loaded.cli <= 0.05 ? "met" : "NOT met")")
        print("target: one reconcile's log write ≤ 1 ms → \(max(loaded.noOpWrite, loaded.changeWrite) <= 0.001 ? "met" : "NOT met")")
        if let path = options.json {
            let result: [String: Any] = [
                "reconciles": options.reconciles, "samples": options.samples, "fillSeconds": fillSeconds,
                "baseline": Dictionary(uniqueKeysWithValues: baseline.rows), "loaded": Dictionary(uniqueKeysWithValues: loaded.rows),
            ]
            try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        }
    }

    /// Logs `count` reconciles the way `watch` does over months: nine no-ops for each one that
    /// replaces a container (stop, remove, create, start) and records its rollout.
    static func fill(_ store: ReconcileStore, count: Int, progress: (Int) -> Void = { _ in }) throws {
        for index in 1...count {
            if index % 10 == 0 { try changeReconcile(store, index: index) } else { try noOpReconcile(store) }
            progress(index)
        }
    }

    static func noOpReconcile(_ store: ReconcileStore) throws {
        try store.markInterrupted(stack: stack)
        let id = try store.begin(ReconcileRecord(stack: stack, trigger: "resync", profiles: [], environment: nil, manifestDigest: "d"))
        try store.finish(id, outcome: "converged", error: nil, driftCount: 0, engineReads: 4, engineWrites: 0)
    }

    static func changeReconcile(_ store: ReconcileStore, index: Int) throws {
        try store.markInterrupted(stack: stack)
        let id = try store.begin(ReconcileRecord(stack: stack, trigger: "event", profiles: [], environment: nil, manifestDigest: "d"))
        let service = "s\(index % 50)"
        let container = String(format: "%064x", index)
        for (step, kind) in ["stop", "remove", "create", "start"].enumerated() {
            let action = try store.record(
                ActionRecord(
                    reconcileID: id, step: step + 1, kind: kind, target: "container \(stack)-\(service)", reason: "spec changed",
                    startedAt: Date(), endedAt: nil, outcome: .running, error: nil, service: service, containerID: container))
            try store.end(action: action, outcome: .ok, error: nil, containerID: container)
        }
        try store.finish(id, outcome: "changed", error: nil, driftCount: 4, engineReads: 6, engineWrites: 4)
    }

    static func measure(_ store: ReconcileStore, _ options: HistoryOptions) async throws -> Costs {
        func typical(_ body: () throws -> Void) rethrows -> Double {
            var times: [Double] = []
            for _ in 0..<options.samples {
                let started = ContinuousClock.now
                try body()
                times.append(seconds(ContinuousClock.now - started))
            }
            return median(times)
        }
        var costs = Costs()
        costs.history = try typical { _ = try store.history(stack: stack, limit: 20) }
        costs.historyOfService = try typical { _ = try store.history(stack: stack, service: "s10", limit: 20) }
        costs.previewReads = try typical {
            _ = try store.selection(stack: stack)
            _ = try store.holds(stack: stack)
            _ = try store.hooksRun(stack: stack)
            _ = try store.failedStarts(stack: stack)
            _ = try store.adoptedVolumes(stack: stack)
            _ = try store.appliedHashes(stack: stack)
            _ = try store.stoppedServices(stack: stack)
        }
        var index = 0
        costs.noOpWrite = try typical { try noOpReconcile(store) }
        costs.changeWrite = try typical {
            index += 10
            try changeReconcile(store, index: index)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["BERTH_STATE"] = store.path
        var cli: [Double] = []
        for _ in 0..<min(options.samples, 30) {
            let run = try await timed(options.berth, ["history", "--stack", stack], environment: environment)
            guard run.status == 0 else { throw BenchError(description: "berth history failed: \(run.stderr)") }
            cli.append(run.seconds)
        }
        costs.cli = median(cli)
        return costs
    }
}

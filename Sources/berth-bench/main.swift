import Foundation

/// `berth-bench`: measurements that claim speed, each against a baseline measured in the same run.
///
///     berth-bench drift   …   drift-repair latency of `berth watch` vs the Engine floor; idle cost
///     berth-bench compare …   Berth vs docker-compose vs the Engine floor for N services
///     berth-bench soak    …   a busy `berth watch` for an hour: memory and open files must not grow
///     berth-bench engines …   apply, no-op and drift repair on Docker and on Podman, side by side
///     berth-bench burst   …   many containers removed at once under `berth watch` vs the Engine floor
///     berth-bench scale   …   validate, render and plan of 500 to 5,000 services: time per service
///     berth-bench history …   the SQLite log at 100,000 reconciles vs a small one: history, reads, writes
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "drift": try await DriftBench.run(DriftOptions(Array(arguments.dropFirst())))
case "compare": try await CompareBench.run(CompareOptions(Array(arguments.dropFirst())))
case "soak": try await SoakBench.run(SoakOptions(Array(arguments.dropFirst())))
case "engines": try await EnginesBench.run(EnginesOptions(Array(arguments.dropFirst())))
case "history": try await HistoryBench.run(HistoryOptions(Array(arguments.dropFirst())))
case "burst": try await BurstBench.run(BurstOptions(Array(arguments.dropFirst())))
case "scale": try await ScaleBench.run(ScaleOptions(Array(arguments.dropFirst())))
default:
    FileHandle.standardError.write(
        Data("usage: berth-bench drift|compare|soak|engines|history|burst|scale [options]  (see bench/*)\n".utf8))
    exit(2)
}

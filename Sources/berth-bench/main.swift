import Foundation

/// `berth-bench`: measurements that claim speed, each against a baseline measured in the same run.
///
///     berth-bench drift   …   drift-repair latency of `berth watch` vs the Engine floor; idle cost
///     berth-bench compare …   Berth vs docker-compose vs the Engine floor for N services
///     berth-bench soak    …   a busy `berth watch` for an hour: memory and open files must not grow
///     berth-bench engines …   apply, no-op and drift repair on Docker and on Podman, side by side
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "drift": try await DriftBench.run(DriftOptions(Array(arguments.dropFirst())))
case "compare": try await CompareBench.run(CompareOptions(Array(arguments.dropFirst())))
case "soak": try await SoakBench.run(SoakOptions(Array(arguments.dropFirst())))
case "engines": try await EnginesBench.run(EnginesOptions(Array(arguments.dropFirst())))
default:
    FileHandle.standardError.write(
        Data("usage: berth-bench drift|compare|soak|engines [options]  (see bench/drift, bench/compare, bench/soak, bench/engines)\n".utf8))
    exit(2)
}

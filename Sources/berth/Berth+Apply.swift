import ArgumentParser
import BerthController
import BerthEngine
import BerthModel
import BerthStore
import Foundation

extension Berth {
    /// Converges the host once.
    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Converge the host to a stack once, printing each action with its reason.",
            discussion:
                "Exits 0 when the host matches the manifests afterwards, 1 when it does not (a failed step, a conflict, or a rollout that failed its health gate and was rolled back). The reconcile, its actions and rollouts are logged in the state file."
        )

        @OptionGroup var stack: StackOptions
        @OptionGroup var git: GitOptions
        @OptionGroup var common: CommonOptions
        @OptionGroup var progress: ProgressOptions
        @Flag(help: "Remove containers Berth does not own that hold a wanted name (otherwise they are reported as conflicts).")
        var replace = false
        @Option(help: "Seconds to wait for another Berth process acting on this stack before giving up.")
        var lockTimeout = 120
        @Flag(help: "Ask the registries whether image tags moved and pull (then recreate) what did; pull_policy never is respected.")
        var pull = false
        @Flag(help: "Try again services held at an earlier revision after a failed rollout or a rollback.")
        var retryFailed = false

        func run() async throws {
            // Connecting (version negotiation) overlaps reading the manifests and the state file.
            let connecting = Task { try await DockerClient.connect() }
            let report: ReconcileReport
            if git.url == nil, let name = stack.source.source.nameBeforeLoading(environment: ProcessInfo.processInfo.environment) {
                // The name is settled (-p, COMPOSE_PROJECT_NAME): lock the stack and list what it
                // owns while its files load. The log is opened after them, so bad input leaves no trace.
                report = try await withStackLock(common, stack: name, lockTimeout: .seconds(lockTimeout), connecting: connecting) {
                    let early = EarlyListing(stack: name, engine: connecting)
                    let loaded: LoadedStack
                    let store: ReconcileStore
                    do {
                        loaded = try stack.load()
                        store = try common.openStore()
                    } catch {
                        early.cancel()
                        try? await connecting.value.shutdown()
                        throw error
                    }
                    return try await withEngine(connecting) { engine in
                        try await converge(loaded, Session(engine: engine, store: store), early: early, follower: nil)
                    }
                }
            } else {
                let loaded: LoadedStack
                let follower: GitFollower?
                do {
                    follower = try git.follower(statePath: common.statePath, store: try common.openStore())
                    loaded = try await follower?.stackNow(retryHeld: retryFailed) ?? stack.load()
                } catch {
                    connecting.cancel()
                    try? await connecting.value.shutdown()
                    throw error
                }
                report = try await withSession(common, stack: loaded.name, lockTimeout: .seconds(lockTimeout), connecting: connecting) {
                    try await converge(loaded, $0, early: nil, follower: follower)
                }
            }
            if common.json {
                try printJSON(ReportJSON(report: report))
            } else {
                Self.summarize(report)
            }
            if !report.outcome.isConverged || !report.rollback.isEmpty { throw ExitCode.failure }
        }

        /// One reconcile of `loaded`, and for a followed repository, the way back from a commit
        /// whose rollout failed.
        private func converge(_ loaded: LoadedStack, _ session: Session, early: EarlyListing?, follower: GitFollower?) async throws
            -> ReconcileReport
        {
            var options = stack.reconcileOptions
            options.replaceConflicts = replace
            options.pull = pull
            options.retryFailed = retryFailed
            options.startStopped = true
            let onEvent = progress.printer(json: common.json)
            do {
                let reconciler = Reconciler(engine: session.engine, store: session.store, early: early)
                let report = try await reconciler.apply(loaded, options, onEvent: onEvent)
                // A commit whose rollout failed is held back: the host goes back to the last good one.
                guard let follower, await follower.reconciled(report, stack: loaded) else { return report }
                let good = try await follower.stack(current: loaded, reload: true)
                Console.error(
                    "commit \(GitOrigin.short(loaded.origin?.commit ?? "")) held back; applying \(GitOrigin.short(good.origin?.commit ?? ""))\n")
                var first = report
                first.rollback.append(
                    try await reconciler.apply(
                        good, options, .rollback("commit \(GitOrigin.short(loaded.origin?.commit ?? "")) held back"), onEvent: onEvent))
                return first
            } catch let error as ManifestErrors {
                throw await manifestFailure(error, in: loaded, from: follower)
            }
        }

        /// Conflicts, rollouts, holds and a summary line; then the same for a rollback that followed.
        static func summarize(_ report: ReconcileReport) {
            for check in report.plan.checks { print(Output.check(check)) }
            for conflict in report.plan.conflicts { print("! conflict \(conflict.resource): \(conflict.reason)") }
            if let failure = report.failure { print("✗ \(failure)") }
            for rollout in report.rollouts where rollout.order != .create { print(Output.rollout(rollout)) }
            for hold in report.holds { print(Output.hold(hold)) }
            let seconds = report.endedAt.timeIntervalSince(report.startedAt)
            let summary = report.outcome == .converged ? "already converged" : "\(report.outcome.rawValue), \(report.plan.changeCount) change(s)"
            print(
                "\(report.stack): \(summary) in \(String(format: "%.2f", seconds))s (reconcile #\(report.reconcileID ?? 0); engine calls: \(report.engineCalls.reads) reads, \(report.engineCalls.writes) writes\(report.engineCalls.retries > 0 ? ", \(report.engineCalls.retries) retried" : ""))"
            )
            for rollback in report.rollback {
                print(report.failure == nil ? "rolling back: the new container did not pass its health gate" : "going back:")
                summarize(rollback)
            }
        }
    }
}

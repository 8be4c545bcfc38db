import ArgumentParser
import BerthController
import BerthEngine
import BerthModel
import Foundation

extension Berth {
    /// What `apply` would do, and why, touching nothing.
    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Show what apply would change and why, without touching the host.",
            discussion: "Each line is one step: #id [steps it waits for] action target (reason).")

        @OptionGroup var stack: StackOptions
        @OptionGroup var git: GitOptions
        @OptionGroup var common: CommonOptions
        @Flag(help: "Exit 0 when in sync, 2 when changes are pending, 1 on error.")
        var detailedExitcode = false
        @Flag(help: "Ask the registries whether image tags moved (as apply --pull would), without pulling.")
        var pull = false

        func run() async throws {
            let store = try common.openStore(readOnly: true)
            let follower = try git.follower(statePath: common.statePath, store: store)
            // Connecting overlaps reading the manifests; with a settled name (-p), so does listing
            // what the stack owns. A plan writes nothing, so it needs no lock for that.
            let connecting = Task { try await DockerClient.connect() }
            let early =
                follower == nil
                ? stack.source.source.nameBeforeLoading(environment: ProcessInfo.processInfo.environment).map {
                    EarlyListing(stack: $0, engine: connecting)
                } : nil
            let loaded: LoadedStack
            do {
                loaded = try await follower?.stackNow() ?? stack.load()
            } catch {
                early?.cancel()
                connecting.cancel()
                try? await connecting.value.shutdown()
                throw error
            }
            var options = stack.reconcileOptions
            options.pull = pull
            options.startStopped = true  // what `apply` would do
            let preview = try await withEngine(connecting) { engine in
                do {
                    return try await Reconciler(engine: engine, store: store).preview(
                        loaded, options, early: early.flatMap { $0.take(loaded.name) ? $0 : nil })
                } catch let error as ManifestErrors {
                    throw await manifestFailure(error, in: loaded, from: follower)
                }
            }
            let plan = preview.plan
            if common.json {
                try printJSON(ReportJSON(plan: plan, desired: preview.desired, holds: preview.holds))
            } else {
                print(Output.plan(plan))
                for hold in preview.holds { print(Output.hold(hold)) }
            }
            if detailedExitcode && !plan.isConverged { throw ExitCode(2) }
        }
    }
}

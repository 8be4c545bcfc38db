import ArgumentParser
import BerthController
import BerthModel

extension Berth {
    /// What `apply` would do, and why, touching nothing.
    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Show what apply would change and why, without touching the host.",
            discussion: "Each line is one step: #id [steps it waits for] action target (reason).")

        @OptionGroup var stack: StackOptions
        @OptionGroup var common: CommonOptions
        @Flag(help: "Exit 0 when in sync, 2 when changes are pending, 1 on error.")
        var detailedExitcode = false

        func run() async throws {
            let loaded = try stack.load()
            let store = try common.openStore()
            let (desired, _, plan) = try await withEngine { engine in
                do {
                    return try await Reconciler(engine: engine, store: store).preview(loaded, stack.reconcileOptions)
                } catch let error as ManifestErrors {
                    throw ManifestFailure(errors: error)
                }
            }
            if common.json {
                try printJSON(ReportJSON(plan: plan, desired: desired))
            } else {
                print(Output.plan(plan))
            }
            if detailedExitcode && !plan.isConverged { throw ExitCode(2) }
        }
    }
}

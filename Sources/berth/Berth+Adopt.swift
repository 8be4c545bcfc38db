import ArgumentParser
import BerthController
import Foundation

extension Berth {
    /// Takes a volume someone else made into a stack, on purpose.
    struct Adopt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "adopt",
            abstract: "Take a volume Berth did not make into a stack, so its containers may mount it.",
            discussion: """
                A volume of a wanted name that Berth did not make (it has no berth.stack label) is a conflict: \
                mounting it would hand someone else's data to the stack. Adopting it says that is intended; the \
                adoption is logged as a reconcile and remembered in the state file. In a stack directory, \
                `adopt: true` on the Volume does the same on the next apply.
                """)

        @Argument(help: "What to adopt: volume.")
        var kind: String
        @Argument(help: "The volume's name on the Engine (see berth plan).")
        var name: String
        @OptionGroup var stack: StackOptions
        @OptionGroup var common: CommonOptions

        func validate() throws {
            guard kind == "volume" else { throw ValidationError("only volumes are adopted: berth adopt volume NAME …") }
        }

        func run() async throws {
            let loaded = try stack.load()
            let report = try await withSession(common, stack: loaded.name, lockTimeout: .seconds(120)) { session in
                do {
                    return try await Reconciler(engine: session.engine, store: session.store).adopt(
                        volume: name, in: loaded, stack.reconcileOptions)
                } catch let error as AdoptError {
                    throw fail("berth adopt: \(error)")
                }
            }
            guard let report else {
                if common.json { return try printJSON(["stack": loaded.name, "volume": name, "outcome": "already-adopted"]) }
                return print("\(loaded.name): volume \(name) is the stack's already")
            }
            if common.json { return try printJSON(ReportJSON(report: report)) }
            let adopted = report.outcome.isConverged
            print(
                "\(loaded.name): volume \(name) \(adopted ? "adopted" : "not adopted: \(report.results[1]?.error ?? "")") (reconcile #\(report.reconcileID ?? 0))"
            )
            if !adopted { throw ExitCode.failure }
        }
    }
}

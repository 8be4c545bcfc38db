import ArgumentParser
import BerthStore
import Foundation

extension Berth {
    /// The reconcile log.
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "List past reconciles, their actions and rollouts from the SQLite log, newest first.",
            discussion:
                "A rollout line shows a replaced container: old → new image, update order, gate result, and the reconcile that rolled it back, if one did."
        )

        @Option(help: "Only this stack.")
        var stack: String?
        @Option(help: "How many reconciles to show.")
        var limit = 20
        @OptionGroup var common: CommonOptions

        struct Entry: Encodable {
            let reconcile: ReconcileRecord
            let actions: [ActionRecord]
            let rollouts: [RolloutRecord]
        }

        func run() throws {
            let store = try common.openStore()
            let entries = try store.history(stack: stack, limit: limit)
            let rollouts = Dictionary(
                grouping: try store.rollouts(reconcileIDs: entries.compactMap(\.reconcile.id), limit: 10_000).reversed(), by: \.reconcileID)
            if common.json {
                return try printJSON(
                    entries.map { Entry(reconcile: $0.reconcile, actions: $0.actions, rollouts: rollouts[$0.reconcile.id ?? 0] ?? []) })
            }
            if entries.isEmpty { return print("no reconciles logged in \(common.statePath)") }
            let formatter = ISO8601DateFormatter()
            for (reconcile, actions) in entries {
                let seconds = reconcile.endedAt.map { String(format: "%.2fs", $0.timeIntervalSince(reconcile.startedAt)) } ?? "-"
                print(
                    "#\(reconcile.id ?? 0) \(formatter.string(from: reconcile.startedAt)) \(reconcile.stack) [\(reconcile.profiles)] env \(reconcile.environment ?? "-") trigger \(reconcile.trigger)\(reconcile.triggerDetail.map { " (\($0))" } ?? "") → \(reconcile.outcome) drift \(reconcile.driftCount) \(seconds) (engine \(reconcile.engineReads)r/\(reconcile.engineWrites)w)"
                )
                if let error = reconcile.error { print("    error: \(error)") }
                for rollout in rollouts[reconcile.id ?? 0] ?? [] where rollout.order != "create" { print("    \(Output.rollout(rollout))") }
                for action in actions {
                    print(
                        "    \(action.outcome == "ok" ? "✓" : "✗") \(action.kind) \(action.target) (\(action.reason))\(action.error.map { ": \($0)" } ?? "")"
                    )
                }
            }
        }
    }
}

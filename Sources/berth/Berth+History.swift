import ArgumentParser
import BerthEngine
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
        @Option(help: "Only the actions on this service's containers, and the reconciles that had any.")
        var service: String?
        @Option(help: "How many reconciles to show.")
        var limit = 20
        @Flag(help: "Delete old reconciles (with their actions and rollouts) instead of listing: see --older-than-days and --keep.")
        var prune = false
        @Option(help: "With --prune: delete reconciles started more than this many days ago.")
        var olderThanDays: Int?
        @Option(help: "With --prune: keep only this many newest reconciles per stack.")
        var keep: Int?

        /// ✓ ok, ✗ failed or skipped, … still running, ⚡ cut short by the end of its process.
        static func mark(_ outcome: ActionOutcome) -> String {
            switch outcome {
            case .ok: "✓"
            case .failed, .skipped: "✗"
            case .running: "…"
            case .interrupted: "⚡"
            }
        }

        func validate() throws {
            if prune && olderThanDays == nil && keep == nil { throw ValidationError("--prune needs --older-than-days N and/or --keep N") }
            if !prune && (olderThanDays != nil || keep != nil) { throw ValidationError("--older-than-days and --keep go with --prune") }
            if prune && service != nil { throw ValidationError("--service lists; it does not go with --prune") }
        }
        @OptionGroup var common: CommonOptions

        /// A reconcile as `--json` shows it: the names `apply --json` uses for the same things.
        struct Entry: Encodable {
            let id: Int64?
            let stack: String
            let trigger: String
            let triggerDetail: String?
            let profiles: [String]
            let environment: String?
            let manifestDigest: String
            let startedAt: Date
            let endedAt: Date?
            let changes: Int
            let outcome: String
            let inSync: Bool
            let error: String?
            let engine: String?
            /// The commit applied, when the stack came from a followed Git repository.
            let git: GitOrigin?
            let engineCalls: EngineCallCounts
            let steps: [StepJSON]
            let rollouts: [RolloutRecord]

            init(_ reconcile: ReconcileRecord, _ actions: [ActionRecord], _ rollouts: [RolloutRecord]) {
                (id, stack, trigger, triggerDetail) = (reconcile.id, reconcile.stack, reconcile.trigger, reconcile.triggerDetail)
                profiles = reconcile.profiles.split(separator: ",").map(String.init)
                (environment, manifestDigest, startedAt, endedAt) = (
                    reconcile.environment, reconcile.manifestDigest, reconcile.startedAt, reconcile.endedAt
                )
                (changes, outcome, error, engine) = (reconcile.driftCount, ReportJSON.outcome(reconcile.outcome), reconcile.error, reconcile.engine)
                git = reconcile.origin
                inSync = reconcile.outcome == "converged" || reconcile.outcome == "changed"
                engineCalls = EngineCallCounts(reads: reconcile.engineReads, writes: reconcile.engineWrites)
                steps = actions.map(StepJSON.init)
                self.rollouts = rollouts
            }
        }
        struct Result: Encodable {
            let reconciles: [Entry]
        }

        func run() throws {
            let store = try common.openStore(readOnly: !prune)
            if prune {
                let cutoff = olderThanDays.map { Date().addingTimeInterval(-Double($0) * 86_400) }
                let deleted = try store.prune(olderThan: cutoff, keep: keep, stack: stack)
                struct Pruned: Encodable { let pruned: Int }
                if common.json { return try printJSON(Pruned(pruned: deleted)) }
                return print(
                    "pruned \(deleted) reconcile\(deleted == 1 ? "" : "s") from \(common.statePath) (the newest of each stack, revisions and holds are kept)"
                )
            }
            let entries = try store.history(stack: stack, service: service, limit: limit)
            let rollouts = Dictionary(
                grouping: try store.rollouts(reconcileIDs: entries.compactMap(\.reconcile.id), limit: 10_000).reversed()
                    .filter { service == nil || $0.service == service }, by: \.reconcileID)
            if common.json {
                return try printJSON(Result(reconciles: entries.map { Entry($0.reconcile, $0.actions, rollouts[$0.reconcile.id ?? 0] ?? []) }))
            }
            if entries.isEmpty { return print("no reconciles logged in \(common.statePath)") }
            let formatter = ISO8601DateFormatter()
            for (reconcile, actions) in entries {
                let seconds = reconcile.endedAt.map { String(format: "%.2fs", $0.timeIntervalSince(reconcile.startedAt)) } ?? "-"
                print(
                    "#\(reconcile.id ?? 0) \(formatter.string(from: reconcile.startedAt)) \(reconcile.stack) [\(reconcile.profiles)] env \(reconcile.environment ?? "-") trigger \(reconcile.trigger)\(reconcile.triggerDetail.map { " (\($0))" } ?? "")\(reconcile.origin.map { " commit \(GitOrigin.short($0.commit))" } ?? "") → \(reconcile.outcome) drift \(reconcile.driftCount) \(seconds) (\(reconcile.engine ?? "engine") \(reconcile.engineReads)r/\(reconcile.engineWrites)w)"
                )
                if let error = reconcile.error { print("    error: \(error)") }
                for rollout in rollouts[reconcile.id ?? 0] ?? [] where rollout.order != .create { print("    \(Output.rollout(rollout))") }
                for action in actions {
                    print(
                        "    \(Self.mark(action.outcome)) \(action.kind) \(action.target) (\(action.reason))\(action.error.map { ": \($0)" } ?? "")"
                    )
                }
            }
        }
    }
}

import BerthController
import BerthEngine
import BerthModel
import BerthStore
import Foundation

/// Human and JSON renderings of plans and reports.
enum Output {
    /// Rows as left-aligned columns two spaces apart (the last column unpadded).
    static func columns(_ rows: [[String]]) -> [String] {
        let widths = rows.reduce(into: [Int]()) { widths, row in
            for (index, cell) in row.enumerated() {
                if index < widths.count { widths[index] = max(widths[index], visibleWidth(cell)) } else { widths.append(visibleWidth(cell)) }
            }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - visibleWidth(cell))
            }.joined(separator: "  ")
        }
    }

    /// Characters a terminal shows: colour escapes (`ESC [ … m`) take no room.
    static func visibleWidth(_ text: String) -> Int {
        var width = 0
        var inEscape = false
        for character in text {
            if inEscape {
                if character == "m" { inEscape = false }
            } else if character == "\u{1B}" {
                inEscape = true
            } else {
                width += 1
            }
        }
        return width
    }

    static func plan(_ plan: BerthModel.Plan) -> String {
        if plan.isConverged { return "\(plan.stack): in sync, nothing to do." }
        if plan.refused { return plan.checks.map(check).joined(separator: "\n") }
        var lines = ["\(plan.stack): \(plan.changeCount) change\(plan.changeCount == 1 ? "" : "s") to make:"]
        lines += plan.description.split(separator: "\n").map { "  " + $0 }
        return lines.joined(separator: "\n")
    }

    /// `✓ connection database (external-db): … answered from network shop_default`, or `✗ … did not answer …`.
    static func check(_ check: PreflightCheck) -> String {
        switch check.result {
        case .answered: "✓ \(check)"
        case .failed: "✗ \(check)"
        case .unchecked: "? \(check)"
        }
    }
}

extension Output {
    /// One line per watch round (NDJSON with --json), plus one per action taken.
    static func watchPrinter(json: Bool) -> @Sendable (WatchRound) -> Void {
        { round in
            if json {
                struct Line: Encodable {
                    var schemaVersion = jsonSchemaVersion
                    let trigger: String
                    let detail: String
                    let outcome: String
                    let inSync: Bool
                    let changes: Int
                    let steps: [StepJSON]
                    let error: String?
                    let heldSeconds: [String: Double]
                }
                let line = Line(
                    trigger: round.trigger.kind.rawValue, detail: round.trigger.detail,
                    outcome: round.report.map { ReportJSON.outcome($0.outcome.rawValue) } ?? "error",
                    inSync: round.report?.outcome.isConverged ?? false,
                    changes: round.report?.plan.changeCount ?? 0,
                    steps: round.report.map { report in report.plan.steps.map { StepJSON($0, result: report.results[$0.id]) } } ?? [],
                    error: round.error, heldSeconds: round.held.mapValues { Double($0.components.seconds) })
                Console.write(jsonLine(line))
                return
            }
            var text = "[\(round.trigger.kind.rawValue): \(round.trigger.detail)] "
            if let report = round.report {
                text += report.outcome == .converged ? "in sync" : "\(report.outcome.rawValue), \(report.plan.changeCount) change(s)"
                for step in report.plan.steps where step.operation.isWrite {
                    let result = report.results[step.id]
                    text += "\n  \(result?.succeeded == true ? "✓" : "✗") \(step.operation.kind) \(step.operation.target) (\(step.cause))"
                    if let error = result?.error { text += ": \(error)" }
                }
                for rollout in report.rollouts where rollout.order != .create { text += "\n  \(Output.rollout(rollout))" }
                for rollback in report.rollback {
                    text += "\n  ↩ rollback reconcile #\(rollback.reconcileID ?? 0): \(rollback.outcome.rawValue)"
                    for hold in rollback.holds { text += "\n  \(Output.hold(hold))" }
                }
            } else {
                text += "error: \(round.error ?? "unknown")"
            }
            for (service, delay) in round.held.sorted(by: { $0.key < $1.key }) {
                text += "\n  ⏸ \(service): crash-looping, next repair in \(delay.components.seconds)s"
            }
            Console.write((text + "\n"))
        }
    }
}

extension Output {
    /// `web held at a1b2c3d4e5f6 (sha256:…): rollout in reconcile #12 failed: …`
    static func hold(_ hold: RollbackHold) -> String {
        "  ⏸ \(hold.service) held at spec \(hold.spec.specHash.prefix(12)) (\(hold.spec.image)): \(hold.reason); "
            + "it runs again what the manifests say once they or the image behind the tag change, or with apply --retry-failed"
    }

    /// `rollout web: sha256:aaa… → sha256:bbb… (registry sha256:ccc…) stop-first, healthy` (+ `, rolled back in #13`):
    /// image ids on both sides, and the new image's registry digest when it came from one.
    /// On a swarm the images are references (each node resolves the tag), shown whole.
    static func rollout(_ rollout: RolloutRecord) -> String {
        func short(_ image: String) -> String { image.hasPrefix("sha256:") ? String(image.prefix(19)) : image }
        let from = rollout.fromImage.map(short) ?? "-"
        let to = rollout.toImage.map(short) ?? "-"
        let registry = rollout.toDigest.map { " (registry \($0.prefix(19)))" } ?? ""
        var line = "rollout \(rollout.service): \(from) → \(to)\(registry) \(rollout.order), \(rollout.outcome)"
        if let error = rollout.error, rollout.outcome != .healthy { line += " (\(error))" }
        if let by = rollout.rolledBackIn { line += ", rolled back in #\(by)" }
        return line
    }
}

/// The JSON shape of a plan step, the same in `plan`, `apply`, `down`, `rollback`, `history`
/// and `watch` (docs/json/).
struct StepJSON: Encodable {
    let id: Int
    let action: String
    let target: String
    /// The service and container the step acts on (nil for networks, volumes, images).
    let service: String?
    let containerID: String?
    let reason: String
    /// The steps it waits for; nil in `history`, which logs what ran, not the plan's shape.
    let dependsOn: [Int]?
    /// `ok`, `failed`, `skipped`, `running`, `interrupted`; nil for a step not run yet.
    let outcome: String?
    let error: String?
    let seconds: Double?

    init(_ action: ActionRecord) {
        id = action.step
        self.action = action.kind
        target = action.target
        service = action.service
        containerID = action.containerID
        reason = action.reason
        dependsOn = nil
        outcome = action.outcome.rawValue
        error = action.error
        seconds = action.endedAt.map { $0.timeIntervalSince(action.startedAt) }
    }

    init(_ step: PlanStep, result: StepResult? = nil) {
        id = step.id
        action = step.operation.kind.rawValue
        target = step.operation.target
        service = step.service
        containerID = result?.containerID ?? step.containerID
        reason = step.cause.description
        dependsOn = step.dependsOn
        outcome = result?.outcome.rawValue
        error = result?.error
        seconds = result.map { $0.endedAt.timeIntervalSince($0.startedAt) }
    }
}

/// The JSON shape of `plan`, `apply`, `down`, `rollback` and `adopt`.
struct ReportJSON: Encodable {
    let stack: String
    let reconcileID: Int64?
    let profiles: [String]
    let environment: String?
    /// `in-sync`, `changed`, `partial`, `failed`, `conflict`; `plan`: `in-sync` or `changes-pending`.
    let outcome: String
    /// Whether the host is as the manifests say: after the run, or (`plan`) already.
    let inSync: Bool
    let changes: Int
    let steps: [StepJSON]
    let conflicts: [Conflict]
    /// The preflight of each connection switch.
    let checks: [PreflightCheck]
    /// Why the reconcile failed as a whole (a profile switch that went back), if it did.
    let failure: String?
    let engineCalls: EngineCallCounts?
    let seconds: Double?
    let rollouts: [RolloutRecord]
    let holds: [HoldJSON]
    /// The rollback reconcile that followed a failed rollout.
    let rollback: [ReportJSON]

    /// A reconcile's outcome as every JSON document spells it: the log's `converged` (nothing
    /// needed doing) is `in-sync`, as `plan` and `status` say.
    static func outcome(_ stored: String) -> String { stored == "converged" ? "in-sync" : stored }

    struct HoldJSON: Encodable {
        let service: String
        let specHash: String
        let image: String
        let reason: String
        init(_ hold: RollbackHold) { (service, specHash, image, reason) = (hold.service, hold.spec.specHash, hold.spec.image, hold.reason) }
    }

    init(report: ReconcileReport) {
        stack = report.stack
        reconcileID = report.reconcileID
        profiles = report.desired.profiles
        environment = report.desired.environment
        outcome = Self.outcome(report.outcome.rawValue)
        inSync = report.outcome.isConverged
        changes = report.plan.changeCount
        steps = report.plan.steps.map { StepJSON($0, result: report.results[$0.id]) }
        conflicts = report.plan.conflicts
        checks = report.plan.checks
        failure = report.failure
        engineCalls = report.engineCalls
        seconds = report.endedAt.timeIntervalSince(report.startedAt)
        rollouts = report.rollouts
        holds = report.holds.map(HoldJSON.init)
        rollback = report.rollback.map(ReportJSON.init(report:))
    }

    init(plan: BerthModel.Plan, desired: DesiredState, holds: [RollbackHold] = []) {
        stack = plan.stack
        reconcileID = nil
        profiles = desired.profiles
        environment = desired.environment
        outcome = plan.isConverged ? "in-sync" : "changes-pending"
        inSync = plan.isConverged
        changes = plan.changeCount
        steps = plan.steps.map { StepJSON($0) }
        conflicts = plan.conflicts
        checks = plan.checks
        failure = nil
        engineCalls = nil
        seconds = nil
        rollouts = []
        self.holds = holds.map(HoldJSON.init)
        rollback = []
    }
}

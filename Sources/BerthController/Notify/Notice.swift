public import BerthModel
public import Foundation

/// One thing worth telling people, made from a round of `watch`. Its words come only from what
/// Berth logs (reasons, step errors, rollback reasons), which are redacted before they are
/// logged: a notice never holds a secret's value.
public struct Notice: Sendable, Equatable {
    public var event: NotificationManifest.Event
    public var stack: String
    /// One line: what happened.
    public var summary: String
    /// Why, one line each (at most a few).
    public var details: [String]
    public var services: [String]
    public var reconcileID: Int64?
    public var time: Date

    public init(
        event: NotificationManifest.Event, stack: String, summary: String, details: [String] = [], services: [String] = [],
        reconcileID: Int64? = nil, time: Date = Date()
    ) {
        self.event = event
        self.stack = stack
        self.summary = summary
        self.details = details
        self.services = services
        self.reconcileID = reconcileID
        self.time = time
    }
}

/// Which notices rounds make. A failure and a crash loop are told when they start, not on every
/// retry of a loop that keeps failing; each rollback and each repaired drift is told.
public struct NoticeTracker: Sendable {
    private var failing = false
    private var looping = Set<String>()

    public init() {}

    public mutating func notices(after round: WatchRound, stack: String, now: Date = Date()) -> [Notice] {
        var notices: [Notice] = []
        let report = round.report
        let id = report?.reconcileID
        // Failed: the round could not reconcile, or its reconcile did not converge.
        let failure: (summary: String, details: [String])? =
            if let report, report.failure != nil || [.failed, .partial, .conflict].contains(report.outcome) {
                (
                    "reconcile #\(id ?? 0) (\(round.trigger.kind.rawValue)) ended \(report.outcome.rawValue)",
                    Array(
                        ([report.failure].compactMap { $0 }
                            + report.plan.steps.compactMap { step in
                                report.results[step.id]?.error.map { "\(step.operation.kind) \(step.operation.target): \(Self.firstLine($0))" }
                            }
                            + report.plan.conflicts.map { "\($0.resource): \($0.reason)" }).prefix(5))
                )
            } else if report == nil, let error = round.error {
                ("a round (\(round.trigger.kind.rawValue)) could not reconcile", [Self.firstLines(error)])
            } else {
                nil
            }
        if let failure, !failing {
            let services = report.map { report in
                Set(report.plan.steps.filter { report.results[$0.id]?.succeeded == false }.compactMap(\.service)).sorted()
            }
            notices.append(
                Notice(
                    event: .failed, stack: stack, summary: failure.summary, details: failure.details, services: services ?? [], reconcileID: id,
                    time: now))
        }
        failing = failure != nil

        for rollback in report?.rollback ?? [] {
            let failed = (report?.rollouts ?? []).filter { $0.outcome == .failed }
            let reasons =
                failed.map { "\($0.service): \(Self.firstLine($0.error ?? "failed its health gate"))" } + [report?.failure].compactMap { $0 }
            let services = failed.map(\.service)
            notices.append(
                Notice(
                    event: .rolledBack, stack: stack,
                    summary:
                        "\(services.isEmpty ? "a profile switch" : services.joined(separator: ", ")) rolled back in reconcile #\(rollback.reconcileID ?? 0) → \(rollback.outcome.rawValue)",
                    details: Array(reasons.prefix(5)), services: services, reconcileID: rollback.reconcileID, time: now))
        }

        let nowLooping = Set(round.held.keys)
        for service in nowLooping.subtracting(looping).sorted() {
            let wait = round.held[service].map { Int($0.components.seconds) } ?? 0
            notices.append(
                Notice(
                    event: .crashLoop, stack: stack, summary: "\(service) keeps dying: repairs backed off, next in \(wait) s",
                    details: [], services: [service], reconcileID: id, time: now))
        }
        looping = nowLooping

        if let report, [.event, .resync, .backoff, .retry].contains(round.trigger.kind) {
            // A crash-looping service's restarts are told as the crash loop, not as drift.
            let repaired = report.plan.steps.filter { step in
                step.operation.isWrite && report.results[step.id]?.succeeded == true && !(step.service.map(nowLooping.contains) ?? false)
            }
            if !repaired.isEmpty {
                notices.append(
                    Notice(
                        event: .driftRepaired, stack: stack,
                        summary: "repaired drift in reconcile #\(id ?? 0) (\(round.trigger.kind.rawValue): \(round.trigger.detail))",
                        details: repaired.prefix(5).map { "\($0.operation.kind) \($0.operation.target) (\($0.cause))" },
                        services: Set(repaired.compactMap(\.service)).sorted(), reconcileID: id, time: now))
            }
        }
        return notices
    }

    static func firstLine(_ text: String) -> String { String(text.split(separator: "\n").first ?? "") }

    static func firstLines(_ text: String) -> String { text.split(separator: "\n").prefix(3).joined(separator: " ") }
}

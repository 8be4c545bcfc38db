import Foundation
import GRDB

/// GRDB row types, kept private to the store so GRDB never shows in its public API.

struct ReconcileRow: Codable, FetchableRecord, MutablePersistableRecord, StoredRecord {
    static let databaseTableName = "reconcile"
    var id: Int64?
    var stack: String
    var trigger: String
    var triggerDetail: String?
    var profiles: String
    var environment: String?
    var manifestDigest: String
    var startedAt: Date
    var endedAt: Date?
    var driftCount: Int
    var outcome: String
    var error: String?
    var engineReads: Int
    var engineWrites: Int
    var engine: String?
    var gitRepository: String?
    var gitRef: String?
    var gitPath: String?
    var gitCommit: String?

    init(_ r: ReconcileRecord) {
        (id, stack, trigger, profiles, environment, manifestDigest) = (r.id, r.stack, r.trigger, r.profiles, r.environment, r.manifestDigest)
        (triggerDetail, engine) = (r.triggerDetail, r.engine)
        (gitRepository, gitRef, gitPath, gitCommit) = (r.origin?.repository, r.origin?.ref, r.origin?.path, r.origin?.commit)
        (startedAt, endedAt, driftCount, outcome, error, engineReads, engineWrites) = (
            r.startedAt, r.endedAt, r.driftCount, r.outcome, r.error, r.engineReads, r.engineWrites
        )
    }

    var record: ReconcileRecord {
        var r = ReconcileRecord(
            stack: stack, trigger: trigger, profiles: [], environment: environment, manifestDigest: manifestDigest, startedAt: startedAt)
        r.id = id
        r.profiles = profiles
        r.triggerDetail = triggerDetail
        r.engine = engine
        if let gitRepository, let gitRef, let gitPath, let gitCommit {
            r.origin = GitOrigin(repository: gitRepository, ref: gitRef, path: gitPath, commit: gitCommit)
        }
        (r.endedAt, r.driftCount, r.outcome, r.error, r.engineReads, r.engineWrites) = (
            endedAt, driftCount, outcome, error, engineReads, engineWrites
        )
        return r
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

struct ActionRow: Codable, FetchableRecord, PersistableRecord, StoredRecord {
    static let databaseTableName = "action"
    var id: Int64?
    var reconcileId: Int64
    var step: Int
    var kind: String
    var target: String
    var reason: String
    var startedAt: Date
    var endedAt: Date?
    var outcome: String
    var error: String?
    var service: String?
    var containerId: String?

    init(_ a: ActionRecord) {
        (id, reconcileId, step, kind, target, reason) = (a.id, a.reconcileID, a.step, a.kind, a.target, a.reason)
        (startedAt, endedAt, outcome, error, service, containerId) = (a.startedAt, a.endedAt, a.outcome.rawValue, a.error, a.service, a.containerID)
    }

    var record: ActionRecord {
        var a = ActionRecord(
            reconcileID: reconcileId, step: step, kind: kind, target: target, reason: reason, startedAt: startedAt, endedAt: endedAt,
            outcome: ActionOutcome(rawValue: outcome) ?? .failed, error: error, service: service, containerID: containerId)
        a.id = id
        return a
    }
}

struct AppliedSpecRow: Codable, FetchableRecord, PersistableRecord, StoredRecord {
    static let databaseTableName = "appliedSpec"
    var stack: String
    var service: String
    var specHash: String
    var spec: String
    var reconcileID: Int64
    var appliedAt: Date

    init(_ r: AppliedSpecRecord) {
        (stack, service, specHash, spec, reconcileID, appliedAt) = (r.stack, r.service, r.specHash, r.spec, r.reconcileID, r.appliedAt)
    }
    var record: AppliedSpecRecord {
        AppliedSpecRecord(stack: stack, service: service, specHash: specHash, spec: spec, reconcileID: reconcileID, appliedAt: appliedAt)
    }
}

struct HookRunRow: Codable, FetchableRecord, PersistableRecord, StoredRecord {
    static let databaseTableName = "hookRun"
    var containerID: String
    var hook: String
    var stack: String
    var service: String
    var exitCode: Int
    var output: String
    var ranAt: Date

    init(_ r: HookRunRecord) {
        (containerID, hook, stack, service, exitCode, output, ranAt) = (r.containerID, r.hook, r.stack, r.service, r.exitCode, r.output, r.ranAt)
    }
    var record: HookRunRecord {
        HookRunRecord(containerID: containerID, hook: hook, stack: stack, service: service, exitCode: exitCode, output: output, ranAt: ranAt)
    }
}

struct RolloutRow: Codable, FetchableRecord, PersistableRecord, StoredRecord {
    static let databaseTableName = "rollout"
    var id: Int64?
    var reconcileId: Int64
    var stack: String
    var service: String
    var cause: String
    var updateOrder: String
    var fromSpecHash: String?
    var toSpecHash: String
    var fromImage: String?
    var toImage: String?
    var toDigest: String?
    var toRevision: String?
    var outcome: String
    var error: String?
    var rolledBackIn: Int64?
    var startedAt: Date
    var endedAt: Date

    init(_ r: RolloutRecord) {
        (id, reconcileId, stack, service, cause, updateOrder) = (r.id, r.reconcileID, r.stack, r.service, r.cause, r.order.rawValue)
        (fromSpecHash, toSpecHash, fromImage, toImage, toDigest) = (r.fromSpecHash, r.toSpecHash, r.fromImage, r.toImage, r.toDigest)
        (outcome, error, rolledBackIn, startedAt, endedAt) = (r.outcome.rawValue, r.error, r.rolledBackIn, r.startedAt, r.endedAt)
        toRevision = r.toRevision
    }

    var record: RolloutRecord {
        var r = RolloutRecord(
            reconcileID: reconcileId, stack: stack, service: service, cause: cause, order: RolloutOrder(rawValue: updateOrder) ?? .stopFirst,
            fromSpecHash: fromSpecHash, toSpecHash: toSpecHash, fromImage: fromImage, toImage: toImage, toDigest: toDigest,
            outcome: RolloutOutcome(rawValue: outcome) ?? .failed, error: error,
            startedAt: startedAt, endedAt: endedAt)
        r.id = id
        r.rolledBackIn = rolledBackIn
        r.toRevision = toRevision
        return r
    }
}

extension RevisionRecord {
    init(row: Row) {
        self.init(
            stack: row["stack"], service: row["service"], revisionKey: row["revisionKey"], specHash: row["specHash"], imageID: row["imageID"],
            digest: row["digest"],
            spec: row["spec"], reconcileID: row["lastHealthyReconcileID"], healthyAt: row["healthyAt"])
    }
}

public import BerthModel
public import Foundation
import GRDB

/// The SQLite reconcile log: every reconcile, its actions, the last applied spec per service and
/// the hooks already run.
///
/// The file and its WAL are created `0600`: it holds no secret values (only hashes), but it
/// describes the host.
public final class ReconcileStore: Sendable {
    let pool: any DatabaseWriter
    public let path: String

    /// Opens (creating if needed) the log at `path` and brings its schema up to date.
    /// - Parameter readOnly: for commands that only read (`plan`, `status`, `history`): the file is
    ///   never created, written, migrated or re-permissioned, so they work on a read-only disk or
    ///   on another user's readable log; a log that does not exist yet reads as empty.
    /// - Parameter concurrentReads: for a process that reads while it writes (`watch` and its
    ///   status page): a pool of connections. Without it, one connection, which a one-shot command
    ///   opens faster (no second connection, no write at open to make the WAL file exist).
    /// - Throws: `StoreError` when the file cannot be created or opened.
    public init(path: String, readOnly: Bool = false, concurrentReads: Bool = true) throws {
        self.path = path
        if readOnly {
            pool = try Self.openForReading(path)
            return
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError.open("cannot create \(directory): \(error.localizedDescription)")
        }
        // Create the file with owner-only permissions before SQLite does; SQLite gives its WAL
        // and shared-memory files the database file's permissions.
        let fd = open(path, O_CREAT | O_RDWR, 0o600)
        guard fd >= 0 else { throw StoreError.open("cannot create \(path): \(String(cString: strerror(errno)))") }
        var info = stat()
        let owner = fstat(fd, &info) == 0 ? info.st_uid : geteuid()
        close(fd)
        // Another user's log is not taken over, nor its permissions changed behind its back.
        guard owner == geteuid() else {
            throw StoreError.open(
                "\(path) belongs to uid \(owner), not to this user (uid \(geteuid())); Berth neither uses nor re-permissions another user's state file: run as its owner, or give --state"
            )
        }
        chmod(path, 0o600)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        // WAL with synchronous=NORMAL: commits do not wait for fsync (the WAL is synced at
        // checkpoints). The log stays consistent; a power cut may lose the last few records, never
        // corrupt the file. Each CLI run saves milliseconds on every commit.
        configuration.prepareDatabase { db in
            if !concurrentReads { try db.execute(sql: "PRAGMA journal_mode = WAL") }  // a pool sets it itself
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            pool =
                concurrentReads
                ? try DatabasePool(path: path, configuration: configuration) : try DatabaseQueue(path: path, configuration: configuration)
            // Checking is a read; migrating takes the write lock.
            if try !pool.read({ try Self.migrator.hasCompletedMigrations($0) }) { try Self.migrator.migrate(pool) }
        } catch {
            throw StoreError.open("\(path): \(error)")
        }
    }

    private static func openForReading(_ path: String) throws -> any DatabaseWriter {
        do {
            guard FileManager.default.fileExists(atPath: path) else {
                let empty = try DatabaseQueue()
                try migrator.migrate(empty)
                return empty
            }
            var configuration = Configuration()
            configuration.readonly = true
            configuration.busyMode = .timeout(10)
            // A WAL database on a read-only disk cannot get its shared-memory file: opened as
            // immutable, SQLite reads it without one.
            let writable = access(URL(fileURLWithPath: path).deletingLastPathComponent().path, W_OK) == 0
            let queue = try DatabaseQueue(path: writable ? path : "file:\(path)?immutable=1", configuration: configuration)
            guard try queue.read({ try migrator.hasCompletedMigrations($0) }) else {
                throw StoreError.open("\(path) was written by an older Berth; a command that writes (apply) upgrades it")
            }
            return queue
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.open("\(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "reconcile") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("stack", .text).notNull().indexed()
                t.column("trigger", .text).notNull()
                t.column("profiles", .text).notNull()
                t.column("environment", .text)
                t.column("manifestDigest", .text).notNull()
                t.column("startedAt", .datetime).notNull()
                t.column("endedAt", .datetime)
                t.column("driftCount", .integer).notNull()
                t.column("outcome", .text).notNull()
                t.column("error", .text)
                t.column("engineReads", .integer).notNull()
                t.column("engineWrites", .integer).notNull()
            }
            try db.create(table: "action") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("reconcile", onDelete: .cascade).notNull()
                t.column("step", .integer).notNull()
                t.column("kind", .text).notNull()
                t.column("target", .text).notNull()
                t.column("reason", .text).notNull()
                t.column("startedAt", .datetime).notNull()
                t.column("endedAt", .datetime)
                t.column("outcome", .text).notNull()
                t.column("error", .text)
            }
            try db.create(table: "appliedSpec") { t in
                t.column("stack", .text).notNull()
                t.column("service", .text).notNull()
                t.column("specHash", .text).notNull()
                t.column("spec", .text).notNull()
                t.column("reconcileID", .integer).notNull()
                t.column("appliedAt", .datetime).notNull()
                t.primaryKey(["stack", "service"])
            }
            try db.create(table: "hookRun") { t in
                t.column("containerID", .text).notNull()
                t.column("hook", .text).notNull()
                t.column("stack", .text).notNull().indexed()
                t.column("service", .text).notNull()
                t.column("exitCode", .integer).notNull()
                t.column("output", .text).notNull()
                t.column("ranAt", .datetime).notNull()
                t.primaryKey(["containerID", "hook"])
            }
        }
        migrator.registerMigration("v2: trigger detail, service backoff") { db in
            try db.alter(table: "reconcile") { t in t.add(column: "triggerDetail", .text) }
            try db.create(table: "serviceBackoff") { t in
                t.column("stack", .text).notNull()
                t.column("service", .text).notNull()
                t.column("failures", .integer).notNull()
                t.column("notBefore", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
                t.primaryKey(["stack", "service"])
            }
        }
        migrator.registerMigration("v3: stack state") { db in
            try db.create(table: "stackState") { t in
                t.column("stack", .text).primaryKey()
                t.column("profiles", .text).notNull()
                t.column("environment", .text)
                t.column("updatedAt", .datetime).notNull()
            }
        }
        migrator.registerMigration("v4: revisions, rollouts, rollback holds") { db in
            try db.create(table: "revision") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("stack", .text).notNull()
                t.column("service", .text).notNull()
                t.column("revisionKey", .text).notNull()
                t.column("specHash", .text).notNull()
                t.column("imageID", .text).notNull()
                t.column("digest", .text)
                t.column("spec", .text).notNull()
                t.column("firstReconcileID", .integer).notNull()
                t.column("lastHealthyReconcileID", .integer).notNull()
                t.column("healthyAt", .datetime).notNull()
                t.uniqueKey(["stack", "service", "revisionKey"])
            }
            try db.create(table: "rollout") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("reconcile", onDelete: .cascade).notNull()
                t.column("stack", .text).notNull().indexed()
                t.column("service", .text).notNull()
                t.column("cause", .text).notNull()
                t.column("updateOrder", .text).notNull()
                t.column("fromSpecHash", .text)
                t.column("toSpecHash", .text).notNull()
                t.column("fromImage", .text)
                t.column("toImage", .text)
                t.column("toDigest", .text)
                t.column("toRevision", .text)
                t.column("outcome", .text).notNull()
                t.column("error", .text)
                t.column("rolledBackIn", .integer)
                t.column("startedAt", .datetime).notNull()
                t.column("endedAt", .datetime).notNull()
            }
            try db.create(table: "rollbackHold") { t in
                t.column("stack", .text).notNull()
                t.column("service", .text).notNull()
                t.column("hold", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.primaryKey(["stack", "service"])
            }
        }
        migrator.registerMigration("v5: action service and container id") { db in
            try db.alter(table: "action") { t in
                t.add(column: "service", .text)
                t.add(column: "containerId", .text)
            }
            // Older rows named their container only in the display text; its short id is taken
            // from there once, here, so `failedStarts` keeps counting across the upgrade.
            let rows = try Row.fetchAll(db, sql: "SELECT id, target FROM action WHERE target LIKE '%container %(%'")
            for row in rows {
                guard let id = Self.shortID(inTarget: row["target"]) else { continue }
                try db.execute(sql: "UPDATE action SET containerId = ? WHERE id = ?", arguments: [id, row["id"] as Int64])
            }
        }
        migrator.registerMigration("v6: adopted volumes") { db in
            try db.create(table: "adoptedVolume") { t in
                t.column("stack", .text).notNull()
                t.column("volume", .text).notNull()
                t.column("reconcileID", .integer).notNull()
                t.column("adoptedAt", .datetime).notNull()
                t.primaryKey(["stack", "volume"])
            }
        }
        migrator.registerMigration("v7: the Engine of each reconcile") { db in
            try db.alter(table: "reconcile") { t in t.add(column: "engine", .text) }
        }
        migrator.registerMigration("v8: services stopped on purpose") { db in
            try db.create(table: "stoppedService") { t in
                t.column("stack", .text).notNull()
                t.column("service", .text).notNull()
                t.column("stoppedAt", .datetime).notNull()
                t.primaryKey(["stack", "service"])
            }
        }
        migrator.registerMigration("v9: indexes for a long log") { db in
            // Each reconcile looks for an interrupted one of its stack, plans with the failed
            // starts counted back from the newest, and `history --service` picks reconciles by
            // the actions on one service: without these, each reads the whole log.
            try db.create(index: "reconcile_on_stack_outcome", on: "reconcile", columns: ["stack", "outcome"])
            try db.create(index: "action_on_kind", on: "action", columns: ["kind"])
            try db.create(index: "action_on_service", on: "action", columns: ["service", "reconcileId"])
        }
        migrator.registerMigration("v10: the Git commit of each reconcile, held commits") { db in
            try db.alter(table: "reconcile") { t in
                t.add(column: "gitRepository", .text)
                t.add(column: "gitRef", .text)
                t.add(column: "gitPath", .text)
                t.add(column: "gitCommit", .text)
            }
            try db.create(table: "gitHold") { t in
                t.column("stack", .text).primaryKey()
                t.column("heldCommit", .text).notNull()
                t.column("applyCommit", .text).notNull()
                t.column("reason", .text).notNull()
                t.column("heldAt", .datetime).notNull()
            }
        }
        return migrator
    }

    /// `1a2b3c4d5e6f` in `container shop-web (1a2b3c4d5e6f) …`, the text rows older than v5 carry.
    static func shortID(inTarget target: String) -> String? {
        guard let open = target.firstIndex(of: "("), let close = target[open...].firstIndex(of: ")") else { return nil }
        let id = target[target.index(after: open)..<close]
        return id.count == 12 && id.allSatisfy(\.isHexDigit) ? String(id) : nil
    }

    // MARK: Writing

    /// Records the start of a reconcile and returns its id.
    public func begin(_ record: ReconcileRecord) throws -> Int64 {
        try write { db in
            var row = ReconcileRow(record)
            try row.insert(db)
            return row.id!
        }
    }

    /// Records how a reconcile ended.
    public func finish(_ id: Int64, outcome: String, error: String?, driftCount: Int, engineReads: Int, engineWrites: Int, at date: Date = Date())
        throws
    {
        try write { db in
            try db.execute(
                sql: "UPDATE reconcile SET outcome = ?, error = ?, driftCount = ?, engineReads = ?, engineWrites = ?, endedAt = ? WHERE id = ?",
                arguments: [outcome, error, driftCount, engineReads, engineWrites, StoredDate(date), id])
        }
    }

    /// Logs an action; returns its row id, for `end`.
    @discardableResult
    public func record(_ action: ActionRecord) throws -> Int64 {
        try write { db in
            try ActionRow(action).insert(db)
            return db.lastInsertedRowID
        }
    }

    /// Records how the action logged as `id` ended.
    public func end(action id: Int64, outcome: ActionOutcome, error: String?, containerID: String?, at date: Date = Date()) throws {
        try write { db in
            try db.execute(
                sql: "UPDATE action SET outcome = ?, error = ?, endedAt = ?, containerId = coalesce(?, containerId) WHERE id = ?",
                arguments: [outcome.rawValue, error, StoredDate(date), containerID, id])
        }
    }

    /// Marks the reconciles of `stack` still logged as running, and their running actions, as
    /// `interrupted`: called by whoever holds the stack's lock, so their process is gone.
    /// - Returns: how many reconciles were marked.
    @discardableResult
    public func markInterrupted(stack: String, at date: Date = Date()) throws -> Int {
        try write { db in
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM reconcile WHERE stack = ? AND outcome = 'running'", arguments: [stack])
            for id in ids {
                try db.execute(
                    sql: "UPDATE reconcile SET outcome = 'interrupted', endedAt = ?, error = coalesce(error, ?) WHERE id = ?",
                    arguments: [StoredDate(date), "the process ended before the reconcile did (killed, or the host went down)", id])
                try db.execute(
                    sql: "UPDATE action SET outcome = 'interrupted', endedAt = ? WHERE reconcileId = ? AND outcome = 'running'",
                    arguments: [StoredDate(date), id])
            }
            return ids.count
        }
    }

    /// Stores the applied specs of a reconcile (redacted), replacing each service's previous one.
    public func saveApplied(_ specs: [ContainerSpec], stack: String, reconcileID: Int64, at date: Date = Date()) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try write { db in
            for spec in specs {
                let json = String(decoding: try encoder.encode(spec.redacted), as: UTF8.self)
                try AppliedSpecRow(
                    AppliedSpecRecord(
                        stack: stack, service: spec.service, specHash: spec.specHash, spec: json, reconcileID: reconcileID, appliedAt: date)
                ).save(db)
            }
        }
    }

    public func recordHook(_ run: HookRunRecord) throws {
        try write { db in try HookRunRow(run).save(db) }
    }

    /// Replaces the crash-loop backoff of `stack` (written by `watch`, shown by `status`).
    public func saveBackoff(_ entries: [ServiceBackoffRecord], stack: String) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM serviceBackoff WHERE stack = ?", arguments: [stack])
            for entry in entries {
                try db.execute(
                    sql: "INSERT INTO serviceBackoff (stack, service, failures, notBefore, updatedAt) VALUES (?, ?, ?, ?, ?)",
                    arguments: [stack, entry.service, entry.failures, StoredDate(entry.notBefore), StoredDate.now])
            }
        }
    }

    public func backoff(stack: String) throws -> [ServiceBackoffRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT service, failures, notBefore FROM serviceBackoff WHERE stack = ? ORDER BY service", arguments: [stack])
                .map { ServiceBackoffRecord(service: $0["service"], failures: $0["failures"], notBefore: $0["notBefore"]) }
        }
    }

    /// Remembers that `berth stop` stopped these services, so `watch` leaves them stopped.
    public func saveStopped(services: [String], stack: String, at date: Date = Date()) throws {
        try write { db in
            for service in services {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO stoppedService (stack, service, stoppedAt) VALUES (?, ?, ?)",
                    arguments: [stack, service, StoredDate(date)])
            }
        }
    }

    /// Services of `stack` stopped on purpose, with when.
    public func stoppedServices(stack: String) throws -> [String: Date] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT service, stoppedAt FROM stoppedService WHERE stack = ?", arguments: [stack])
            return Dictionary(rows.map { ($0["service"], $0["stoppedAt"]) }) { a, _ in a }
        }
    }

    /// Forgets the stops of `services` (all of the stack's when nil): `berth start`, or an apply.
    public func deleteStopped(stack: String, services: [String]? = nil) throws {
        try write { db in
            if let services {
                for service in services {
                    try db.execute(sql: "DELETE FROM stoppedService WHERE stack = ? AND service = ?", arguments: [stack, service])
                }
            } else {
                try db.execute(sql: "DELETE FROM stoppedService WHERE stack = ?", arguments: [stack])
            }
        }
    }

    /// Remembers the profiles and environment a stack was last applied with.
    public func saveSelection(_ selection: StackSelection, stack: String) throws {
        try write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO stackState (stack, profiles, environment, updatedAt) VALUES (?, ?, ?, ?)",
                arguments: [stack, selection.profiles.joined(separator: ","), selection.environment, StoredDate.now])
        }
    }

    /// The profiles and environment `stack` was last applied with, if any.
    public func selection(stack: String) throws -> StackSelection? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT profiles, environment FROM stackState WHERE stack = ?", arguments: [stack]).map { row in
                let profiles: String = row["profiles"]
                return StackSelection(profiles: profiles.split(separator: ",").map(String.init), environment: row["environment"])
            }
        }
    }

    // MARK: Revisions, rollouts, holds

    /// Remembers that `revision` ran healthy (or started, without a healthcheck) in a reconcile.
    public func recordHealthy(_ revision: RevisionRecord) throws {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO revision (stack, service, revisionKey, specHash, imageID, digest, spec, firstReconcileID, lastHealthyReconcileID, healthyAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (stack, service, revisionKey) DO UPDATE SET
                        lastHealthyReconcileID = excluded.lastHealthyReconcileID, healthyAt = excluded.healthyAt,
                        digest = COALESCE(excluded.digest, digest)
                    """,
                arguments: [
                    revision.stack, revision.service, revision.revisionKey, revision.specHash, revision.imageID, revision.digest, revision.spec,
                    revision.reconcileID, revision.reconcileID, StoredDate(revision.healthyAt),
                ])
        }
    }

    /// `service/specHash/imageID` of every revision of `stack` known to have run healthy: cheap
    /// to check against running containers without computing revision keys.
    public func healthyRevisions(stack: String) throws -> Set<String> {
        try read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT service, specHash, imageID FROM revision WHERE stack = ?", arguments: [stack])
            return Set(rows.map { "\($0["service"] as String)/\($0["specHash"] as String)/\($0["imageID"] as String)" })
        }
    }

    /// The newest healthy revision of `service` other than the one keyed `excluding`, or, with
    /// `asOf`, the one its newest healthy rollout up to that reconcile brought.
    public func healthyRevision(stack: String, service: String, excluding: String?, asOf: Int64? = nil) throws -> RevisionRecord? {
        try read { db in
            if let asOf {
                return try Row.fetchOne(
                    db,
                    sql: """
                        SELECT v.* FROM rollout r JOIN revision v ON v.stack = r.stack AND v.service = r.service AND v.revisionKey = r.toRevision
                        WHERE r.stack = ? AND r.service = ? AND r.reconcileId <= ? AND r.outcome = 'healthy' ORDER BY r.id DESC LIMIT 1
                        """, arguments: [stack, service, asOf]
                ).map(RevisionRecord.init(row:))
            }
            return try Row.fetchOne(
                db,
                sql: """
                    SELECT * FROM revision WHERE stack = ? AND service = ? AND revisionKey != ?
                    ORDER BY lastHealthyReconcileID DESC, id DESC LIMIT 1
                    """, arguments: [stack, service, excluding ?? ""]
            ).map(RevisionRecord.init(row:))
        }
    }

    public func recordRollouts(_ rollouts: [RolloutRecord]) throws {
        if rollouts.isEmpty { return }
        try write { db in
            for rollout in rollouts { try RolloutRow(rollout).insert(db) }
        }
    }

    /// Marks the failed rollouts of `reconcileID` for `services` as rolled back by `by`.
    public func markRolledBack(reconcileID: Int64, services: [String], by: Int64) throws {
        try write { db in
            for service in services {
                try db.execute(
                    sql: "UPDATE rollout SET rolledBackIn = ? WHERE reconcileId = ? AND service = ?", arguments: [by, reconcileID, service])
            }
        }
    }

    /// Rollouts of `stack` (all stacks when nil), newest first.
    public func rollouts(stack: String? = nil, reconcileIDs: [Int64]? = nil, limit: Int = 100) throws -> [RolloutRecord] {
        try read { db in
            var query = RolloutRow.order(Column("id").desc).limit(limit)
            if let stack { query = query.filter(Column("stack") == stack) }
            if let reconcileIDs { query = query.filter(reconcileIDs.contains(Column("reconcileId"))) }
            return try query.fetchAll(db).map(\.record)
        }
    }

    public func holds(stack: String) throws -> [RollbackHold] {
        let texts = try read { db in
            try String.fetchAll(db, sql: "SELECT hold FROM rollbackHold WHERE stack = ? ORDER BY service", arguments: [stack])
        }
        let decoder = JSONDecoder()
        return texts.compactMap { try? decoder.decode(RollbackHold.self, from: Data($0.utf8)) }
    }

    public func saveHold(_ hold: RollbackHold, stack: String) throws {
        let json = String(decoding: try JSONEncoder().encode(hold), as: UTF8.self)
        try write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO rollbackHold (stack, service, hold, createdAt) VALUES (?, ?, ?, ?)",
                arguments: [stack, hold.service, json, StoredDate.now])
        }
    }

    /// Drops the holds of `services` (all of the stack's when nil).
    public func deleteHolds(stack: String, services: [String]? = nil) throws {
        try write { db in
            if let services {
                for service in services {
                    try db.execute(sql: "DELETE FROM rollbackHold WHERE stack = ? AND service = ?", arguments: [stack, service])
                }
            } else {
                try db.execute(sql: "DELETE FROM rollbackHold WHERE stack = ?", arguments: [stack])
            }
        }
    }

    // MARK: Git

    /// The commit of `stack`'s repository held back, if one is.
    public func gitHold(stack: String) throws -> GitHoldRecord? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT heldCommit, applyCommit, reason, heldAt FROM gitHold WHERE stack = ?", arguments: [stack]).map {
                GitHoldRecord(heldCommit: $0["heldCommit"], applyCommit: $0["applyCommit"], reason: $0["reason"], heldAt: $0["heldAt"])
            }
        }
    }

    public func saveGitHold(_ hold: GitHoldRecord, stack: String) throws {
        try write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO gitHold (stack, heldCommit, applyCommit, reason, heldAt) VALUES (?, ?, ?, ?, ?)",
                arguments: [stack, hold.heldCommit, hold.applyCommit, hold.reason, StoredDate(hold.heldAt)])
        }
    }

    public func deleteGitHold(stack: String) throws {
        try write { db in try db.execute(sql: "DELETE FROM gitHold WHERE stack = ?", arguments: [stack]) }
    }

    /// Where the newest reconcile that converged from a Git commit read its manifests: of
    /// `stack`, or of the directory `path` of `repository`.
    public func lastAppliedCommit(stack: String? = nil, repository: String? = nil, path: String? = nil) throws -> GitOrigin? {
        try read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT gitRepository, gitRef, gitPath, gitCommit FROM reconcile
                    WHERE (:stack IS NULL OR stack = :stack) AND gitCommit IS NOT NULL
                        AND (:repository IS NULL OR gitRepository = :repository) AND (:path IS NULL OR gitPath = :path)
                        AND outcome IN ('converged', 'changed')
                    ORDER BY id DESC LIMIT 1
                    """, arguments: ["stack": stack, "repository": repository, "path": path]
            ).map { GitOrigin(repository: $0["gitRepository"], ref: $0["gitRef"], path: $0["gitPath"], commit: $0["gitCommit"]) }
        }
    }

    /// The newest commit of `repository` that a reconcile of `stack` left converged, other than
    /// `excluding` and other than any commit whose rollout failed: where the host goes back to
    /// when a commit fails. (The reconcile that rolls a failed rollout back converges on the
    /// failed commit's manifests too: converging is not enough.)
    public func lastGoodCommit(stack: String, repository: String, excluding: String) throws -> String? {
        try read { db in
            try String.fetchOne(
                db,
                sql: """
                    SELECT gitCommit FROM reconcile
                    WHERE stack = :stack AND gitRepository = :repository AND gitCommit IS NOT NULL AND gitCommit != :excluding
                        AND outcome IN ('converged', 'changed')
                        AND gitCommit NOT IN (
                            SELECT r.gitCommit FROM reconcile r JOIN rollout o ON o.reconcileId = r.id
                            WHERE r.stack = :stack AND r.gitCommit IS NOT NULL AND o.outcome = 'failed')
                    ORDER BY id DESC LIMIT 1
                    """, arguments: ["stack": stack, "repository": repository, "excluding": excluding])
        }
    }

    // MARK: Reading

    /// The last applied spec per service of `stack`.
    /// The spec hash last applied per service: enough to tell what changed without decoding specs.
    public func appliedHashes(stack: String) throws -> [String: String] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT service, specHash FROM appliedSpec WHERE stack = ?", arguments: [stack])
            return Dictionary(rows.map { ($0["service"], $0["specHash"]) }, uniquingKeysWith: { _, last in last })
        }
    }

    /// The last applied spec per service, of all services or only of `services`.
    public func appliedSpecs(stack: String, services: Set<String>? = nil) throws -> [String: ContainerSpec] {
        if services?.isEmpty == true { return [:] }
        let rows = try read { db in
            var request = AppliedSpecRow.filter(Column("stack") == stack)
            if let services { request = request.filter(services.contains(Column("service"))) }
            return try request.fetchAll(db)
        }
        let decoder = JSONDecoder()
        return Dictionary(
            uniqueKeysWithValues: rows.compactMap { row in
                (try? decoder.decode(ContainerSpec.self, from: Data(row.record.spec.utf8))).map { (row.record.service, $0) }
            })
    }

    /// `containerID/hook` for every hook already run in `stack`.
    public func hooksRun(stack: String) throws -> Set<String> {
        // SQL rather than the query interface: its first query costs a CLI run most of a millisecond.
        try read { db in
            Set(
                try Row.fetchAll(db, sql: "SELECT containerID, hook FROM hookRun WHERE stack = ?", arguments: [stack]).map {
                    "\($0[0] as String)/\($0[1] as String)"
                })
        }
    }

    public func hookRuns(stack: String) throws -> [HookRunRecord] {
        try read { db in try HookRunRow.filter(Column("stack") == stack).order(Column("ranAt")).fetchAll(db).map(\.record) }
    }

    /// Remembers that `stack` adopted the volume `volume` (made outside Berth), in reconcile `reconcileID`.
    public func saveAdoption(volume: String, stack: String, reconcileID: Int64) throws {
        try write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO adoptedVolume (stack, volume, reconcileID, adoptedAt) VALUES (?, ?, ?, ?)",
                arguments: [stack, volume, reconcileID, StoredDate.now])
        }
    }

    /// Engine names of the volumes `stack` adopted.
    public func adoptedVolumes(stack: String) throws -> Set<String> {
        try read { db in Set(try String.fetchAll(db, sql: "SELECT volume FROM adoptedVolume WHERE stack = ?", arguments: [stack])) }
    }

    /// Consecutive failed `start` actions per container (short id) of `stack`, counted back from
    /// the newest until a successful one.
    public func failedStarts(stack: String) throws -> [String: Int] {
        let rows = try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT a.containerId, a.outcome FROM action a JOIN reconcile r ON r.id = a.reconcileId
                    WHERE r.stack = ? AND a.kind = 'start' AND a.outcome IN ('ok', 'failed') AND a.containerId IS NOT NULL
                    ORDER BY a.id DESC LIMIT 500
                    """, arguments: [stack])
        }
        var counts: [String: Int] = [:]
        var settled = Set<String>()
        for row in rows {
            let id = String((row["containerId"] as String).prefix(12))
            if settled.contains(id) { continue }
            if (row["outcome"] as String) == "failed" { counts[id, default: 0] += 1 } else { settled.insert(id) }
        }
        return counts
    }

    /// Deletes old reconciles with their actions and rollouts: those started before `olderThan`,
    /// and those beyond the newest `keep` of their stack. The newest reconcile of each stack, the
    /// healthy revisions and the holds always stay: `status` and rollbacks need them.
    /// - Returns: how many reconciles were deleted.
    @discardableResult
    public func prune(olderThan: Date? = nil, keep: Int? = nil, stack: String? = nil) throws -> Int {
        guard olderThan != nil || keep != nil else { return 0 }
        return try write { db in
            try db.execute(
                sql: """
                    DELETE FROM reconcile WHERE id IN (
                        SELECT id FROM (
                            SELECT id, startedAt, ROW_NUMBER() OVER (PARTITION BY stack ORDER BY id DESC) AS age
                            FROM reconcile WHERE (:stack IS NULL OR stack = :stack))
                        WHERE age > 1 AND ((:before IS NOT NULL AND startedAt < :before) OR (:keep IS NOT NULL AND age > :keep)))
                    """, arguments: ["stack": stack, "before": olderThan.map(StoredDate.init), "keep": keep])
            return db.changesCount
        }
    }

    /// Reconciles, newest first, each with its actions in step order.
    /// - Parameter service: only reconciles that acted on this service, with only those actions.
    public func history(stack: String? = nil, service: String? = nil, limit: Int = 20) throws -> [(
        reconcile: ReconcileRecord, actions: [ActionRecord]
    )] {
        try read { db in
            var query = ReconcileRow.order(Column("id").desc).limit(limit)
            if let stack { query = query.filter(Column("stack") == stack) }
            if let service {
                query = query.filter(sql: "id IN (SELECT reconcileId FROM action WHERE service = ?)", arguments: [service])
            }
            return try query.fetchAll(db).map { row in
                var actions = ActionRow.filter(Column("reconcileId") == row.id!)
                if let service { actions = actions.filter(Column("service") == service) }
                return (row.record, try actions.order(Column("step"), Column("id")).fetchAll(db).map(\.record))
            }
        }
    }

    /// The newest reconcile of `stack`.
    public func lastReconcile(stack: String) throws -> ReconcileRecord? {
        try history(stack: stack, limit: 1).first?.reconcile
    }

    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.write(body) } catch { throw StoreError.query("\(error)") }
    }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.read(body) } catch { throw StoreError.query("\(error)") }
    }
}

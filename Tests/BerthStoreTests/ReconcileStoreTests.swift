import BerthModel
import BerthStore
import Foundation
import GRDB
import Testing

@Suite struct ReconcileStoreTests {
    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("berth-store-\(UUID().uuidString)/state.db").path
    }

    /// A one-shot command's single connection keeps the file in WAL mode as the pool does.
    @Test(arguments: [true, false]) func createsOwnerOnlyFilesIncludingTheWAL(concurrentReads: Bool) throws {
        let path = temporaryPath()
        let store = try ReconcileStore(path: path, concurrentReads: concurrentReads)
        _ = try store.begin(ReconcileRecord(stack: "s", trigger: "apply", profiles: [], environment: nil, manifestDigest: "d"))
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file)")
        }
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        #expect(try DatabaseQueue(path: path).read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
    }

    /// Dates are written as the text GRDB's own formatter writes (files of earlier versions read
    /// the same, and `prune --older-than` compares text), without that formatter.
    @Test func storesDatesAsGRDBsFormatterDoes() throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
        var random = SystemRandomNumberGenerator()
        let edges: [TimeInterval] = [
            0, -0.0005, -1, -86_400.25, 951_782_400, 1_709_164_799.9999, 1_709_164_800, 4_107_542_400, 1_796_428_800.123_456,
            253_402_300_799.999,
        ]
        let dates = (edges + (0..<200).map { _ in TimeInterval.random(in: -2_208_988_800...7_258_118_400, using: &random) })
            .map(Date.init(timeIntervalSince1970:))
        let path = temporaryPath()
        let store = try ReconcileStore(path: path, concurrentReads: false)
        for date in dates {
            let id = try store.begin(
                ReconcileRecord(stack: "s", trigger: "apply", profiles: [], environment: nil, manifestDigest: "d", startedAt: date))
            try store.finish(id, outcome: "converged", error: nil, driftCount: 0, engineReads: 0, engineWrites: 0, at: date)
        }
        let stored = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT startedAt, endedAt FROM reconcile ORDER BY id").map { ($0[0] as String, $0[1] as String) }
        }
        for (date, (started, ended)) in zip(dates, stored) {
            #expect(started == formatter.string(from: date), "\(date.timeIntervalSince1970)")
            #expect(ended == started, "\(date.timeIntervalSince1970)")
        }
        let read = try store.history(limit: dates.count).reversed().map(\.reconcile.startedAt)
        #expect(zip(dates, read).allSatisfy { abs($0.timeIntervalSince($1)) < 0.001 })
    }

    @Test func recordsReconcilesWithTheirActionsNewestFirst() throws {
        let store = try ReconcileStore(path: temporaryPath())
        let first = try store.begin(
            ReconcileRecord(stack: "shop", trigger: "apply", profiles: ["internal-db"], environment: "dev", manifestDigest: "abc"))
        try store.record(
            ActionRecord(
                reconcileID: first, step: 1, kind: "create", target: "container shop-web", reason: "missing", startedAt: Date(), endedAt: Date(),
                outcome: .ok, error: nil))
        try store.finish(first, outcome: "changed", error: nil, driftCount: 1, engineReads: 5, engineWrites: 2)
        let second = try store.begin(
            ReconcileRecord(stack: "shop", trigger: "apply", profiles: ["internal-db"], environment: "dev", manifestDigest: "abc"))
        try store.finish(second, outcome: "converged", error: nil, driftCount: 0, engineReads: 5, engineWrites: 0)
        _ = try store.begin(ReconcileRecord(stack: "other", trigger: "apply", profiles: [], environment: nil, manifestDigest: "x"))

        let history = try store.history(stack: "shop")
        #expect(history.map(\.reconcile.id) == [second, first])
        #expect(history[1].reconcile.outcome == "changed")
        #expect(history[1].reconcile.profiles == "internal-db")
        #expect(history[1].actions.map(\.reason) == ["missing"])
        #expect(try store.history(limit: 10).count == 3)
        #expect(try store.lastReconcile(stack: "shop")?.outcome == "converged")
    }

    /// Steps are found by their service and container id, never by their display text:
    /// `web-admin`'s rows are not `web`'s although its container name starts with `app-web`.
    /// Deliberate stops are kept per stack and service, replaced when repeated, and forgotten one
    /// service at a time (`start`) or all at once (`apply`, `down`).
    @Test func servicesStoppedOnPurposeAreKeptPerStack() throws {
        let store = try ReconcileStore(path: temporaryPath())
        let then = Date(timeIntervalSince1970: 1_800_000_000)
        try store.saveStopped(services: ["web", "worker"], stack: "shop", at: then)
        try store.saveStopped(services: ["web"], stack: "blog", at: then)
        try store.saveStopped(services: ["web"], stack: "shop", at: then.addingTimeInterval(60))
        #expect(try store.stoppedServices(stack: "shop") == ["web": then.addingTimeInterval(60), "worker": then])
        try store.deleteStopped(stack: "shop", services: ["worker"])
        #expect(Array(try store.stoppedServices(stack: "shop").keys) == ["web"])
        try store.deleteStopped(stack: "shop")
        #expect(try store.stoppedServices(stack: "shop").isEmpty)
        #expect(Array(try store.stoppedServices(stack: "blog").keys) == ["web"], "another stack's stops stay")
    }

    @Test func actionsAreFoundByServiceAndContainerID() throws {
        let store = try ReconcileStore(path: temporaryPath())
        let id = try store.begin(ReconcileRecord(stack: "app", trigger: "event", profiles: [], environment: nil, manifestDigest: "d"))
        for (step, service, container, outcome) in [(1, "web-admin", "aaaaaaaaaaaa1111", ActionOutcome.failed), (2, "web", "bbbbbbbbbbbb2222", .ok)] {
            try store.record(
                ActionRecord(
                    reconcileID: id, step: step, kind: "start", target: "container app-\(service) (\(container.prefix(12)))", reason: "stopped",
                    startedAt: Date(), endedAt: Date(), outcome: outcome, error: nil, service: service, containerID: container))
        }
        try store.finish(id, outcome: "partial", error: nil, driftCount: 2, engineReads: 5, engineWrites: 2)
        #expect(try store.history(stack: "app", service: "web").flatMap(\.actions).map(\.step) == [2])
        #expect(try store.history(stack: "app", service: "web-admin").flatMap(\.actions).map(\.containerID) == ["aaaaaaaaaaaa1111"])
        #expect(try store.history(stack: "app", service: "db").isEmpty)
        #expect(try store.failedStarts(stack: "app") == ["aaaaaaaaaaaa": 1])
    }

    /// A log written before v5 has no identity columns: the upgrade adds them and takes the short
    /// container id from the old display text, so consecutive failed starts still count.
    @Test func upgradeKeepsOlderActionRowsCounting() throws {
        let path = temporaryPath()
        let store = try ReconcileStore(path: path)
        let id = try store.begin(ReconcileRecord(stack: "app", trigger: "apply", profiles: [], environment: nil, manifestDigest: "d"))
        for target in ["container app-web (0123456789ab)", "hook in container app-web (0123456789ab)", "network app_default"] {
            try store.record(
                ActionRecord(
                    reconcileID: id, step: 1, kind: target.hasPrefix("container") ? "start" : "hook", target: target, reason: "stopped",
                    startedAt: Date(), endedAt: Date(), outcome: .failed, error: nil))
        }
        // Back to the v4 schema, as an older Berth left it (v9's indexes name the v5 columns).
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            for index in ["reconcile_on_stack_outcome", "action_on_kind", "action_on_service"] { try db.execute(sql: "DROP INDEX \(index)") }
            try db.execute(sql: "ALTER TABLE action DROP COLUMN service")
            try db.execute(sql: "ALTER TABLE action DROP COLUMN containerId")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier LIKE 'v5%' OR identifier LIKE 'v9%'")
        }
        try queue.close()

        let upgraded = try ReconcileStore(path: path)
        #expect(try upgraded.failedStarts(stack: "app") == ["0123456789ab": 1])
        let rows = try upgraded.history(stack: "app").flatMap(\.actions)
        #expect(rows.map(\.containerID) == ["0123456789ab", "0123456789ab", nil])
        #expect(rows.allSatisfy { $0.service == nil })
    }

    @Test func pruneDeletesOldReconcilesWithTheirActionsButKeepsTheNewestOfEachStack() throws {
        let store = try ReconcileStore(path: temporaryPath())
        let old = Date().addingTimeInterval(-40 * 86_400)
        var ids: [Int64] = []
        for (stack, startedAt) in [("shop", old), ("shop", old), ("shop", Date()), ("shop", Date()), ("lonely", old)] {
            let id = try store.begin(
                ReconcileRecord(stack: stack, trigger: "apply", profiles: [], environment: nil, manifestDigest: "d", startedAt: startedAt))
            try store.record(
                ActionRecord(
                    reconcileID: id, step: 1, kind: "start", target: "container x", reason: "stopped", startedAt: startedAt, endedAt: startedAt,
                    outcome: .ok, error: nil))
            ids.append(id)
        }
        #expect(try store.prune() == 0, "nothing asked, nothing deleted")
        #expect(try store.prune(olderThan: Date().addingTimeInterval(-30 * 86_400)) == 2)
        #expect(try store.history(stack: "shop", limit: 10).map(\.reconcile.id) == [ids[3], ids[2]])
        #expect(try store.history(stack: "lonely").map(\.reconcile.id) == [ids[4]], "a stack's newest reconcile stays, however old")
        #expect(try store.prune(keep: 1, stack: "shop") == 1)
        #expect(try store.history(stack: "shop").map(\.reconcile.id) == [ids[3]])
        #expect(try store.history(limit: 10).flatMap(\.actions).count == 2, "actions went with their reconciles")
    }

    @Test func keepsTheLastAppliedSpecWithSecretsHashed() throws {
        let path = temporaryPath()
        let store = try ReconcileStore(path: path)
        let files = [
            "s.yaml":
                "kind: Service\nname: web\nimage: app:1\nenvironment: {PASSWORD: \"${PASSWORD}\"}\n---\nkind: Environment\nname: dev\nsecrets: {PASSWORD: {env: TEST_PASSWORD}}\n"
        ]
        let (manifest, errors) = ManifestParser.parse(files: files, directory: "/tmp/s")
        #expect(errors.isEmpty)
        let spec = try #require(
            try Resolver.resolve(manifest, ResolutionRequest(processEnvironment: ["TEST_PASSWORD": "correct-horse-battery"])).containers.first)
        #expect(spec.variable("PASSWORD")?.isSecret == true)
        try store.saveApplied([spec], stack: "s", reconcileID: 1)
        let applied = try #require(try store.appliedSpecs(stack: "s")["web"])
        #expect(applied.specHash == spec.specHash)
        #expect(applied.variable("PASSWORD")?.value.hasPrefix("<secret sha256:") == true)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path)) + ((try? Data(contentsOf: URL(fileURLWithPath: path + "-wal"))) ?? Data())
        #expect(!String(decoding: bytes, as: UTF8.self).contains("correct-horse-battery"))
    }

    @Test func remembersHooksPerContainer() throws {
        let store = try ReconcileStore(path: temporaryPath())
        try store.recordHook(HookRunRecord(containerID: "c1", hook: "init", stack: "s", service: "db", exitCode: 0, output: "ok", ranAt: Date()))
        #expect(try store.hooksRun(stack: "s") == ["c1/init"])
        #expect(try store.hooksRun(stack: "t").isEmpty)
    }

    @Test func reopeningKeepsTheData() throws {
        let path = temporaryPath()
        let id = try ReconcileStore(path: path).begin(
            ReconcileRecord(stack: "s", trigger: "apply", profiles: [], environment: nil, manifestDigest: "d"))
        #expect(try ReconcileStore(path: path).history().first?.reconcile.id == id)
    }
}

/// The Git side of the log: the commit of each reconcile, held commits, the last good commit.
@Suite struct GitLogTests {
    let store = try! ReconcileStore(
        path: FileManager.default.temporaryDirectory.appendingPathComponent("berth-store-\(UUID().uuidString)/state.db").path)
    let repository = "file:///srv/shop.git"

    /// Logs a reconcile of `commit` ending `outcome`, with a failed rollout when `failedRollout`.
    @discardableResult
    func reconcile(_ commit: String?, _ outcome: String, failedRollout: Bool = false, trigger: String = "git") throws -> Int64 {
        var record = ReconcileRecord(stack: "shop", trigger: trigger, profiles: [], environment: nil, manifestDigest: "d")
        record.origin = commit.map { GitOrigin(repository: repository, ref: "main", path: "deploy", commit: $0) }
        let id = try store.begin(record)
        if failedRollout {
            try store.recordRollouts([
                RolloutRecord(
                    reconcileID: id, stack: "shop", service: "web", cause: "spec-changed", order: .stopFirst, fromSpecHash: "a", toSpecHash: "b",
                    fromImage: nil, toImage: nil, toDigest: nil, outcome: .failed, error: "unhealthy", startedAt: Date(), endedAt: Date())
            ])
        }
        try store.finish(id, outcome: outcome, error: nil, driftCount: 0, engineReads: 0, engineWrites: 0)
        return id
    }

    @Test func eachReconcileKeepsItsCommit() throws {
        try reconcile("c1", "changed")
        try reconcile(nil, "converged", trigger: "apply")
        let history = try store.history(stack: "shop")
        #expect(history.map(\.reconcile.origin?.commit) == [nil, "c1"])
        #expect(history[1].reconcile.origin == GitOrigin(repository: repository, ref: "main", path: "deploy", commit: "c1"))
        #expect(try store.lastAppliedCommit(stack: "shop")?.commit == "c1")
        #expect(try store.lastAppliedCommit(repository: repository, path: "deploy")?.commit == "c1")
        #expect(try store.lastAppliedCommit(repository: repository, path: "other") == nil)
    }

    /// Where the host goes back to: not the failed commit, not one whose rollout failed (even
    /// though the reconcile that rolled it back converged on its manifests), not an invalid one.
    @Test(
        arguments: [
            ([("c1", "changed", false)], "c2", "c1"),
            ([("c1", "changed", false), ("c2", "changed", true), ("c2", "changed", false)], "c3", "c1"),
            ([("c1", "changed", false), ("c2", "failed", false)], "c3", "c1"),
            ([("c1", "changed", false), ("c2", "converged", false)], "c2", "c1"),
            ([("c1", "failed", false)], "c2", nil),
        ] as [([(String, String, Bool)], String, String?)])
    func lastGoodCommit(_ log: [(String, String, Bool)], excluding: String, expected: String?) throws {
        for (commit, outcome, failed) in log { try reconcile(commit, outcome, failedRollout: failed) }
        #expect(try store.lastGoodCommit(stack: "shop", repository: repository, excluding: excluding) == expected)
    }

    @Test func aHoldIsKeptPerStackUntilDeleted() throws {
        #expect(try store.gitHold(stack: "shop") == nil)
        let hold = GitHoldRecord(heldCommit: "c2", applyCommit: "c1", reason: "rollout failed", heldAt: Date(timeIntervalSince1970: 1_800_000_000))
        try store.saveGitHold(hold, stack: "shop")
        try store.saveGitHold(GitHoldRecord(heldCommit: "x", applyCommit: "y", reason: "other"), stack: "other")
        #expect(try store.gitHold(stack: "shop") == hold)
        try store.deleteGitHold(stack: "shop")
        #expect(try store.gitHold(stack: "shop") == nil)
        #expect(try store.gitHold(stack: "other")?.heldCommit == "x")
    }
}

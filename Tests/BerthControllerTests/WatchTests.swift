import BerthController
import BerthEngine
import BerthModel
import BerthStore
import BerthTesting
import Foundation
import Logging
import Testing

/// `watch` on the real Engine: drift made by another client is repaired without any command.
@Suite struct WatchTests {
    /// Runs a control loop over `stack` while `body` runs, then stops it.
    func watching<T: Sendable>(
        _ stack: TestStack, source: StackSource? = nil, backoff: Backoff = Backoff(base: .milliseconds(500), cap: .seconds(8)),
        resync: Duration = .seconds(30), rounds: (any EngineClient)? = nil, _ body: () async throws -> T
    ) async throws -> T {
        // `rounds`: another client for the rounds' calls (one behind a FaultyEngine); events come from the Engine itself.
        let watched = WatchedStack(
            source: source ?? .directory(stack.directory.path), options: ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment),
            engine: rounds ?? stack.engine, store: try stack.store(), metrics: Metrics(), logger: Logger(label: "berth.watch"))
        let loop = ControlLoop(
            configuration: WatchConfiguration(resync: resync, crashLoop: CrashLoopTracker(backoff: backoff, stableAfter: .seconds(30))),
            reconciler: watched, events: stack.engine)
        let task = Task { try await loop.run() }
        defer { task.cancel() }
        try await eventually("the startup reconcile") {
            try stack.store().history(stack: stack.name, limit: 500).contains { $0.reconcile.trigger == "startup" && $0.reconcile.endedAt != nil }
        }
        let result = try await body()
        task.cancel()
        _ = await task.result
        return result
    }

    /// Polls `condition` every 100 ms for up to `seconds`.
    /// Generous by default: CI machines have 2 noisy cores and the suites run in parallel; a
    /// passing condition returns at once, so the bound only matters when something is wrong.
    func eventually(_ what: String, seconds: Double = 90, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    /// The first non-nil `value`, polled like `eventually`.
    func eventuallyFound<T>(_ what: String, _ value: () async throws -> T?) async throws -> T {
        var found: T?
        try await eventually(what) {
            found = try await value()
            return found != nil
        }
        return found!
    }

    func running(_ stack: TestStack, _ name: String) async throws -> ContainerSummary? {
        try await stack.containers().first { $0.name == name && $0.state == "running" }
    }

    /// The newest reconcile with a write action on `service`, as (trigger, detail, reasons).
    func repair(_ stack: TestStack, of service: String) throws -> (String, String, [String])? {
        try stack.store().history(stack: stack.name, service: service, limit: 50).lazy
            .compactMap { entry -> (String, String, [String])? in
                let actions = entry.actions.filter { $0.outcome == .ok && $0.kind != "wait-healthy" }
                return actions.isEmpty
                    ? nil : (entry.reconcile.trigger, entry.reconcile.triggerDetail ?? "", actions.map { "\($0.kind) \($0.reason)" })
            }.first
    }

    /// A Compose project: an edit of `.env` (a hidden file) is a manifest change too.
    @Test func composeProjectFollowsDotEnvEdits() async throws {
        try await TestStack.with("w") { stack in
            try stack.write(".env", "GREETING=hello\n")
            try stack.write(
                "compose.yaml",
                "services:\n  web:\n    image: \(TestStack.baseImage)\n    init: true\n    command: [sleep, \"600\"]\n    environment: {GREETING: \"${GREETING}\"}\n"
            )
            let source = StackSource.compose(
                ComposeOptions(files: [stack.directory.appendingPathComponent("compose.yaml").path], projectName: stack.name))
            try await watching(stack, source: source) {
                let web = "\(stack.name)-web-1"
                try await eventually("web up") { try await running(stack, web) != nil }
                try stack.write(".env", "GREETING=bonjour\n")
                try await eventually("web recreated with the new value, and logged") {
                    guard let container = try await running(stack, web) else { return false }
                    let updated = try await stack.engine.inspectContainer(container.id).config.env?.contains("GREETING=bonjour") ?? false
                    return try updated && repair(stack, of: "web")?.0 == "manifest"
                }
                let change = try #require(try repair(stack, of: "web"))
                #expect(change.0 == "manifest")
                #expect(change.1.contains(".env"))
            }
        }
    }

    @Test func repairsRemovalStopDisconnectAndNetworkRemoval() async throws {
        try await TestStack.with("w") { stack in
            try TestManifests.write(stack)
            // Drift by hand, not a crash loop: repairs are never held back here. Events (and the
            // retry after a failed step) must do every repair: no resync comes during the test.
            try await watching(stack, backoff: Backoff(base: .zero, cap: .zero), resync: .seconds(3600)) {
                let web = "\(stack.name)-web"
                let db = "\(stack.name)-db"
                // Up, and the startup round logged (a round logs its actions when it ends).
                try await eventually("the stack up") {
                    let webUp = try await running(stack, web) != nil
                    let dbUp = try await running(stack, db) != nil
                    return try webUp && dbUp && repair(stack, of: "web")?.0 == "startup"
                }

                let webID = try #require(try await running(stack, web)?.id)
                try await Command.docker("rm", "-f", web)
                try await eventually("web recreated and logged") {
                    let up = try await running(stack, web) != nil
                    let latest = try repair(stack, of: "web")
                    return up && latest?.0 != "startup" && (latest?.2.contains("create missing") ?? false)
                }
                let removed = try #require(try repair(stack, of: "web"))
                #expect(removed.0 == "event")
                // Any of the removal's events may wake the repair: `die web` … or `network disconnect … (container <id>)`.
                #expect(removed.1.contains(web) || removed.1.contains(String(webID.prefix(12))), "\(removed.1)")
                #expect(removed.2.contains("create missing"))

                // Podman 4.3 can refuse a stop while it still cleans up after the container's
                // previous incarnation ("container state improper"); a hand tries again.
                for attempt in 1...10 {
                    let stop = try await Command.run("docker", ["stop", "-t", "1", web])
                    if stop.status == 0 { break }
                    guard attempt < 10, stop.stderr.contains("container state improper") else {
                        throw CommandFailure(command: "docker stop \(web)", result: stop)
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
                try await eventually("web restarted") {
                    let up = try await running(stack, web) != nil
                    return try up && (repair(stack, of: "web")?.2.contains { $0.hasPrefix("start stopped") } ?? false)
                }
                #expect(try repair(stack, of: "web")?.0 == "event")

                let network = "\(stack.name)_default"
                try await Command.docker("network", "disconnect", network, db)
                try await eventually("db reconnected") {
                    try await stack.containers().first { $0.name == db }?.networks.keys.contains(network) == true
                }
                // The reconnect was done by an event-triggered round (the round may also carry other triggers).
                try await eventually("the reconnect logged") {
                    try stack.store().history(stack: stack.name, limit: 100).contains { entry in
                        entry.reconcile.endedAt != nil && entry.actions.contains { $0.kind == "connect" && $0.outcome == .ok }
                    }
                }
                let reconnects = try stack.store().history(stack: stack.name, limit: 100).filter { entry in
                    entry.actions.contains { $0.kind == "connect" && $0.reason == "detached from network \(network)" && $0.outcome == .ok }
                }
                let recent = try stack.store().history(stack: stack.name, limit: 30).map {
                    "\($0.reconcile.trigger) [\($0.reconcile.triggerDetail ?? "")] \($0.actions.map { "\($0.kind) \($0.reason) \($0.outcome)" })"
                }
                #expect(reconnects.map(\.reconcile.trigger) == ["event"], "\(recent)")

                // The watcher restores containers within moments, so remove them and the network
                // back to back (through the API) until the network removal wins the race.
                var networkGone = false
                for _ in 0..<20 where !networkGone {
                    for container in try await stack.containers() { try? await stack.engine.removeContainer(container.id, force: true) }
                    networkGone = (try? await stack.engine.removeNetwork(network)) != nil
                }
                try #require(networkGone, "could not remove the network")
                try await eventually("network and containers back") {
                    let webUp = try await running(stack, web) != nil
                    let dbUp = try await running(stack, db) != nil
                    let networks = try await stack.engine.listNetworks(labels: ["berth.stack=\(stack.name)"]).count
                    return webUp && dbUp && networks == 1
                }
                try await eventually("the network repair logged") {
                    try stack.store().history(stack: stack.name, limit: 50).contains { entry in
                        entry.actions.contains { $0.kind == "create-network" && $0.reason == "missing" }
                    }
                }
                let history = try stack.store().history(stack: stack.name, limit: 50)
                let repairs = history.filter { entry in
                    entry.reconcile.trigger != "startup" && entry.actions.contains { $0.kind == "create-network" && $0.reason == "missing" }
                }
                #expect(
                    !repairs.isEmpty && repairs.allSatisfy { ["event", "retry"].contains($0.reconcile.trigger) },
                    "\(repairs.map(\.reconcile.trigger))")
            }
        }
    }

    /// `web` and `web-admin`: each step, backoff, status line and history row goes to its own
    /// service. Matching display text charged `web-admin`'s crash repairs to `web`.
    @Test func servicesSharingANamePrefixAreToldApart() async throws {
        try await TestStack.with("w") { stack in
            let service = { (name: String, command: String) in
                "---\nkind: Service\nname: \(name)\nimage: \(TestStack.baseImage)\ninit: true\ncommand: [sh, -c, \"\(command)\"]\n"
            }
            try stack.write("stack.yaml", "kind: Stack\nname: {{stack}}\n" + service("web", "sleep 600") + service("web-admin", "sleep 1; exit 3"))
            try await watching(stack) {
                try await eventually("web-admin held back as crash-looping") {
                    try stack.store().backoff(stack: stack.name).contains { $0.service == "web-admin" && $0.failures >= 2 }
                }
                #expect(try stack.store().backoff(stack: stack.name).map(\.service) == ["web-admin"])
            }
            let admin = "\(stack.name)-web-admin"
            try await eventually("web-admin exited") { try await stack.containers().first { $0.name == admin }?.state == "exited" }

            let adminRows = try stack.store().history(stack: stack.name, service: "web-admin", limit: 100).flatMap(\.actions)
            #expect(adminRows.filter { $0.kind == "start" }.count >= 3)
            #expect(adminRows.allSatisfy { $0.target.contains(admin) && $0.containerID != nil })
            let webRows = try stack.store().history(stack: stack.name, service: "web", limit: 100).flatMap(\.actions)
            #expect(webRows.map(\.kind) == ["create", "start"])

            let environment = stack.berthEnvironment
            let status = try await Command.run(BerthBinary.path, ["status", stack.directory.path, "--json"], environment: environment)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
            let pending = Dictionary(
                uniqueKeysWithValues: (json["services"] as? [[String: Any]] ?? []).map {
                    ($0["service"] as? String ?? "", $0["pending"] as? [String] ?? [])
                })
            #expect(pending["web"] == [])
            #expect(pending["web-admin"]?.count == 1 && pending["web-admin"]?.first?.hasPrefix("start (stopped: Exited (3)") == true, "\(pending)")
        }
    }

    /// Drift that arrives while a round still executes is repaired beside it, in the same
    /// reconcile: a container removed while another service's repair waits for its health gate
    /// does not wait for that gate. Only slow's first container passes its gate by itself (a
    /// marker in its volume says it ran before); a later one waits until the test opens its gate,
    /// so a slow host cannot open it first. With `failedLook`, the round's first look at the
    /// removal finds the Engine failing: it looks again.
    @Test(arguments: [false, true]) func driftDuringARoundIsRepairedBesideIt(failedLook: Bool) async throws {
        try await TestStack.with("w") { stack in
            let proxy = try await FaultyEngine()
            let rounds = try await DockerClient.connect(to: .unixSocket(path: proxy.socketPath), policy: EngineCallPolicy(attempts: 1))
            try stack.write(
                "stack.yaml",
                """
                kind: Stack
                name: {{stack}}
                ---
                kind: Volume
                name: state
                ---
                kind: Service
                name: slow
                image: \(TestStack.baseImage)
                init: true
                command: [sh, -c, "test -e /state/ran || touch /tmp/ok; touch /state/ran; exec sleep 600"]
                volumes: ["state:/state"]
                healthcheck: {test: [CMD, test, -f, /tmp/ok], interval: 1s, retries: 120}
                ---
                kind: Service
                name: quick
                image: \(TestStack.baseImage)
                init: true
                command: [sleep, "600"]

                """)
            try await watching(stack, backoff: Backoff(base: .zero, cap: .zero), resync: .seconds(3600), rounds: rounds) {
                let (slow, quick) = ("\(stack.name)-slow", "\(stack.name)-quick")
                let health = { try await stack.engine.listContainers(labels: ["berth.stack=\(stack.name)"]).first { $0.name == slow }?.health }
                try await eventually("the stack up and healthy") {
                    let quickUp = try await running(stack, quick) != nil
                    return try await health() == "healthy" && quickUp
                }
                let quickID = try #require(try await running(stack, quick)?.id)
                try await Command.docker("rm", "-f", slow)
                // The round repairing slow now waits for its gate, until the test opens it.
                let again = try await eventuallyFound("slow made again") { try await running(stack, slow) }
                if failedLook {
                    // Every look at quick's removal fails, its last event's included; then the Engine answers again.
                    proxy.inject([.init("GET", "/containers/json", .answer(status: 500, message: "injected: engine busy"))])
                    try await Command.docker("rm", "-f", quick)
                    try await eventually("a look failed") { proxy.injectedCount > 0 }
                    try await Task.sleep(for: .seconds(1))
                    proxy.inject([])
                } else {
                    try await Command.docker("rm", "-f", quick)
                }
                try await eventually("quick made again") { try await running(stack, quick).map { $0.id != quickID } ?? false }
                #expect(try await health() == "starting", "quick came back only after slow's gate")
                #expect((proxy.injectedCount > 0) == failedLook)
                _ = try await Command.docker("exec", again.id, "touch", "/tmp/ok")
                try await eventually("the round logged") {
                    try stack.store().history(stack: stack.name, limit: 20).contains { entry in
                        entry.reconcile.endedAt != nil && entry.actions.contains { $0.kind == "wait-healthy" && $0.target.contains(slow) }
                            && entry.reconcile.trigger == "event"
                    }
                }
                let round = try #require(
                    try stack.store().history(stack: stack.name, limit: 20).first { entry in
                        entry.reconcile.trigger == "event" && entry.actions.contains { $0.kind == "wait-healthy" && $0.target.contains(slow) }
                    })
                let created = round.actions.filter { $0.kind == "create" && $0.outcome == .ok }.map(\.target)
                #expect(
                    created.contains { $0.contains(quick) } && created.contains { $0.contains(slow) },
                    "\(round.actions.map { "\($0.step) \($0.kind) \($0.target)" })")
                #expect(Set(round.actions.map(\.step)).count == round.actions.count)
            }
            try await rounds.shutdown()
            await proxy.stop()
        }
    }

    @Test func manifestEditRecreatesOnlyTheAffectedService() async throws {
        try await TestStack.with("w") { stack in
            try TestManifests.write(stack)
            try await watching(stack) {
                try await eventually("the stack up") { try await stack.containers().count == 2 }
                let before = Dictionary(uniqueKeysWithValues: try await stack.containers().map { ($0.name, $0.id) })
                try stack.write("environments.yaml", TestManifests.environment.replacingOccurrences(of: "MODE: one", with: "MODE: edited"))
                try await eventually("web recreated with the new value") {
                    guard let web = try await running(stack, "\(stack.name)-web"), web.id != before["\(stack.name)-web"] else { return false }
                    return try await stack.engine.inspectContainer(web.id).config.env?.contains("MODE=edited") == true
                }
                try await eventually("the manifest reconcile logged") {
                    try stack.store().history(stack: stack.name).contains { $0.reconcile.trigger == "manifest" && $0.reconcile.endedAt != nil }
                }
                let after = Dictionary(uniqueKeysWithValues: try await stack.containers().map { ($0.name, $0.id) })
                #expect(after.count == 2)
                #expect(after["\(stack.name)-db"] == before["\(stack.name)-db"])
                let history = try stack.store().history(stack: stack.name, limit: 50)
                let summary = history.map {
                    "\($0.reconcile.trigger) [\($0.reconcile.triggerDetail ?? "")] \($0.reconcile.outcome) \($0.actions.map { "\($0.kind) \($0.reason)" })"
                }
                let edit = try #require(history.first { $0.reconcile.trigger == "manifest" && $0.reconcile.driftCount > 0 }, "\(summary)")
                #expect(edit.actions.contains { $0.kind == "create" && $0.reason == "spec changed: env MODE" })
            }
        }
    }

    @Test func invalidManifestEditLeavesTheHostAlone() async throws {
        try await TestStack.with("w") { stack in
            try TestManifests.write(stack)
            try await watching(stack) {
                try await eventually("the stack up") { try await stack.containers().count == 2 }
                let before = try await stack.containers().map(\.id).sorted()
                try stack.write("services.yaml", TestManifests.services + "\nportz: []\n")
                try await eventually("the failed round logged") {
                    try stack.store().history(stack: stack.name, limit: 50).contains {
                        $0.reconcile.trigger == "manifest" && $0.reconcile.outcome == "failed"
                    }
                }
                let failed = try #require(
                    try stack.store().history(stack: stack.name, limit: 50).first {
                        $0.reconcile.trigger == "manifest" && $0.reconcile.outcome == "failed"
                    })
                #expect(
                    failed.reconcile.error?.contains("services.yaml:16:1: web.portz: unknown key 'portz'") == true, "\(failed.reconcile.error ?? "")")
                #expect(try await stack.containers().map(\.id).sorted() == before)
            }
        }
    }

    /// Five `docker rm -f` of one service, one second apart: each is drift made by hand, repaired
    /// at once, never held back by crash-loop backoff (which here would wait 5 s, then 10 s).
    /// Runs alone (RunsAlone): it compares latencies.
    @Test(.enabled(if: RunsAlone.now(RunsAlone.removalRepair)))
    func everyRemovalByHandIsRepairedAtOnce() async throws {
        try await TestStack.with("w") { stack in
            try TestManifests.write(stack)
            try await watching(stack, backoff: Backoff(base: .seconds(5), cap: .seconds(60))) {
                let web = "\(stack.name)-web"
                try await eventually("the stack up") { try await running(stack, web) != nil }
                // The Engine's own floor for a repair: create and start the same image, measured
                // before each removal.
                let clock = ContinuousClock()
                func engineFloor() async throws -> Duration {
                    let started = clock.now
                    var probe = ContainerCreateRequest(image: TestStack.baseImage)
                    probe.cmd = ["sleep", "60"]
                    probe.labels = ["berth.test": stack.name]
                    let probeID = try await stack.engine.createContainer(name: nil, probe)
                    try await stack.engine.startContainer(probeID)
                    let floor = clock.now - started
                    try await stack.engine.removeContainer(probeID, force: true)
                    return floor
                }

                var repairs: [(repair: Duration, floor: Duration)] = []
                for _ in 0..<5 {
                    try await Task.sleep(for: .seconds(1))
                    let floor = try await engineFloor()
                    let removedAt = clock.now
                    try await Command.docker("rm", "-f", web)
                    try await eventually("web recreated", seconds: 30) { try await running(stack, web) != nil }
                    repairs.append((clock.now - removedAt, floor))
                }
                print("repairs after docker rm -f, with the Engine's create+start: \(repairs)")
                // No repair waited for a backoff round: each came from the removal's own events
                // (or a retry while the Engine was still removing), and nothing is held back.
                let rounds = try stack.store().history(stack: stack.name, limit: 200).map(\.reconcile)
                // Every round with its steps, oldest first: what a failure here needs to be read.
                for entry in try stack.store().history(stack: stack.name, limit: 200).reversed() {
                    print("round \(entry.reconcile.trigger): \(entry.reconcile.triggerDetail ?? "") → \(entry.reconcile.outcome)")
                    for action in entry.actions {
                        print("  \(action.kind) \(action.target) (\(action.reason)): \(action.outcome) \(action.error ?? "")")
                    }
                }
                #expect(rounds.filter { $0.trigger == "backoff" }.isEmpty, "\(rounds.map { "\($0.trigger): \($0.triggerDetail ?? "")" })")
                #expect(try stack.store().backoff(stack: stack.name).isEmpty)
                // Well under the 5 s the second repair would wait if removals counted as crashes;
                // the margin is wide because a loaded host's create+start varies from one call to the next.
                for (index, sample) in repairs.enumerated() {
                    #expect(sample.repair < sample.floor + .seconds(4), "repair \(index + 1): \(repairs)")
                }
            }
        }
    }

    @Test func crashLoopingServiceIsRepairedWithGrowingDelays() async throws {
        try await TestStack.with("w") { stack in
            try TestManifests.write(stack)
            try stack.write("crash.yaml", "kind: Service\nname: crash\nimage: \(TestStack.baseImage)\ncommand: [sh, -c, \"exit 3\"]\n")
            try await watching(stack, backoff: Backoff(base: .milliseconds(500), cap: .seconds(8))) {
                let starts = { () throws -> [Date] in
                    try stack.store().history(stack: stack.name, limit: 200).reversed().flatMap { entry in
                        entry.actions.filter { $0.kind == "start" && $0.target.contains("\(stack.name)-crash") && $0.reason.hasPrefix("stopped") }
                            .map(\.startedAt)
                    }
                }
                try await eventually("five repairs", seconds: 120) { try starts().count >= 5 }
                let times = try starts()
                let gaps = zip(times.dropFirst(), times).map { $0.timeIntervalSince($1) }
                // Repairs 2, 3, 4, 5 each waited at least their (growing) backoff: 0.5 s, 1 s, 2 s, 4 s.
                // Upper bounds are not asserted: on a loaded machine a round can be slower.
                for (index, gap) in gaps.prefix(4).enumerated() {
                    #expect(gap >= 0.5 * pow(2, Double(index)) - 0.05, "gap \(index) was \(gap)s: \(gaps)")
                }
                // The rest of the stack is untouched and running.
                #expect(try await running(stack, "\(stack.name)-web") != nil)
                #expect(try await running(stack, "\(stack.name)-db") != nil)
                let backoff = try stack.store().backoff(stack: stack.name)
                #expect(backoff.map(\.service) == ["crash"] || backoff.isEmpty)
            }
        }
    }

    @Test func secondWatchOfTheSameStackRefusesAndApplyWaits() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-lock-\(UUID().uuidString)")
        let state = directory.appendingPathComponent("state.db").path
        let first = try await StackLock.acquire(StackLock.path(stateFile: state, stack: "s", purpose: "watch"), timeout: .zero)
        await #expect(throws: LockError.self) {
            _ = try await StackLock.acquire(StackLock.path(stateFile: state, stack: "s", purpose: "watch"), timeout: .zero)
        }
        let held = try await StackLock.reconcile(stateFile: state, stack: "s", timeout: .zero)
        // The waiter gets the lock only after it is released, however late its task starts.
        let acquired = Task {
            _ = try await StackLock.reconcile(stateFile: state, stack: "s", timeout: .seconds(120))
            return ContinuousClock.now
        }
        try await Task.sleep(for: .milliseconds(400))
        let released = ContinuousClock.now
        withExtendedLifetime(held) {}
        _ = consume held
        #expect(try await acquired.value >= released)
        withExtendedLifetime(first) {}
    }
}

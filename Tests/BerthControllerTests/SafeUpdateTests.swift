import BerthController
import BerthEngine
import BerthModel
import BerthStore
import BerthTesting
import Foundation
import Testing

/// Image updates by digest, health-gated rollouts with automatic rollback, and start-first
/// updates, on the real dockerd with images served by the local registry on 127.0.0.1:5000.
@Suite(.serialized) struct SafeUpdateTests {
    static let registry = "127.0.0.1:5000"

    static func served(_ stack: TestStack) async throws -> String {
        let client = try #require(try await stack.containers().first { $0.labels["berth.service"] == "client" })
        let answer = try await stack.engine.exec(["timeout", "2", "wget", "-q", "-O", "-", "http://web:8080/"], in: client.id)
        return answer.stdout
    }

    static func webID(_ stack: TestStack) async throws -> String? {
        try await stack.containers().first { $0.labels["berth.service"] == "web" && $0.state == "running" }?.id
    }

    @Test func pullDetectsNewDigestAndFailedGateRollsBack() async throws {
        try await TestStack.with("su") { stack in
            let reference = "\(Self.registry)/\(stack.name)/web:stable"
            defer { Task { [engine = stack.engine] in try? await engine.removeImage(reference, force: true) } }
            try await stack.publish("v1", reference: reference)
            try stack.write("stack.yaml", TestStack.versionServerManifests(image: reference))
            let pull = {
                var options = ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment); options.pull = true; return options
            }()

            // v1 is pulled because it is missing.
            let first = try await stack.apply()
            #expect(first.outcome == .changed)
            #expect(try await Self.served(stack) == "v1")
            let clientID = try await stack.containers().first { $0.labels["berth.service"] == "client" }?.id

            // v2 under the same tag: invisible without --pull, recreated with it.
            try await stack.publish("v2", reference: reference)
            #expect(try await stack.apply().outcome == .converged)
            let v1Container = try await Self.webID(stack)
            let second = try await stack.apply(pull)
            #expect(second.outcome == .changed, "\(second.plan)")
            let pullStep = try #require(second.plan.steps.first { $0.operation.kind == .pullImage })
            #expect(pullStep.cause.description.hasPrefix("registry has sha256:"))
            let recreated = second.plan.steps.filter { $0.operation.kind == .create }
            #expect(recreated.map(\.operation.target) == ["container \(stack.name)-web"])
            #expect(recreated.first?.cause.description.hasPrefix("image changed: sha256:") == true)
            #expect(try await Self.served(stack) == "v2")
            #expect(try await Self.webID(stack) != v1Container)
            #expect(try await stack.containers().first { $0.labels["berth.service"] == "client" }?.id == clientID)
            #expect(second.rollouts.map(\.outcome) == [.healthy])

            // v3 fails its healthcheck: Berth goes back to v2 by itself and says so.
            try await stack.publish("v3", healthy: false, reference: reference)
            let third = try await stack.apply(pull)
            #expect(!third.outcome.isConverged)
            let failed = try #require(third.rollouts.first { $0.service == "web" })
            #expect(failed.outcome == .failed)
            #expect(failed.error?.contains("unhealthy") == true)
            let rollback = try #require(third.rollback.first)
            #expect(rollback.outcome.isConverged, "\(rollback.plan)\n\(rollback.results)")
            #expect(rollback.holds.map(\.service) == ["web"])
            #expect(try await Self.served(stack) == "v2")
            #expect(try await stack.containers().count == 2, "no leftover containers")

            // The log says so; the failed spec is not tried again until something changes.
            let store = try stack.store()
            let logged = try store.rollouts(stack: stack.name).first { $0.reconcileID == third.reconcileID }
            #expect(logged?.outcome == .failed && logged?.rolledBackIn == rollback.reconcileID)
            #expect(try store.history(stack: stack.name, limit: 1).first?.reconcile.trigger == "rollback")
            let again = try await stack.apply(pull)
            #expect(again.outcome == .converged, "\(again.plan)")
            #expect(again.holds.map(\.service) == ["web"])
            let status = try await stack.reconciler().preview(
                try stack.load(), ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment))
            #expect(status.holds.first?.reason.contains("failed") == true)

            // On request: back to v1, the newest healthy revision other than v2.
            let requested = try await stack.reconciler().rollback(
                try stack.load(), service: "web", to: nil, ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment))
            #expect(requested.outcome.isConverged)
            #expect(try await Self.served(stack) == "v1")

            // A fixed v4 under the tag ends the hold: it rolls out.
            try await stack.publish("v4", reference: reference)
            let fourth = try await stack.apply(pull)
            #expect(fourth.outcome == .changed, "\(fourth.plan)")
            #expect(fourth.holds.isEmpty)
            #expect(try await Self.served(stack) == "v4")
        }
    }

    /// Runs alone: its probe loop measures availability, which a saturated CPU would distort.
    @Test(.enabled(if: RunsAlone.now(RunsAlone.startFirstProbe)))
    func startFirstKeepsTheAliasServing() async throws {
        try await TestStack.with("sf") { stack in
            let image = "berth-test/\(stack.name)-web"
            try await stack.buildVersionServer("one", tag: "\(image):1")
            try await stack.buildVersionServer("two", tag: "\(image):2")
            defer {
                Task { [engine = stack.engine] in
                    try? await engine.removeImage("\(image):1", force: true)
                    try? await engine.removeImage("\(image):2", force: true)
                }
            }
            try stack.write("stack.yaml", TestStack.versionServerManifests(image: "\(image):1", order: "start-first"))
            try await stack.apply()
            let client = try #require(try await stack.containers().first { $0.labels["berth.service"] == "client" })
            // A bounded probe loop through the service alias, on the stack's own network. Like most
            // clients (curl, Go's dialer, nginx upstreams), it tries each address the name resolves to: Docker
            // drops a leaving container's DNS record only after its address is gone (docs/updates.md).
            let probe = """
                i=0; while [ $i -lt 600 ]; do
                  ips=$(timeout 2 nslookup web 127.0.0.11 2>/dev/null | awk '/answer/ { a = 1 } a && /^Address/ { printf "%s ", $2 }')
                  out=""; for ip in $ips; do out=$(timeout 1 wget -q -O - http://$ip:8080/ 2>/dev/null) && break; out=""; done
                  if [ -n "$out" ]; then echo "$out" >> /tmp/log; else echo "FAIL at $(cut -d" " -f1 /proc/uptime): no answer from [$ips]" >> /tmp/log; fi
                  i=$((i+1)); sleep 0.03
                done; echo DONE >> /tmp/log
                """
            _ = try await stack.engine.exec(["sh", "-c", "(\(probe)) >/dev/null 2>&1 &"], in: client.id)
            func log() async throws -> [String] {
                try await stack.engine.exec(["cat", "/tmp/log"], in: client.id).stdout.split(separator: "\n").map(String.init)
            }
            try await waitUntil { try await log().count >= 10 }

            try stack.write("stack.yaml", TestStack.versionServerManifests(image: "\(image):2", order: "start-first"))
            let update = try await stack.apply()
            #expect(update.outcome == .changed, "\(update.plan)")
            #expect(update.rollouts.map(\.order) == [.startFirst])
            let linesAfter = try await log().count
            try await waitUntil { try await log().count >= linesAfter + 10 }

            let lines = try await log()
            let failed = lines.filter { $0.hasPrefix("FAIL") }
            #expect(failed.isEmpty, "\(failed.count) failed probes of \(lines.count): \(failed)")
            #expect(lines.contains("one") && lines.last { $0 != "DONE" } == "two")
            let names = try await stack.containers().map(\.name).sorted()
            #expect(names == ["\(stack.name)-client", "\(stack.name)-web"])
        }
    }

    func waitUntil(seconds: Double = 30, _ condition: () async throws -> Bool) async throws {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("condition not met within \(seconds)s")
    }
}

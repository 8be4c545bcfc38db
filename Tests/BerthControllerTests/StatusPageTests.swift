import BerthController
import BerthStore
import Foundation
import Testing

/// The status page as rendered from values: every text escaped, pictures as inline SVG, no script.
@Suite struct StatusPageTests {
    static func page(reconciles: Int = 3) -> String {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let services = [
            ServiceState(
                service: "web", container: "s-web", image: "berth-demo/busybox:1", state: "running", health: "healthy", running: true, healthy: true,
                held: false, stoppedOnPurpose: false, ports: ["127.0.0.1:8080→80/tcp"]),
            ServiceState(
                service: "<script>alert(1)</script>", container: "s-x", image: "i", state: "exited", health: nil, running: false, healthy: false,
                held: true, stoppedOnPurpose: false, ports: []),
        ]
        let history = (0..<reconciles).map { index in
            var record = ReconcileRecord(
                stack: "s", trigger: index == 0 ? "event" : "resync", profiles: ["internal-db"], environment: "prod", manifestDigest: "d",
                startedAt: now.addingTimeInterval(Double(-600 * index)))
            record.id = Int64(10 - index)
            record.endedAt = record.startedAt.addingTimeInterval(0.5 + Double(index))
            record.outcome = index == 1 ? "failed" : "changed"
            record.driftCount = 1
            record.triggerDetail = index == 0 ? "destroy s-web" : nil
            let action = ActionRecord(
                reconcileID: record.id!, step: 0, kind: "create", target: "container s-web", reason: "missing & \"gone\"",
                startedAt: record.startedAt,
                endedAt: record.endedAt, outcome: index == 1 ? .failed : .ok, error: index == 1 ? "port <8080> taken" : nil, service: "web")
            return (reconcile: record, actions: [action])
        }
        return StatusPage.html(
            StatusPage.Input(
                stack: "s", services: services, backoff: ["web": 12], engineUp: true, unready: nil, reconciles: history, rollouts: [], now: now))
    }

    @Test func showsServicesReconcilesAndPictures() {
        let html = Self.page()
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(html.contains("127.0.0.1:8080→80/tcp") && html.contains("crash-looping, next repair in 12 s") && html.contains("rolled back"))
        #expect(html.contains("destroy s-web") && html.contains("missing &amp; &quot;gone&quot;") && html.contains("port &lt;8080&gt; taken"))
        #expect(html.components(separatedBy: "<svg").count - 1 == 3)
        #expect(html.components(separatedBy: "<circle").count - 1 == 3)
        #expect(html.contains("Drift repaired per hour, last 24 hours: 2 actions."))
    }

    @Test func escapesEverythingAndRunsNoScript() {
        let html = Self.page()
        #expect(!html.contains("<script"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!html.contains("src=\"http") && !html.contains("href=\"http"), "an external asset")
    }

    @Test func anEmptyLogStillRenders() {
        let html = StatusPage.html(
            StatusPage.Input(
                stack: "s", services: [], engineUp: nil, unready: "no reconcile has converged the stack yet", reconciles: [], rollouts: []))
        #expect(html.contains("never reconciled") && html.contains("nothing logged yet") && html.contains("not ready"))
    }
}

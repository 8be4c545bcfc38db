import BerthController
import CoreMetrics
import Foundation
import Testing

@Suite struct MetricsTests {
    @Test func rendersPrometheusText() async {
        let metrics = Metrics(version: "9.9.9")
        await metrics.recordReconcile(trigger: "event", outcome: "changed", seconds: 0.3)
        await metrics.recordReconcile(trigger: "event", outcome: "changed", seconds: 0.02)
        await metrics.setBackoff(["crash": 2.5])
        await metrics.setEngineUp(true)
        await metrics.recordNotification(channel: "webhook", outcome: "sent")
        let text = await metrics.render()
        for line in [
            "# TYPE berth_reconciles_total counter\n", #"berth_reconciles_total{outcome="changed",trigger="event"} 2"#,
            #"berth_reconcile_duration_seconds_bucket{le="0.05"} 1"#, #"berth_reconcile_duration_seconds_bucket{le="0.5"} 2"#,
            #"berth_reconcile_duration_seconds_bucket{le="1800.0"} 2"#, "berth_reconcile_duration_seconds_count 2",
            #"berth_service_backoff_seconds{service="crash"} 2.5"#, "berth_engine_up 1.0",
            #"berth_build_info{swift="#, #"version="9.9.9"} 1.0"#, #"berth_notifications_total{channel="webhook",outcome="sent"} 1"#,
            "berth_last_reconcile_timestamp_seconds ", "berth_last_successful_reconcile_timestamp_seconds ", "process_resident_memory_bytes ",
            "process_open_fds ", "process_cpu_seconds_total ", "process_start_time_seconds ",
        ] {
            #expect(text.contains(line), "\(line) in\n\(text)")
        }
        // A service no longer backed off goes away rather than staying at its last value.
        await metrics.setBackoff([:])
        #expect(!(await metrics.render()).contains("crash"))
    }

    /// What libraries record through swift-metrics lands in the same registry (the one bootstrap
    /// of this test process).
    @Test func swiftMetricsGoToTheSameRegistry() async {
        let metrics = Metrics()
        metrics.bootstrapSwiftMetrics()
        CoreMetrics.Counter(label: "library_requests_total", dimensions: [("route", "/x")]).increment(by: 2)
        #expect(await metrics.render().contains(#"library_requests_total{route="/x"} 2"#))
    }

    /// Label values come from user data (service names, triggers): quotes, backslashes and
    /// line feeds are escaped, so the text stays parseable.
    @Test func escapesLabelValues() async {
        let metrics = Metrics()
        await metrics.recordReconcile(trigger: "event \"x\"\\\nnext", outcome: "failed", seconds: 1)
        #expect(await metrics.render().contains(#"trigger="event \"x\"\\\nnext""#))
    }

    /// `/readyz`: not before a converged reconcile, not while the Engine is away, not when the last
    /// converged reconcile is too old.
    @Test func readiness() async {
        let metrics = Metrics()
        #expect(await metrics.unready(maxAge: .seconds(60))?.contains("no reconcile has converged") == true)
        await metrics.recordReconcile(trigger: "startup", outcome: "failed", seconds: 1)
        #expect(await metrics.unready(maxAge: .seconds(60)) != nil)
        await metrics.recordReconcile(trigger: "resync", outcome: "converged", seconds: 1)
        #expect(await metrics.unready(maxAge: .seconds(60)) == nil)
        #expect(await metrics.unready(maxAge: .seconds(60), now: Date().addingTimeInterval(120))?.contains("more than 60 s") == true)
        await metrics.setEngineUp(false)
        #expect(await metrics.unready(maxAge: .seconds(60)) == "the Docker Engine does not answer")
    }
}

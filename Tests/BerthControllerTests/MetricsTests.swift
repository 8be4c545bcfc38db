import BerthController
import Testing

@Suite struct MetricsTests {
    @Test func rendersPrometheusText() async {
        let metrics = Metrics()
        await metrics.recordReconcile(trigger: "event", outcome: "changed", seconds: 0.3)
        await metrics.recordReconcile(trigger: "event", outcome: "changed", seconds: 0.02)
        await metrics.recordDrift("missing")
        await metrics.recordAction("create", outcome: "ok")
        await metrics.setBackoff(["crash": 2.5])
        await metrics.setEngineUp(true)
        let text = await metrics.render()
        #expect(text.contains("berth_reconciles_total{trigger=\"event\",outcome=\"changed\"} 2\n"))
        #expect(text.contains("berth_reconcile_duration_seconds_bucket{le=\"0.05\"} 1\n"))
        #expect(text.contains("berth_reconcile_duration_seconds_bucket{le=\"0.5\"} 2\n"))
        #expect(text.contains("berth_reconcile_duration_seconds_count 2\n"))
        #expect(text.contains("berth_drift_total{kind=\"missing\"} 1\n"))
        #expect(text.contains("berth_actions_total{kind=\"create\",outcome=\"ok\"} 1\n"))
        #expect(text.contains("berth_service_backoff_seconds{service=\"crash\"} 2.500000\n"))
        #expect(text.contains("berth_engine_up 1\n"))
        #expect(text.contains("# TYPE berth_reconciles_total counter\n"))
    }
}

import Foundation

/// The controller's own counters, rendered in the Prometheus text format for `/metrics`.
public actor Metrics {
    struct Histogram {
        static let bounds: [Double] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
        var buckets = [Int](repeating: 0, count: bounds.count)
        var sum = 0.0
        var count = 0

        mutating func observe(_ value: Double) {
            for (index, bound) in Self.bounds.enumerated() where value <= bound { buckets[index] += 1 }
            sum += value
            count += 1
        }
    }

    private var reconciles: [String: Int] = [:]  // "trigger|outcome"
    private var duration = Histogram()
    private var drift: [String: Int] = [:]
    private var actions: [String: Int] = [:]  // "kind|outcome"
    private var backoff: [String: Double] = [:]
    private var engineUp = 1

    public init() {}

    public func recordReconcile(trigger: String, outcome: String, seconds: Double) {
        reconciles["\(trigger)|\(outcome)", default: 0] += 1
        duration.observe(seconds)
    }

    public func recordDrift(_ kind: String) { drift[kind, default: 0] += 1 }
    public func recordAction(_ kind: String, outcome: String) { actions["\(kind)|\(outcome)", default: 0] += 1 }
    public func setBackoff(_ seconds: [String: Double]) { backoff = seconds }
    public func setEngineUp(_ up: Bool) { engineUp = up ? 1 : 0 }

    public func render() -> String {
        var lines: [String] = []
        func pairs(_ key: String) -> (String, String) {
            let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
        lines.append("# HELP berth_reconciles_total Reconciles by trigger and outcome.")
        lines.append("# TYPE berth_reconciles_total counter")
        for (key, value) in reconciles.sorted(by: { $0.key < $1.key }) {
            let (trigger, outcome) = pairs(key)
            lines.append("berth_reconciles_total{trigger=\"\(trigger)\",outcome=\"\(outcome)\"} \(value)")
        }
        lines.append("# HELP berth_reconcile_duration_seconds Wall time of each reconcile.")
        lines.append("# TYPE berth_reconcile_duration_seconds histogram")
        for (index, bound) in Histogram.bounds.enumerated() {
            lines.append("berth_reconcile_duration_seconds_bucket{le=\"\(bound)\"} \(duration.buckets[index])")
        }
        lines.append("berth_reconcile_duration_seconds_bucket{le=\"+Inf\"} \(duration.count)")
        lines.append("berth_reconcile_duration_seconds_sum \(duration.sum)")
        lines.append("berth_reconcile_duration_seconds_count \(duration.count)")
        lines.append("# HELP berth_drift_total Drift found, by kind.")
        lines.append("# TYPE berth_drift_total counter")
        for (kind, value) in drift.sorted(by: { $0.key < $1.key }) { lines.append("berth_drift_total{kind=\"\(kind)\"} \(value)") }
        lines.append("# HELP berth_actions_total Actions executed, by kind and outcome.")
        lines.append("# TYPE berth_actions_total counter")
        for (key, value) in actions.sorted(by: { $0.key < $1.key }) {
            let (kind, outcome) = pairs(key)
            lines.append("berth_actions_total{kind=\"\(kind)\",outcome=\"\(outcome)\"} \(value)")
        }
        lines.append("# HELP berth_service_backoff_seconds Seconds until a crash-looping service may be repaired again.")
        lines.append("# TYPE berth_service_backoff_seconds gauge")
        for (service, value) in backoff.sorted(by: { $0.key < $1.key }) {
            lines.append("berth_service_backoff_seconds{service=\"\(service)\"} \(String(format: "%.3f", value))")
        }
        lines.append("# HELP berth_engine_up Whether the Docker Engine answered the last call.")
        lines.append("# TYPE berth_engine_up gauge")
        lines.append("berth_engine_up \(engineUp)")
        return lines.joined(separator: "\n") + "\n"
    }
}

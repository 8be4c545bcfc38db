import Foundation

/// The controller's own metrics, rendered in the Prometheus text format for `/metrics`.
public actor Metrics {
    /// One metric name with its samples, keyed by label values.
    struct Family {
        let name: String
        let help: String
        let type: String
        let labels: [String]
        var samples: [[String]: Double] = [:]

        mutating func add(_ values: [String], _ amount: Double = 1) { samples[values, default: 0] += amount }

        func render() -> [String] {
            var lines = ["# HELP \(name) \(help)", "# TYPE \(name) \(type)"]
            for (values, value) in samples.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                let pairs = zip(labels, values).map { "\($0)=\"\($1)\"" }.joined(separator: ",")
                lines.append("\(name)\(pairs.isEmpty ? "" : "{\(pairs)}") \(Self.format(value))")
            }
            return lines
        }

        static func format(_ value: Double) -> String {
            value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.6f", value)
        }
    }

    static let bounds: [Double] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    private var reconciles = Family(
        name: "berth_reconciles_total", help: "Reconciles by trigger and outcome.", type: "counter", labels: ["trigger", "outcome"])
    private var drift = Family(name: "berth_drift_total", help: "Drift found, by kind.", type: "counter", labels: ["kind"])
    private var actions = Family(
        name: "berth_actions_total", help: "Actions executed, by kind and outcome.", type: "counter", labels: ["kind", "outcome"])
    private var backoff = Family(
        name: "berth_service_backoff_seconds", help: "Seconds until a crash-looping service may be repaired again.", type: "gauge",
        labels: ["service"])
    private var engineUp = Family(name: "berth_engine_up", help: "Whether the Docker Engine answered the last call.", type: "gauge", labels: [])
    private var durationBuckets = [Int](repeating: 0, count: Metrics.bounds.count)
    private var durationSum = 0.0
    private var durationCount = 0

    public init() {}

    public func recordReconcile(trigger: String, outcome: String, seconds: Double) {
        reconciles.add([trigger, outcome])
        for (index, bound) in Self.bounds.enumerated() where seconds <= bound { durationBuckets[index] += 1 }
        durationSum += seconds
        durationCount += 1
    }

    public func recordDrift(_ kind: String) { drift.add([kind]) }
    public func recordAction(_ kind: String, outcome: String) { actions.add([kind, outcome]) }
    public func setBackoff(_ seconds: [String: Double]) { backoff.samples = Dictionary(uniqueKeysWithValues: seconds.map { ([$0.key], $0.value) }) }
    public func setEngineUp(_ up: Bool) { engineUp.samples = [[]: up ? 1 : 0] }

    /// The round in flight, if any: what `/healthz` looks at.
    private var roundInFlight: (trigger: String, since: ContinuousClock.Instant)?

    public func roundStarted(_ trigger: String) { roundInFlight = (trigger, ContinuousClock.now) }
    public func roundEnded() { roundInFlight = nil }

    /// Nil while the loop is live; otherwise why not. Every Engine call has a deadline, so a round
    /// running longer than `stuckAfter` means the loop is wedged, however the process looks.
    public func stuck(after limit: Duration) -> String? {
        guard let round = roundInFlight, ContinuousClock.now - round.since > limit else { return nil }
        return "a reconcile (\(round.trigger)) has been running for \(Int((ContinuousClock.now - round.since).seconds)) s"
    }

    public func render() -> String {
        var lines = reconciles.render()
        lines += ["# HELP berth_reconcile_duration_seconds Wall time of each reconcile.", "# TYPE berth_reconcile_duration_seconds histogram"]
        for (index, bound) in Self.bounds.enumerated() {
            lines.append("berth_reconcile_duration_seconds_bucket{le=\"\(bound)\"} \(durationBuckets[index])")
        }
        lines.append("berth_reconcile_duration_seconds_bucket{le=\"+Inf\"} \(durationCount)")
        lines.append("berth_reconcile_duration_seconds_sum \(durationSum)")
        lines.append("berth_reconcile_duration_seconds_count \(durationCount)")
        lines += drift.render() + actions.render() + backoff.render() + engineUp.render()
        return lines.joined(separator: "\n") + "\n"
    }
}

import BerthModel
public import BerthStore
public import Foundation
import Prometheus

import enum CoreMetrics.MetricsSystem

/// The controller's metrics for `/metrics`, kept in swift-prometheus' registry (which escapes
/// label values taken from user data and writes the text format), and what `/healthz` and
/// `/readyz` look at. Every family is listed in docs/watch.md.
public actor Metrics {
    private let registry = PrometheusCollectorRegistry()
    private var serviceGauges: [String: [Gauge]] = [:]
    private var backoffGauges: [String: [Gauge]] = [:]
    private var cpuSecondsCounted = 0.0
    private let startedAt = Date()
    private(set) var lastSuccess: Date?
    public private(set) var engineUp: Bool?
    /// Each service after the last round, and the crash-looping ones' waits: for the status page.
    public private(set) var services: [ServiceState] = []
    public private(set) var backoff: [String: Double] = [:]
    private var stack = ""

    /// Buckets from 10 ms to 30 min: a no-op round, a pull, a health wait of minutes.
    static let bounds: [Duration] = [
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300), .seconds(600), .seconds(1800),
    ]

    public init(version: String = "0.1.0") {
        gauge("build", "info", "Berth's version; always 1.", ["version": version, "swift": Self.swiftVersion]).set(1.0)
        gauge("engine_up", nil, "Whether the Docker Engine answered the last call (1) or not (0).").set(0.0)
    }

    /// Sends what libraries record through swift-metrics (`Counter(label:)`, `Timer(label:)`, …)
    /// to the same registry, so it shows on `/metrics` too. Once per process: `watch` calls it.
    public nonisolated func bootstrapSwiftMetrics() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    // MARK: Recording

    /// A round that reconciled: its outcome and duration, drift, actions, rollouts and rollbacks,
    /// and the state of every service after it.
    public func record(_ report: ReconcileReport, trigger: String, seconds: Double) {
        recordReconcile(trigger: trigger, outcome: report.outcome.rawValue, seconds: seconds)
        let stack = report.stack
        gauge("stack_in_sync", nil, "Whether the last reconcile left the stack as its manifests say (1) or not (0).", ["stack": stack])
            .set(report.outcome.isConverged && report.rollback.isEmpty ? 1.0 : 0.0)
        for step in report.plan.steps where step.operation.isWrite {
            let result = report.results[step.id]
            let kind = step.operation.kind.rawValue
            counter("drift", "Drift acted on, by kind of cause.", ["kind": step.cause.kind]).increment()
            counter("actions", "Actions executed, by kind and outcome.", ["kind": kind, "outcome": (result?.outcome ?? .skipped).rawValue])
                .increment()
            if result?.succeeded == true {
                counter("drift_repaired", "Drift repaired (the action succeeded), by kind of cause.", ["kind": step.cause.kind]).increment()
            }
            if let result {
                histogram("action_duration_seconds", "Wall time of each action, pulls and health waits included.", ["kind": kind])
                    .record(.milliseconds(Int64(result.endedAt.timeIntervalSince(result.startedAt) * 1000)))
            }
        }
        for rollout in report.rollouts {
            counter(
                "rollouts", "Containers created or replaced, by service, order (create, stop-first, start-first) and gate outcome.",
                ["service": rollout.service, "order": rollout.order.rawValue, "outcome": rollout.outcome.rawValue]
            )
            .increment()
        }
        // A rollback goes back on the services whose rollout failed, or on a whole profile switch.
        let failed = Set(report.rollouts.filter { $0.outcome == .failed }.map(\.service))
        let rolledBack = failed.isEmpty ? (report.failure == nil ? [] : ["profile-switch"]) : failed.sorted()
        for rollback in report.rollback {
            for service in rolledBack {
                counter(
                    "rollbacks", "Rollbacks after a failed rollout or profile switch, by service and outcome.",
                    ["service": service, "outcome": rollback.outcome.rawValue]
                ).increment()
            }
        }
        setServices(ServiceState.after(report), stack: stack)
    }

    /// A round's outcome and wall time; a round that could not reconcile counts too.
    public func recordReconcile(trigger: String, outcome: String, seconds: Double) {
        counter("reconciles", "Reconciles by trigger and outcome.", ["trigger": trigger, "outcome": outcome]).increment()
        histogram("reconcile_duration_seconds", "Wall time of each reconcile.", [:]).record(.milliseconds(Int64(seconds * 1000)))
        let now = Date()
        gauge("last_reconcile_timestamp_seconds", nil, "When the last reconcile ended (Unix time).").set(now.timeIntervalSince1970)
        if outcome == ReconcileOutcome.converged.rawValue || outcome == ReconcileOutcome.changed.rawValue {
            lastSuccess = now
            gauge("last_successful_reconcile_timestamp_seconds", nil, "When the last reconcile that left the stack converged ended (Unix time).")
                .set(now.timeIntervalSince1970)
        }
    }

    /// Per-service gauges after a round; those of services gone from the stack are dropped.
    func setServices(_ states: [ServiceState], stack: String) {
        services = states
        self.stack = stack
        let current = Set(states.map(\.service))
        for (service, gauges) in serviceGauges where !current.contains(service) {
            gauges.forEach(registry.unregisterGauge)
            serviceGauges[service] = nil
        }
        for state in states {
            let labels = ["stack": stack, "service": state.service]
            let gauges = [
                (gauge("service_running", nil, "Whether the service's container runs (1) or not (0).", labels), state.running),
                (gauge("service_healthy", nil, "Whether the service is healthy by its healthcheck (without one: running).", labels), state.healthy),
                (gauge("service_held", nil, "Whether the service is held at an earlier revision after a failed rollout.", labels), state.held),
                (gauge("service_stopped_on_purpose", nil, "Whether `berth stop` stopped the service.", labels), state.stoppedOnPurpose),
                (inBackoff(state.service), backoff[state.service] != nil),
            ]
            for (gauge, on) in gauges { gauge.set(on ? 1.0 : 0.0) }
            serviceGauges[state.service] = gauges.map(\.0)
        }
    }

    /// Crash-looping services held back, with the seconds until their next repair. Every service
    /// has both gauges (0 when not held back), so an alert sees a value, not an absence.
    public func setBackoff(_ seconds: [String: Double]) {
        backoff = seconds
        let known = Set(services.map(\.service)).union(seconds.keys)
        for (service, gauges) in backoffGauges where !known.contains(service) {
            gauges.forEach(registry.unregisterGauge)
            backoffGauges[service] = nil
        }
        for service in known {
            let remaining = gauge(
                "service_backoff_seconds", nil, "Seconds until a crash-looping service may be repaired again (0: not held back).",
                ["service": service])
            remaining.set(seconds[service] ?? 0)
            backoffGauges[service] = [remaining]
            if !stack.isEmpty { inBackoff(service).set(seconds[service] == nil ? 0.0 : 1.0) }
        }
    }

    private func inBackoff(_ service: String) -> Gauge {
        gauge(
            "service_in_backoff", nil, "Whether repairs of a crash-looping service are backed off (1) or not (0).",
            ["stack": stack, "service": service])
    }

    public func setEngineUp(_ up: Bool) {
        engineUp = up
        gauge("engine_up", nil, "Whether the Docker Engine answered the last call (1) or not (0).").set(up ? 1.0 : 0.0)
    }

    /// A notification sent (`sent`), given up after retries (`failed`) or dropped from a full queue (`dropped`).
    public func recordNotification(channel: String, outcome: String) {
        counter("notifications", "Notifications by channel and outcome (sent, failed, dropped).", ["channel": channel, "outcome": outcome])
            .increment()
    }

    // MARK: Git

    private var commitInfo: (origin: GitOrigin, gauge: Gauge)?

    /// The commit the last round applied, as `berth_git_commit_info{repository,ref,path,commit} 1`;
    /// the series of the commit before goes. Most rounds apply the same commit: nothing changes.
    public func setGitCommit(_ origin: GitOrigin?) {
        guard origin != commitInfo?.origin else { return }
        if let commitInfo { registry.unregisterGauge(commitInfo.gauge) }
        commitInfo = origin.map {
            (
                $0,
                gauge(
                    "git_commit", "info", "The commit of the followed repository the last round applied; always 1.",
                    ["repository": $0.repository, "ref": $0.ref, "path": $0.path, "commit": $0.commit])
            )
        }
        commitInfo?.gauge.set(1.0)
    }

    /// One fetch of the followed ref.
    public func recordGitFetch(succeeded: Bool) {
        counter("git_fetches", "Fetches of the followed ref, by outcome (ok, failed).", ["outcome": succeeded ? "ok" : "failed"]).increment()
        gauge("git_up", nil, "Whether the last fetch of the followed repository succeeded (1) or not (0).").set(succeeded ? 1.0 : 0.0)
        if succeeded {
            gauge("git_last_fetch", "timestamp_seconds", "When the followed ref was last fetched (Unix time).").set(Date().timeIntervalSince1970)
        }
    }

    /// The head commit whose manifests do not load, while it is the head.
    public func setGitInvalid(_ origin: GitOrigin?) {
        gauge("git_head_invalid", nil, "Whether the manifests at the head of the followed ref fail to load (1) or not (0).")
            .set(origin == nil ? 0.0 : 1.0)
    }

    /// A request to `POST /hooks/git`: `accepted`, `unauthorized`, `too-large`, or `unconfigured`.
    public func recordGitWebhook(_ outcome: String) {
        counter("git_webhooks", "Requests to POST /hooks/git, by outcome.", ["outcome": outcome]).increment()
    }

    // MARK: Health and readiness

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

    /// Nil when ready to be relied on: the Engine answers and a reconcile left the stack converged
    /// within `maxAge`; otherwise why not.
    public func unready(maxAge: Duration, now: Date = Date()) -> String? {
        if engineUp == false { return "the Docker Engine does not answer" }
        guard let lastSuccess else { return "no reconcile has converged the stack yet" }
        let age = now.timeIntervalSince(lastSuccess)
        if age > maxAge.seconds { return "the last converged reconcile was \(Int(age)) s ago (more than \(Int(maxAge.seconds)) s)" }
        return nil
    }

    // MARK: Text format

    public func render() -> String {
        recordProcess()
        return registry.emitToString()
    }

    /// `process_*` as Prometheus' client libraries name them, read from /proc.
    private func recordProcess() {
        gauge("process_start_time_seconds", nil, "When the process started (Unix time).", namespaced: false).set(startedAt.timeIntervalSince1970)
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let end = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the command name.
            if fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) {
                let seconds = (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
                if seconds > cpuSecondsCounted {
                    counter("process_cpu_seconds", "User and system CPU time spent, in seconds.", [:], namespaced: false)
                        .increment(by: seconds - cpuSecondsCounted)
                    cpuSecondsCounted = seconds
                }
            }
            if fields.count > 21, let virtual = Double(fields[20]), let pages = Double(fields[21]) {
                gauge("process_virtual_memory_bytes", nil, "Virtual memory size in bytes.", namespaced: false).set(virtual)
                gauge("process_resident_memory_bytes", nil, "Resident memory size in bytes.", namespaced: false).set(
                    pages * Double(sysconf(Int32(_SC_PAGESIZE))))
            }
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            gauge("process_open_fds", nil, "Open file descriptors.", namespaced: false).set(Double(descriptors.count))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            gauge("process_max_fds", nil, "The most file descriptors the process may open.", namespaced: false).set(Double(limit.rlim_cur))
        }
    }

    // MARK: Families

    nonisolated private func counter(_ name: String, _ help: String, _ labels: [String: String], namespaced: Bool = true) -> Counter {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: namespaced ? "berth" : nil, metricName: name, unitName: "total", helpText: help),
            labels: labels.sorted { $0.key < $1.key })
    }

    nonisolated private func gauge(_ name: String, _ unit: String?, _ help: String, _ labels: [String: String] = [:], namespaced: Bool = true)
        -> Gauge
    {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: namespaced ? "berth" : nil, metricName: name, unitName: unit ?? "", helpText: help),
            labels: labels.sorted { $0.key < $1.key })
    }

    nonisolated private func histogram(_ name: String, _ help: String, _ labels: [String: String]) -> DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "berth", metricName: name, unitName: "", helpText: help),
            labels: labels.sorted { $0.key < $1.key }, buckets: Self.bounds)
    }

    static var swiftVersion: String {
        #if swift(>=6.3)
            "6.3"
        #else
            "6"
        #endif
    }
}

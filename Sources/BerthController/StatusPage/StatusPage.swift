public import BerthStore
public import Foundation

/// `/` on `berth watch --listen`: the stack at a glance, for people who would rather look than
/// read. Server-rendered HTML and SVG from what `watch` knows (the last round) and the SQLite log,
/// no script and no external asset; read-only. Everything on it is already redacted: service
/// states, and the log's reasons and errors, which never hold a secret.
public enum StatusPage {
    /// What the page shows; gathered at the edge (`StatusServer`), rendered here without I/O.
    public struct Input: Sendable {
        public var stack: String
        public var services: [ServiceState]
        public var backoff: [String: Double]
        public var engineUp: Bool?
        /// Why `/readyz` fails, if it does.
        public var unready: String?
        /// Newest first.
        public var reconciles: [(reconcile: ReconcileRecord, actions: [ActionRecord])]
        public var rollouts: [RolloutRecord]
        public var now: Date

        public init(
            stack: String, services: [ServiceState], backoff: [String: Double] = [:], engineUp: Bool?, unready: String?,
            reconciles: [(reconcile: ReconcileRecord, actions: [ActionRecord])], rollouts: [RolloutRecord], now: Date = Date()
        ) {
            self.stack = stack
            self.services = services
            self.backoff = backoff
            self.engineUp = engineUp
            self.unready = unready
            self.reconciles = reconciles
            self.rollouts = rollouts
            self.now = now
        }
    }

    public static func html(_ input: Input) -> String {
        let last = input.reconciles.first?.reconcile
        let inSync =
            input.services.allSatisfy { $0.running || $0.stoppedOnPurpose } && (last.map { ["converged", "changed"].contains($0.outcome) } ?? false)
        var page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="15">
            <title>berth · \(HTML.escape(input.stack))</title>
            <style>\(style)</style></head><body>
            <header><h1>\(HTML.escape(input.stack))</h1>
            <p class="badges"><span class="badge \(inSync ? "ok" : "bad")">\(inSync ? "in sync" : "not in sync")</span>
            <span class="badge \(input.engineUp == false ? "bad" : "ok")">Engine \(input.engineUp == false ? "unreachable" : "up")</span>
            <span class="badge \(input.unready == nil ? "ok" : "warn")">\(HTML.escape(input.unready.map { "not ready: \($0)" } ?? "ready"))</span></p>
            \(last.map { "<p>profiles \($0.profiles.isEmpty ? "none" : HTML.escape($0.profiles.replacingOccurrences(of: ",", with: ", "))) · environment \(HTML.escape($0.environment ?? "-")) · last reconcile #\($0.id ?? 0) \(HTML.escape($0.outcome)) \(ago($0.endedAt ?? $0.startedAt, input.now))</p>" } ?? "<p>never reconciled</p>")
            </header>
            """
        page += services(input)
        page += charts(input)
        page += reconciles(input)
        page += "<footer>Read-only. Generated \(HTML.escape(ISO8601DateFormatter().string(from: input.now))); refreshes every 15 s. "
        page += "Machine-readable: <a href=\"/metrics\">/metrics</a>, <a href=\"/readyz\">/readyz</a>, <a href=\"/healthz\">/healthz</a>.</footer>"
        return page + "</body></html>\n"
    }

    // MARK: Sections

    private static func services(_ input: Input) -> String {
        var html =
            "<section><h2>Services</h2><table><thead><tr><th>service</th><th>state</th><th>health</th><th>ports</th><th>container</th><th>image</th></tr></thead><tbody>"
        for service in input.services {
            let (glyph, kind): (String, String) =
                if input.backoff[service.service] != nil { ("↻", "warn") } else if service.stoppedOnPurpose { ("■", "info") } else if !service.running
                { ("✗", "bad") } else if service.health == "unhealthy" { ("!", "bad") } else if service.health == "starting" { ("…", "warn") } else {
                    ("✓", "ok")
                }
            var state = HTML.escape(service.state)
            if let wait = input.backoff[service.service] { state += " · crash-looping, next repair in \(Int(wait)) s" }
            if service.held { state += " · rolled back, held at an earlier revision" }
            html += "<tr><td><span class=\"glyph \(kind)\" aria-hidden=\"true\">\(glyph)</span> \(HTML.escape(service.service))</td>"
            html += "<td>\(state)</td><td>\(HTML.escape(service.health ?? "-"))</td>"
            html += "<td>\(service.ports.isEmpty ? "-" : service.ports.map(HTML.escape).joined(separator: "<br>"))</td>"
            html += "<td><code>\(HTML.escape(service.container))</code></td><td><code>\(HTML.escape(service.image))</code></td></tr>"
        }
        if input.services.isEmpty { html += "<tr><td colspan=\"6\">no round has run yet</td></tr>" }
        return html + "</tbody></table></section>"
    }

    private static func charts(_ input: Input) -> String {
        let finished = input.reconciles.map(\.reconcile).filter { $0.endedAt != nil }
        let points = finished.map { record in
            let seconds = record.endedAt!.timeIntervalSince(record.startedAt)
            return Chart.Point(
                time: record.startedAt, value: seconds, colour: colour(record.outcome),
                label: "#\(record.id ?? 0) \(record.trigger) → \(record.outcome), \(String(format: "%.2f", seconds)) s")
        }
        // Drift repairs per hour over the last 24 hours.
        let hour: TimeInterval = 3600
        let start = floor(input.now.addingTimeInterval(-23 * hour).timeIntervalSince1970 / hour) * hour
        var perHour = [Int](repeating: 0, count: 24)
        for (reconcile, actions) in input.reconciles where reconcile.driftCount > 0 {
            let index = Int((reconcile.startedAt.timeIntervalSince1970 - start) / hour)
            guard perHour.indices.contains(index) else { continue }
            perHour[index] += actions.filter { $0.outcome == .ok && $0.kind != "pull" }.count
        }
        let buckets = perHour.enumerated().map { (start: Date(timeIntervalSince1970: start + Double($0.offset) * hour), count: $0.element) }
        var rollouts: [String: (passed: Int, failed: Int)] = [:]
        for rollout in input.rollouts where rollout.order != .create {
            if rollout.outcome == .healthy {
                rollouts[rollout.service, default: (0, 0)].passed += 1
            } else {
                rollouts[rollout.service, default: (0, 0)].failed += 1
            }
        }
        let rows = rollouts.sorted { $0.key < $1.key }.map { (name: $0.key, passed: $0.value.passed, failed: $0.value.failed) }
        let slowest = points.max { $0.value < $1.value }
        return """
            <section><h2>Over time</h2><div class="charts">
            <figure>\(Chart.timeline(points, unit: " s", title: "Reconcile duration"))
            <figcaption>Reconcile duration, last \(points.count) reconciles\(slowest.map { "; slowest \(String(format: "%.2f", $0.value)) s" } ?? ""). Green: in sync, blue: changed, red: failed.</figcaption></figure>
            <figure>\(Chart.bars(buckets, bucket: hour, title: "Drift repaired per hour"))
            <figcaption>Drift repaired per hour, last 24 hours: \(perHour.reduce(0, +)) actions.</figcaption></figure>
            <figure>\(Chart.stacked(rows, title: "Rollouts per service"))
            <figcaption>Rollouts per service (containers replaced): healthy and failed.</figcaption></figure>
            </div></section>
            """
    }

    private static func reconciles(_ input: Input) -> String {
        var html =
            "<section><h2>Last reconciles</h2><table><thead><tr><th>#</th><th>when</th><th>trigger</th><th>outcome</th><th>took</th><th>actions and reasons</th></tr></thead><tbody>"
        for (reconcile, actions) in input.reconciles.prefix(15) {
            let took = reconcile.endedAt.map { String(format: "%.2f s", $0.timeIntervalSince(reconcile.startedAt)) } ?? "-"
            let trigger = reconcile.trigger + (reconcile.triggerDetail.map { ": \($0)" } ?? "")
            let steps = actions.map { action in
                "<li><b>\(HTML.escape(action.kind))</b> \(HTML.escape(action.target)) — \(HTML.escape(action.reason)) → \(HTML.escape(action.outcome.rawValue))"
                    + (action.error.map { "<br><small>\(HTML.escape($0))</small>" } ?? "") + "</li>"
            }
            let list = steps.isEmpty ? "nothing to do" : "<ul>\(steps.joined())</ul>"
            let error = reconcile.error.flatMap { actions.isEmpty ? "<br><small>\(HTML.escape($0))</small>" : nil } ?? ""
            html += "<tr><td>\(reconcile.id ?? 0)</td><td>\(ago(reconcile.startedAt, input.now))</td><td>\(HTML.escape(trigger))</td>"
            html +=
                "<td><span class=\"outcome \(kind(reconcile.outcome))\">\(HTML.escape(reconcile.outcome))</span></td><td>\(took)</td><td>\(list)\(error)</td></tr>"
        }
        if input.reconciles.isEmpty { html += "<tr><td colspan=\"6\">nothing logged yet</td></tr>" }
        return html + "</tbody></table></section>"
    }

    // MARK: Words and colours

    static func ago(_ date: Date, _ now: Date) -> String {
        let seconds = Int(now.timeIntervalSince(date))
        switch seconds {
        case ..<60: return "\(max(seconds, 0)) s ago"
        case ..<3600: return "\(seconds / 60) min ago"
        case ..<86400: return "\(seconds / 3600) h ago"
        default: return "\(seconds / 86400) d ago"
        }
    }

    static func kind(_ outcome: String) -> String {
        switch outcome {
        case "converged": "ok"
        case "changed": "info"
        case "running", "pending": "warn"
        default: "bad"
        }
    }

    static func colour(_ outcome: String) -> String {
        switch kind(outcome) {
        case "ok": "#16a34a"
        case "info": "#2563eb"
        case "warn": "#d97706"
        default: "#dc2626"
        }
    }

    static let style = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1240px;padding:16px 24px;color:#1f2933;background:#f8fafc}
        h1{margin:0 0 4px;font-size:24px}h2{font-size:17px;margin:22px 0 8px}
        table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e4e7eb}
        th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}th{background:#f1f5f9;font-weight:600}
        ul{margin:0;padding-left:18px}code{font-size:12px}small{color:#52606d}
        .badge,.outcome{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
        .ok{background:#dcfce7;color:#166534}.bad{background:#fee2e2;color:#991b1b}.warn{background:#fef3c7;color:#92400e}.info{background:#dbeafe;color:#1e40af}
        .glyph{display:inline-block;width:18px;text-align:center;border-radius:9px}
        .charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;background:#fff;border:1px solid #e4e7eb;padding:8px}
        figcaption{font-size:12px;color:#52606d;max-width:560px}
        svg .axis{stroke:#9aa5b1;stroke-width:1}svg .label{font-size:11px;fill:#52606d}
        footer{margin:24px 0 8px;font-size:12px;color:#52606d}
        """
}

import Foundation

/// Small server-rendered SVG charts for the status page: no script, no external asset, readable
/// without colour (every mark has a `<title>`, every chart a text summary beside it).
enum Chart {
    static let width = 560.0
    static let height = 180.0
    static let margin = (left: 44.0, right: 12.0, top: 12.0, bottom: 26.0)

    /// One point per reconcile: when it ran, how long it took, and a colour for its outcome.
    struct Point {
        var time: Date
        var value: Double
        var colour: String
        var label: String
    }

    /// Points over time with a y axis from 0 to the largest value.
    static func timeline(_ points: [Point], unit: String, title: String) -> String {
        guard let first = points.map(\.time).min(), let last = points.map(\.time).max() else { return empty(title) }
        let span = max(last.timeIntervalSince(first), 1)
        let top = niceCeiling(points.map(\.value).max() ?? 1)
        let x = { (time: Date) in margin.left + (width - margin.left - margin.right) * time.timeIntervalSince(first) / span }
        let y = { (value: Double) in height - margin.bottom - (height - margin.top - margin.bottom) * value / top }
        var svg = frame(title) + axes(top: top, unit: unit)
        let ordered = points.sorted { $0.time < $1.time }
        let path = ordered.map { String(format: "%.1f,%.1f", x($0.time), y($0.value)) }.joined(separator: " ")
        svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"#9aa5b1\" stroke-width=\"1\"/>"
        for point in ordered {
            svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" ", x(point.time), y(point.value)) + "fill=\"\(point.colour)\">"
            svg += "<title>\(HTML.escape(point.label))</title></circle>"
        }
        svg += timeLabels(first: first, last: last)
        return svg + "</svg>"
    }

    /// Counts per time bucket as bars (e.g. drift repairs per hour).
    static func bars(_ counts: [(start: Date, count: Int)], bucket: TimeInterval, title: String) -> String {
        guard let first = counts.first?.start, let last = counts.last?.start else { return empty(title) }
        let top = niceCeiling(Double(counts.map(\.count).max() ?? 1))
        let plot = width - margin.left - margin.right
        let barWidth = plot / Double(counts.count)
        var svg = frame(title) + axes(top: top, unit: "")
        for (index, entry) in counts.enumerated() where entry.count > 0 {
            let barHeight = (height - margin.top - margin.bottom) * Double(entry.count) / top
            svg += String(
                format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#3b82f6\">", margin.left + Double(index) * barWidth + 1,
                height - margin.bottom - barHeight, max(barWidth - 2, 1), barHeight)
            svg += "<title>\(entry.count) repaired from \(clock(entry.start)) for \(Int(bucket / 60)) min</title></rect>"
        }
        svg += timeLabels(first: first, last: last.addingTimeInterval(bucket))
        return svg + "</svg>"
    }

    /// Horizontal stacked bars per name: passed (green) and failed (red), e.g. rollouts per service.
    static func stacked(_ rows: [(name: String, passed: Int, failed: Int)], title: String) -> String {
        guard !rows.isEmpty else { return empty(title) }
        let rowHeight = 22.0
        let chartHeight = margin.top + rowHeight * Double(rows.count) + margin.bottom
        let labelWidth = 120.0
        let top = niceCeiling(Double(rows.map { $0.passed + $0.failed }.max() ?? 1))
        // Room on the right for the counts written after each bar.
        let scale = (width - labelWidth - margin.right - 110) / top
        var svg = frame(title, height: chartHeight)
        for (index, row) in rows.enumerated() {
            let y = margin.top + Double(index) * rowHeight
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"label\">", labelWidth - 6, y + 15)
            svg += "\(HTML.escape(row.name))</text>"
            let passed = Double(row.passed) * scale
            svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"16\" fill=\"#16a34a\">", labelWidth, y + 3, passed)
            svg += "<title>\(HTML.escape(row.name)): \(row.passed) healthy</title></rect>"
            svg += String(
                format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"16\" fill=\"#dc2626\">", labelWidth + passed, y + 3,
                Double(row.failed) * scale)
            svg += "<title>\(HTML.escape(row.name)): \(row.failed) failed</title></rect>"
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" class=\"label\">", labelWidth + passed + Double(row.failed) * scale + 6, y + 15)
            svg += "\(row.passed)\(row.failed > 0 ? " / \(row.failed) failed" : "")</text>"
        }
        return svg + "</svg>"
    }

    // MARK: Pieces

    private static func frame(_ title: String, height: Double = height) -> String {
        String(
            format: "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" ", width, height,
            width, height)
            + "aria-label=\"\(HTML.escape(title))\"><title>\(HTML.escape(title))</title>"
    }

    private static func empty(_ title: String) -> String {
        frame(title, height: 60) + "<text x=\"12\" y=\"34\" class=\"label\">nothing logged yet</text></svg>"
    }

    private static func axes(top: Double, unit: String) -> String {
        let bottom = height - margin.bottom
        var svg = String(
            format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"axis\"/>", margin.left, bottom, width - margin.right, bottom)
        svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"axis\"/>", margin.left, margin.top, margin.left, bottom)
        for fraction in [0.0, 0.5, 1.0] {
            let y = bottom - (bottom - margin.top) * fraction
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"label\">", margin.left - 4, y + 4)
            svg += "\(format(top * fraction))\(unit)</text>"
        }
        return svg
    }

    private static func timeLabels(first: Date, last: Date) -> String {
        let y = height - 8
        return String(format: "<text x=\"%.1f\" y=\"%.1f\" class=\"label\">", margin.left, y) + "\(clock(first))</text>"
            + String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"label\">", width - margin.right, y) + "\(clock(last))</text>"
    }

    /// A round upper bound for an axis: 1, 2 or 5 times a power of ten.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let power = pow(10, floor(log10(value)))
        for step in [1.0, 2.0, 5.0, 10.0] where step * power >= value { return step * power }
        return 10 * power
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.2g", value)
    }

    static func clock(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "MM-dd HH:mm"
        return formatter.string(from: date) + "Z"
    }
}

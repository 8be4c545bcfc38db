import Foundation

/// ANSI colours for a terminal, off for a pipe and when `NO_COLOR` is set (no-color.org).
enum Colour: Int {
    case red = 31, green = 32, yellow = 33, blue = 34, magenta = 35, cyan = 36

    static func enabled(for fd: Int32) -> Bool {
        isatty(fd) == 1 && (ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
    }

    /// `text` in the index-th of six distinct colours: one per service in multiplexed output.
    static func paint(_ text: String, _ index: Int, _ enabled: Bool) -> String {
        paint(text, Colour(rawValue: 31 + index % 6) ?? .red, enabled)
    }

    static func paint(_ text: String, _ colour: Colour, _ enabled: Bool) -> String {
        enabled ? "\u{1B}[\(colour.rawValue)m\(text)\u{1B}[0m" : text
    }
}

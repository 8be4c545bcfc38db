import Foundation

extension NotificationManifest {
    /// A notification with its URL and key read.
    public struct Resolved: Sendable {
        public var channel: Channel
        public var url: String
        public var secret: String?
        public var events: [Event]
    }

    /// Reads each notification's URL and key: written out, from Berth's environment, or from a
    /// file (through `read`, relative paths against `directory`).
    /// - Throws: `ManifestErrors` naming the field of a variable not set, a file not readable, or a
    ///   URL that is not http(s) — never repeating the URL, which may hold a token.
    public static func resolve(
        _ notifications: [NotificationManifest], environment: [String: String], directory: String, read: (String) -> String?
    ) throws(ManifestErrors) -> [Resolved] {
        var errors: [ManifestError] = []
        var resolved: [Resolved] = []
        func value(_ value: Value, _ field: String, _ location: SourceLocation?) -> String? {
            switch value {
            case .literal(let text): return text
            case .environment(let variable):
                if let text = environment[variable], !text.isEmpty { return text }
                errors.append(
                    ManifestError(
                        .undefinedVariable, at: location, field: field, "reads variable '\(variable)' from Berth's environment, but it is not set"))
            case .file(let path):
                let absolute = MountParser.absolute(path, directory: directory)
                if let text = read(absolute) { return text.trimmingCharacters(in: .whitespacesAndNewlines) }
                errors.append(ManifestError(.unreadableFile, at: location, field: field, "cannot read '\(path)' (\(absolute))"))
            }
            return nil
        }
        for notification in notifications {
            let field = "\(notification.field).\(notification.channel.rawValue)"
            let url = value(notification.url, field, notification.location)
            let secret = notification.secret.flatMap { value($0, "\(notification.field).secret", notification.location) }
            guard let url else { continue }
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), URL(string: url)?.host != nil else {
                errors.append(
                    ManifestError(
                        .invalidValue, at: notification.location, field: field,
                        "the \(notification.channel.rawValue) URL is not an http:// or https:// URL"))
                continue
            }
            resolved.append(Resolved(channel: notification.channel, url: url, secret: secret, events: notification.events))
        }
        if !errors.isEmpty { throw ManifestErrors(errors) }
        return resolved
    }
}

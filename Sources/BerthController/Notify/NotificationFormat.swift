import BerthModel
import Crypto
import Foundation

/// A notice as each channel wants it: the request's body and headers. Pure.
enum NotificationFormat {
    struct Request: Equatable {
        var body: [UInt8]
        var headers: [(String, String)]

        static func == (a: Request, b: Request) -> Bool { a.body == b.body && a.headers.elementsEqual(b.headers, by: ==) }
    }

    /// - Parameters:
    ///   - delivery: an id the receiver can deduplicate retries by.
    ///   - secret: the webhook's HMAC key, if any.
    static func request(_ notice: Notice, channel: NotificationManifest.Channel, host: String, delivery: String, secret: [UInt8]?) -> Request {
        switch channel {
        case .webhook:
            struct Body: Encodable {
                let schemaVersion = 1
                let event: String; let stack: String; let host: String; let time: Date; let summary: String
                let details: [String]; let services: [String]; let reconcileID: Int64?
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            let body = Array(
                (try? encoder.encode(
                    Body(
                        event: notice.event.rawValue, stack: notice.stack, host: host, time: notice.time, summary: notice.summary,
                        details: notice.details, services: notice.services, reconcileID: notice.reconcileID))) ?? Data("{}".utf8))
            var headers = [
                ("Content-Type", "application/json"), ("User-Agent", "berth"), ("X-Berth-Event", notice.event.rawValue),
                ("X-Berth-Delivery", delivery),
            ]
            if let secret { headers.append(("X-Berth-Signature-256", "sha256=" + signature(body, secret: secret))) }
            return Request(body: body, headers: headers)
        case .ntfy:
            let text = ([notice.summary] + notice.details).joined(separator: "\n")
            let (priority, tags) =
                switch notice.event {
                case .failed, .rolledBack: ("high", "rotating_light")
                case .crashLoop: ("high", "warning")
                case .driftRepaired: ("default", "wrench")
                }
            // ntfy reads headers as ASCII; the title stays plain.
            let title = "berth \(notice.stack): \(notice.event.rawValue)".unicodeScalars.filter(\.isASCII).map(String.init).joined()
            return Request(
                body: Array(text.utf8),
                headers: [("Content-Type", "text/plain; charset=utf-8"), ("Title", title), ("Priority", priority), ("Tags", tags)])
        case .slack:
            let lines = ["*berth* `\(notice.stack)` \(notice.event.rawValue): \(notice.summary)"] + notice.details.map { "• \($0)" }
            let body = (try? JSONSerialization.data(withJSONObject: ["text": lines.joined(separator: "\n")], options: [.sortedKeys])) ?? Data()
            return Request(body: Array(body), headers: [("Content-Type", "application/json")])
        }
    }

    /// HMAC-SHA256 of the body, hex: what a receiver recomputes with the shared key.
    static func signature(_ body: [UInt8], secret: [UInt8]) -> String {
        HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret)).map { String(format: "%02x", $0) }.joined()
    }
}

import Foundation
public import Logging

/// `POST /hooks/git` on the `--listen` address: a Git host says the repository changed, and
/// the followed ref is fetched at once instead of at the next interval. The request is
/// authenticated with the shared secret the way the common hosts send it; the body is not
/// trusted for anything else (the fetch finds out what changed).
public struct GitWebhook: Sendable {
    let secret: [UInt8]
    let follower: GitFollower
    let metrics: Metrics?
    let logger: Logger

    /// A push payload is a few KiB; anything this large is not one.
    static let maxBody = 1 << 20

    public init(secret: [UInt8], follower: GitFollower, metrics: Metrics?, logger: Logger) {
        self.secret = secret
        self.follower = follower
        self.metrics = metrics
        self.logger = logger
    }

    /// Answers one request: 202 and a fetch when it is signed with the secret, 401 otherwise.
    /// - Parameter headers: names in any case.
    func handle(headers: [(String, String)], body: [UInt8], from peer: String) async -> (status: Int, text: String) {
        guard Self.verify(headers: headers, body: body, secret: secret) else {
            logger.warning("refused POST /hooks/git from \(peer): no valid signature (X-Hub-Signature-256, X-Gitea-Signature or X-Gitlab-Token)")
            await metrics?.recordGitWebhook("unauthorized")
            return (401, "signature missing or wrong\n")
        }
        await metrics?.recordGitWebhook("accepted")
        logger.info("POST /hooks/git from \(peer): fetching \(follower.description) now")
        follower.poll()
        return (202, "fetching\n")
    }

    /// Whether one of the signatures the common Git hosts send matches `body` under `secret`:
    /// `X-Hub-Signature-256: sha256=HEX` (GitHub, Gitea, Forgejo, Bitbucket Server also as
    /// `X-Hub-Signature`), `X-Gitea-Signature` / `X-Forgejo-Signature` / `X-Gogs-Signature: HEX`,
    /// or GitLab's `X-Gitlab-Token: SECRET`. Compared in constant time.
    public static func verify(headers: [(String, String)], body: [UInt8], secret: [UInt8]) -> Bool {
        guard !secret.isEmpty else { return false }
        // The same signature Berth's own webhook notifications carry.
        let expected = Array(NotificationFormat.signature(body, secret: secret).utf8)
        for (name, value) in headers {
            let value = value.trimmingCharacters(in: .whitespaces)
            switch name.lowercased() {
            case "x-hub-signature-256", "x-hub-signature":
                guard value.lowercased().hasPrefix("sha256=") else { continue }
                if equal(Array(value.dropFirst(7).lowercased().utf8), expected) { return true }
            case "x-gitea-signature", "x-forgejo-signature", "x-gogs-signature":
                if equal(Array(value.lowercased().utf8), expected) { return true }
            case "x-gitlab-token":
                if equal(Array(value.utf8), secret) { return true }
            default:
                continue
            }
        }
        return false
    }

    /// Equal bytes, in time that depends on the length only.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

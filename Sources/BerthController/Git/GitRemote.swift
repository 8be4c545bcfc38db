import BerthModel
import Foundation

/// A repository to follow, as the user named it, and how to authenticate to it. The URL is
/// logged and recorded with every reconcile, so it must not carry a password; credentials come
/// from files and reach git through its environment, never its command line.
public struct GitRemote: Sendable, Equatable {
    /// As given: `https://…`, `http://…`, `ssh://…`, `git://…`, `file://…`, `user@host:path` or a local path.
    public let url: String
    public let credentials: GitCredentials

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// - Throws: `Invalid` for an empty URL, one with a password in it, or an unknown scheme.
    public init(url: String, credentials: GitCredentials = .none) throws(Invalid) {
        let url = url.trimmingCharacters(in: .whitespaces)
        guard !url.isEmpty else { throw Invalid(description: "--git needs a repository URL") }
        if let scheme = url.range(of: "://").map({ String(url[..<$0.lowerBound]).lowercased() }) {
            guard ["https", "http", "ssh", "git", "file"].contains(scheme) else {
                throw Invalid(description: "--git: unsupported scheme '\(scheme)://' (https, http, ssh, git, file, user@host:path or a path)")
            }
            let rest = url[url.range(of: "://")!.upperBound...]
            let authority = rest.prefix { $0 != "/" }
            if let at = authority.lastIndex(of: "@"), authority[..<at].contains(":") {
                throw Invalid(
                    description:
                        "--git: the URL carries a password; it would be logged with every reconcile. Put USER:TOKEN in a file and give it with --git-credentials"
                )
            }
        }
        self.url = url
        self.credentials = credentials
    }

    /// The repository's name, as `git clone` names its directory: `shop` for `…/shop.git`.
    public var name: String {
        var tail = url
        while tail.hasSuffix("/") { tail.removeLast() }
        if tail.hasSuffix(".git") { tail.removeLast(4) }
        let name = tail.split(whereSeparator: { $0 == "/" || $0 == ":" }).last.map(String.init) ?? ""
        let cleaned = String(name.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." })
        return cleaned.isEmpty || cleaned.hasPrefix(".") ? "repository" : cleaned
    }

    /// A short, stable name for the local copy of this repository.
    var cacheKey: String { String(Digest.sha256Hex(url).prefix(16)) }

    /// What git needs in its environment to authenticate.
    public func environment() throws -> [String: String] {
        switch credentials {
        case .none:
            return [:]
        case .httpFile(let path):
            let text = try Self.read(path, what: "--git-credentials")
            let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            guard !line.isEmpty else { throw Invalid(description: "--git-credentials \(path): the file is empty; write USER:TOKEN in it") }
            // A token alone goes with any user name on the common hosts.
            let pair = line.contains(":") ? line : "git:" + line
            return [
                "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": "Authorization: Basic " + Data(pair.utf8).base64EncodedString(),
            ]
        case .sshKey(let path):
            _ = try Self.read(path, what: "--git-ssh-key")
            let quoted = "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
            return ["GIT_SSH_COMMAND": "ssh -i \(quoted) -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new"]
        }
    }

    private static func read(_ path: String, what: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw Invalid(description: "\(what) \(path): cannot read the file") }
        guard data.count <= 64 * 1024 else { throw Invalid(description: "\(what) \(path): more than 64 KiB; is it the right file?") }
        return String(decoding: data, as: UTF8.self)
    }
}

/// How Berth authenticates to a repository: always through a file, read when git runs.
public enum GitCredentials: Sendable, Equatable {
    case none
    /// HTTP(S): a file holding `USER:TOKEN` (or a token alone).
    case httpFile(String)
    /// SSH: a private key file.
    case sshKey(String)
}

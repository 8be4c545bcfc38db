import ArgumentParser
import BerthController
import BerthModel
import BerthStore
import Foundation
import Logging

/// A Git repository to read the stack from, instead of a directory on disk (`apply`, `plan`,
/// `watch`, `rollback --to-commit`).
struct GitOptions: ParsableArguments {
    @Option(
        name: .customLong("git"),
        help: ArgumentHelp(
            "Read the stack from this Git repository (https://, ssh://, git://, file://, user@host:path) instead of a directory.",
            discussion: "It is fetched one commit deep into a copy beside the state file. The URL must not carry a password.",
            valueName: "url"))
    var url: String?
    @Option(help: ArgumentHelp("With --git: the branch or tag to follow. Default: the repository's default branch.", valueName: "branch|tag"))
    var ref = "HEAD"
    @Option(
        help: ArgumentHelp(
            "With --git: the stack's directory in the repository (its manifests or its compose.yaml). Default: its root.", valueName: "dir"))
    var path = ""
    @Option(name: .customLong("git-credentials"), help: "With --git over http(s): a file holding USER:TOKEN (or a token alone).", completion: .file())
    var credentials: String?
    @Option(name: .customLong("git-ssh-key"), help: "With --git over ssh: the private key file.", completion: .file())
    var sshKey: String?
    @Option(
        name: .customLong("git-allowed-signers"),
        help: "With --git: apply only commits with an SSH signature by a key in this allowed_signers file (ssh-keygen's format).",
        completion: .file())
    var allowedSigners: String?

    func validate() throws {
        guard let url else {
            if ref != "HEAD" || !path.isEmpty || credentials != nil || sshKey != nil || allowedSigners != nil {
                throw ValidationError("--ref, --path, --git-credentials, --git-ssh-key and --git-allowed-signers go with --git URL")
            }
            return
        }
        _ = try remote(url)
        if credentials != nil && sshKey != nil { throw ValidationError("give --git-credentials (http) or --git-ssh-key (ssh), not both") }
        if path.hasPrefix("/") || path.split(separator: "/").contains("..") {
            throw ValidationError("--path is a directory inside the repository, without '..' and not absolute: '\(path)'")
        }
        if ref.isEmpty || ref.hasPrefix("-") || ref.contains("..") || ref.contains(where: { $0.isWhitespace || $0 == ":" }) {
            throw ValidationError("--ref takes a branch or tag name, not '\(ref)'")
        }
    }

    private func remote(_ url: String) throws -> GitRemote {
        let credentials: GitCredentials =
            if let file = credentials { .httpFile(file) } else if let key = sshKey { .sshKey(key) } else { .none }
        do {
            return try GitRemote(url: url, credentials: credentials)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The repository's follower, when `--git` was given: its local copy lives beside `statePath`.
    /// - Parameter store: opened only when there is a repository to follow.
    func follower(
        statePath: String, store: @autoclosure () throws -> ReconcileStore, interval: Duration = .seconds(60), metrics: Metrics? = nil
    ) throws -> GitFollower? {
        guard let url else { return nil }
        let stateDirectory = URL(fileURLWithPath: statePath).deletingLastPathComponent().path
        var trimmed = path
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        while trimmed.hasPrefix("./") { trimmed.removeFirst(2) }
        return GitFollower(
            repository: GitRepository(remote: try remote(url), stateDirectory: stateDirectory), ref: ref, path: trimmed == "." ? "" : trimmed,
            interval: interval, allowedSigners: allowedSigners.map { URL(fileURLWithPath: $0).standardizedFileURL.path }, store: try store(),
            metrics: metrics, logger: Logger(label: "berth.git"))
    }
}

extension GitFollower {
    /// The stack to apply now, for a command run once: the ref fetched, the commit chosen (the
    /// head, unless it is held back), its manifests read. Says on stderr which commit it is.
    /// - Throws: `CommandFailure` when the repository cannot be fetched, `ManifestFailure`
    ///   naming the commit when its manifests do not load.
    /// - Parameters:
    ///   - retryHeld: apply the head even when it is held back (`apply --retry-failed`).
    ///   - orLastApplied: when the head's manifests are invalid, warn and go on with the commit
    ///     last applied (`status`: what runs is still worth showing).
    func stackNow(retryHeld: Bool = false, orLastApplied: Bool = false) async throws -> LoadedStack {
        do {
            try await fetch()
            if retryHeld { try await releaseHold() }
            let stack = try await stack(current: nil, reload: true)
            if let origin = stack.origin {
                let held = origin.commit != head ? " (the head \(GitOrigin.short(head ?? "")) is held back: see berth status)" : ""
                Console.error("\(stack.name): commit \(GitOrigin.short(origin.commit)) of \(origin.repository) \(origin.ref)\(held)\n")
            }
            return stack
        } catch let error as InvalidCommit {
            if orLastApplied, let last = try? await lastApplied(), let commit = last.origin?.commit {
                Console.error("warning: the head's manifests are invalid; showing commit \(GitOrigin.short(commit)), applied before:\n\(error)\n")
                return last
            }
            throw invalidCommitFailure(error)
        } catch let error as GitError {
            throw CommandFailure("berth: \(error)")
        }
    }
}

/// Manifest errors as a command prints them: a stack read from Git names its commit, and the
/// files as the repository has them.
func manifestFailure(_ errors: ManifestErrors, in stack: LoadedStack, from follower: GitFollower?) async -> any Error {
    guard let follower, stack.origin != nil, let invalid = await follower.rejected(stack, errors).error as? InvalidCommit else {
        return ManifestFailure(errors: errors)
    }
    return invalidCommitFailure(invalid)
}

func invalidCommitFailure(_ invalid: InvalidCommit) -> CommandFailure {
    CommandFailure("\(invalid)\nnothing was applied from commit \(GitOrigin.short(invalid.origin.commit)); the host was not changed.")
}

import BerthController
import BerthModel
import BerthStore
import BerthTesting
import Crypto
import Foundation
import Testing

/// The pure parts of following a repository (which commit runs, which webhook requests are
/// authentic, which URLs are refused) by tables, and the local copy against a real repository.
@Suite struct GitTests {
    static let hold = GitHoldRecord(heldCommit: "bad", applyCommit: "good", reason: "failed")

    @Test(
        arguments: [
            ("new", nil, "new"),
            ("bad", hold, "good"),
            ("newer", hold, "newer"),
        ] as [(String, GitHoldRecord?, String)])
    func theHeadRunsUnlessItIsHeld(head: String, hold: GitHoldRecord?, runs: String) {
        let choice = CommitChoice(head: head, hold: hold)
        #expect(choice.commit == runs)
        if hold != nil && head != hold?.heldCommit { #expect(choice == .holdEnded(head: head, Self.hold)) }
    }

    static func hex(_ body: String, _ key: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(key.utf8))).map { String(format: "%02x", $0) }.joined()
    }

    @Test(
        arguments: [
            ("GitHub", [("X-Hub-Signature-256", "sha256=" + hex("{}", "k3y"))], true),
            ("header names in any case", [("x-hub-signature-256", "sha256=" + hex("{}", "k3y").uppercased())], true),
            ("Bitbucket Server", [("X-Hub-Signature", "sha256=" + hex("{}", "k3y"))], true),
            ("Gitea", [("X-Gitea-Signature", hex("{}", "k3y"))], true),
            ("Forgejo", [("X-Forgejo-Signature", hex("{}", "k3y"))], true),
            ("GitLab", [("X-Gitlab-Token", "k3y")], true),
            ("no signature", [("Content-Type", "application/json")], false),
            ("another key", [("X-Hub-Signature-256", "sha256=" + hex("{}", "other"))], false),
            ("another body", [("X-Hub-Signature-256", "sha256=" + hex("{ }", "k3y"))], false),
            ("sha1 only", [("X-Hub-Signature", "sha1=" + hex("{}", "k3y"))], false),
            ("GitLab, wrong token", [("X-Gitlab-Token", "k3")], false),
            ("Gitea signature sent as a GitLab token", [("X-Gitlab-Token", hex("{}", "k3y"))], false),
            ("truncated", [("X-Hub-Signature-256", "sha256=" + hex("{}", "k3y").prefix(63))], false),
        ] as [(String, [(String, String)], Bool)])
    func webhookSignatures(_ host: String, headers: [(String, String)], accepted: Bool) {
        #expect(GitWebhook.verify(headers: headers, body: Array("{}".utf8), secret: Array("k3y".utf8)) == accepted, "\(host)")
    }

    @Test func anEmptySecretAcceptsNothing() {
        #expect(!GitWebhook.verify(headers: [("X-Gitlab-Token", "")], body: [], secret: []))
    }

    @Test(
        arguments: [
            ("https://git.example.com/team/shop.git", "shop", nil),
            ("ssh://git@git.example.com:2222/team/shop", "shop", nil),
            ("git@git.example.com:team/shop.git", "shop", nil),
            ("file:///srv/git/shop.git/", "shop", nil),
            ("/srv/git/infra", "infra", nil),
            ("https://user:secret@git.example.com/shop.git", nil, "password"),
            ("ftp://git.example.com/shop.git", nil, "unsupported scheme"),
            ("  ", nil, "needs a repository URL"),
        ] as [(String, String?, String?)])
    func remotes(_ url: String, name: String?, refused: String?) {
        do {
            let remote = try GitRemote(url: url)
            #expect(remote.name == name)
            #expect(refused == nil)
        } catch {
            #expect(refused.map { error.description.contains($0) } == true, "\(error)")
        }
    }

    @Test func credentialsReachGitThroughItsEnvironmentOnly() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-git-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("token").path
        try "deploy:t0ken\n".write(toFile: file, atomically: true, encoding: .utf8)
        let environment = try GitRemote(url: "https://git.example.com/shop.git", credentials: .httpFile(file)).environment()
        #expect(environment["GIT_CONFIG_VALUE_0"] == "Authorization: Basic " + Data("deploy:t0ken".utf8).base64EncodedString())
        try "t0ken\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(
            try GitRemote(url: "https://git.example.com/shop.git", credentials: .httpFile(file)).environment()["GIT_CONFIG_VALUE_0"]
                == "Authorization: Basic " + Data("git:t0ken".utf8).base64EncodedString())
        let ssh = try GitRemote(url: "git@git.example.com:shop.git", credentials: .sshKey(file)).environment()
        #expect(ssh["GIT_SSH_COMMAND"]?.contains("-i '\(file)'") == true)
        #expect(throws: (any Error).self) { try GitRemote(url: "https://x/y.git", credentials: .httpFile(file + ".missing")).environment() }
    }

    @Test func relocatedErrorsNameTheRepositorysPaths() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-reloc-\(UUID().uuidString)/shop")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("deploy"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try "kind: Service\nname: web\nimage: [x\n".write(to: directory.appendingPathComponent("deploy/web.yaml"), atomically: true, encoding: .utf8)
        do {
            _ = try StackLoader.load(directory: directory.appendingPathComponent("deploy").path)
            Issue.record("a syntax error loaded")
        } catch {
            let relocated = error.relocated(from: directory.path, to: "")
            #expect(relocated.description.hasPrefix("deploy/web.yaml:"), "\(relocated)")
            #expect(!relocated.description.contains(directory.path))
        }
    }

    /// The local copy, against a real repository: fetch one commit deep, check out, follow a
    /// force-push back, fetch an older commit by id.
    @Test func theLocalCopyFetchesChecksOutAndFollowsAForcePush() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-gitcopy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let bare = directory.appendingPathComponent("shop.git").path
        let work = directory.appendingPathComponent("work").path
        func git(_ arguments: String...) async throws -> String {
            let result = try await Command.run("git", ["-c", "user.name=T", "-c", "user.email=t@example.invalid"] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        _ = try await git("init", "--quiet", "--bare", bare)
        _ = try await git("-C", work, "init", "--quiet")
        var commits: [String] = []
        for n in 1...3 {
            try "v\(n)\n".write(toFile: work + "/version", atomically: true, encoding: .utf8)
            _ = try await git("-C", work, "add", "-A")
            _ = try await git("-C", work, "commit", "--quiet", "-m", "v\(n)")
            _ = try await git("-C", work, "push", "--quiet", "--force", bare, "HEAD:refs/heads/main")
            commits.append(try await git("-C", work, "rev-parse", "HEAD"))
        }
        let copy = GitRepository(remote: try GitRemote(url: "file://" + bare), stateDirectory: directory.appendingPathComponent("state").path)
        #expect(try await copy.fetch("main") == commits[2])
        let tree = try await copy.checkout(commits[2])
        #expect(tree.hasSuffix("/shop"))
        #expect(try String(contentsOfFile: tree + "/version", encoding: .utf8) == "v3\n")
        // One commit deep: the first is not here until asked for by its id.
        #expect(try await copy.fetch(commit: commits[0]) == commits[0])
        #expect(try String(contentsOfFile: try await copy.checkout(commits[0]) + "/version", encoding: .utf8) == "v1\n")
        _ = try await git("-C", work, "push", "--quiet", "--force", bare, "\(commits[1]):refs/heads/main")
        #expect(try await copy.fetch("main") == commits[1])
        await #expect(throws: GitError.self) { try await copy.fetch("no-such-branch") }

        // Signatures: only a commit signed by an allowed key passes.
        let key = directory.appendingPathComponent("key").path
        _ = try await Command.run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ops", "-f", key])
        let other = directory.appendingPathComponent("other").path
        _ = try await Command.run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "other", "-f", other])
        let signers = directory.appendingPathComponent("allowed_signers").path
        try "ops namespaces=\"git\" \(try String(contentsOfFile: key + ".pub", encoding: .utf8))".write(
            toFile: signers, atomically: true, encoding: .utf8)
        for (n, signingKey) in [(4, key), (5, other)] {
            try "v\(n)\n".write(toFile: work + "/version", atomically: true, encoding: .utf8)
            _ = try await git("-C", work, "add", "-A")
            _ = try await git("-C", work, "-c", "gpg.format=ssh", "-c", "user.signingkey=\(signingKey).pub", "commit", "-S", "--quiet", "-m", "v\(n)")
            _ = try await git("-C", work, "push", "--quiet", "--force", bare, "HEAD:refs/heads/main")
            commits.append(try await git("-C", work, "rev-parse", "HEAD"))
        }
        #expect(try await copy.fetch("main") == commits[4])
        _ = try await copy.fetch(commit: commits[3])
        try await copy.verify(commits[3], allowedSigners: signers)
        await #expect(throws: GitError.self) { try await copy.verify(commits[4], allowedSigners: signers) }
        await #expect(throws: GitError.self) { try await copy.verify(commits[1], allowedSigners: signers) }
    }
}

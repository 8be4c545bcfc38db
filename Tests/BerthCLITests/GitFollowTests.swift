import BerthTesting
import Crypto
import Foundation
import Testing

/// Following a Git repository, as a user meets it with the release binary, the real Engine and
/// real repositories on loopback: a bare repository over `file://` and the same repository
/// served by `git daemon` on 127.0.0.1.
@Suite(.serialized) struct GitFollowTests {
    /// A repository made by the test: a bare one that Berth follows and a working copy the test
    /// commits and (force-)pushes from.
    struct Repository {
        let root: URL
        var bare: String { root.path + "/shop.git" }
        var work: String { root.path + "/work" }
        var fileURL: String { "file://" + bare }

        static func make(in directory: URL) async throws -> Repository {
            let repository = Repository(root: directory.appendingPathComponent("remote"))
            try FileManager.default.createDirectory(atPath: repository.work, withIntermediateDirectories: true)
            try await repository.git(["init", "--quiet", "--bare", repository.bare])
            try await repository.git(["-C", repository.work, "init", "--quiet"])
            try await repository.git(["-C", repository.work, "remote", "add", "origin", repository.bare])
            return repository
        }

        @discardableResult
        func git(_ arguments: [String]) async throws -> String {
            let result = try await Command.run(
                "git", ["-c", "user.name=Test", "-c", "user.email=test@example.invalid", "-c", "init.defaultBranch=main"] + arguments)
            guard result.status == 0 else { throw CommandFailure(command: "git " + arguments.joined(separator: " "), result: result) }
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Writes `files` (nil removes one), commits (signed with the SSH key `signingKey`, when
        /// given), pushes to `main`; returns the commit.
        @discardableResult
        func commit(_ files: [String: String?], _ message: String, signingKey: String? = nil) async throws -> String {
            for (path, text) in files {
                let url = URL(fileURLWithPath: work).appendingPathComponent(path)
                if let text {
                    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try text.write(to: url, atomically: true, encoding: .utf8)
                } else {
                    try? FileManager.default.removeItem(at: url)
                }
            }
            try await git(["-C", work, "add", "-A"])
            let signing = signingKey.map { ["-c", "gpg.format=ssh", "-c", "user.signingkey=\($0).pub", "commit", "-S"] } ?? ["commit"]
            try await git(["-C", work] + signing + ["--quiet", "-m", message])
            try await git(["-C", work, "push", "--quiet", "--force", "origin", "HEAD:main"])
            return try await git(["-C", work, "rev-parse", "HEAD"])
        }

        /// Moves `main` back to `commit`, as a force-push does.
        func forcePush(_ commit: String) async throws {
            try await git(["-C", work, "reset", "--quiet", "--hard", commit])
            try await git(["-C", work, "push", "--quiet", "--force", "origin", "HEAD:main"])
        }
    }

    /// `git daemon` serving the repository's directory on a loopback port, read-only. Run as
    /// git's own `git-daemon` program: through the `git` wrapper, stopping the wrapper would
    /// leave the daemon serving.
    final class Daemon: @unchecked Sendable {
        let port = Int.random(in: 20000...40000)
        let base: String
        private var process: Process?

        init(base: String) { self.base = base }

        var url: String { "git://127.0.0.1:\(port)/shop.git" }

        func start() async throws {
            let execPath = try await Command.run("git", ["--exec-path"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: execPath + "/git-daemon")
            process.arguments = ["--reuseaddr", "--export-all", "--listen=127.0.0.1", "--port=\(port)", "--base-path=\(base)", base]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            self.process = process
            for _ in 0..<100 {
                if (try? await Command.run("timeout", ["5", "git", "ls-remote", url]))?.status == 0 { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("git daemon did not answer on port \(port)")
        }

        /// SIGKILL: a git daemon started by a process that ignores SIGTERM ignores it too.
        func stop() async {
            guard let process else { return }
            kill(process.processIdentifier, SIGKILL)
            for _ in 0..<50 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
            self.process = nil
        }

        deinit { if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    }

    /// A stack of one service whose `COLOUR` says which commit runs; `healthy: false` gives it
    /// a healthcheck that always fails.
    static func manifests(_ stack: String, colour: String, healthy: Bool = true) -> String {
        """
        kind: Stack
        name: \(stack)
        ---
        kind: Service
        name: web
        image: \(TestStack.baseImage)
        init: true
        command: [sleep, "600"]
        environment: {COLOUR: \(colour)}
        healthcheck: {test: [CMD, "\(healthy ? "true" : "false")"], interval: 300ms, timeout: 1s, retries: 2}

        """
    }

    static func colour(_ container: String) async -> String? {
        guard let env = try? await Command.docker("inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", container) else { return nil }
        return env.split(separator: "\n").first { $0.hasPrefix("COLOUR=") }.map { String($0.dropFirst(7)) }
    }

    /// Waits up to `seconds` for `condition`.
    static func eventually(_ seconds: Int = 20, _ condition: () async throws -> Bool) async -> Bool {
        for _ in 0..<(seconds * 10) {
            if (try? await condition()) == true { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// `text` is what docs/json/NAME.schema.json says NAME --json prints.
    static func expectConforms(_ name: String, _ text: String) throws {
        let schema = try JSONSchema(contentsOf: BerthBinary.repository.appendingPathComponent("docs/json/\(name).schema.json"))
        let violations = schema.violations(of: try JSONSerialization.jsonObject(with: Data(text.utf8)))
        #expect(violations.isEmpty, "\(name) --json: \(violations)")
    }

    static func json(_ text: String) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:] }

    /// `berth watch` in the background, its log in a file; the status server's base URL once it says it.
    final class Watch: @unchecked Sendable {
        let process = Process()
        let log: URL

        init(_ stack: TestStack, _ arguments: [String]) throws {
            log = stack.directory.appendingPathComponent("watch-\(UUID().uuidString).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.executableURL = URL(fileURLWithPath: BerthBinary.path)
            process.arguments = ["watch"] + arguments
            process.environment = stack.berthEnvironment
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        }

        var text: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        func base() async throws -> String {
            var base = ""
            for _ in 0..<300 where base.isEmpty {
                if let range = text.range(of: "/readyz and /metrics on 127.0.0.1:") {
                    base = "http://127.0.0.1:" + text[range.upperBound...].prefix { $0.isNumber }
                } else {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            try #require(!base.isEmpty, "watch did not say where it serves:\n\(text)")
            return base
        }

        deinit { if process.isRunning { process.terminate() } }

        /// SIGTERM; the exit status.
        func stop() async -> Int32 {
            process.terminate()
            for _ in 0..<300 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
            return process.terminationStatus
        }
    }

    static func metric(_ base: String, _ line: String) async -> Bool {
        let result = try? await Command.run("curl", ["-s", base + "/metrics"])
        return result?.stdout.split(separator: "\n").contains { $0.hasPrefix(line) } == true
    }

    static func post(_ url: String, body: String, headers: [String]) async throws -> Int {
        let result = try await Command.run(
            "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "--data-binary", body] + headers.flatMap { ["-H", $0] } + [url])
        return Int(result.stdout) ?? 0
    }

    // MARK: Once

    @Test func planApplyHistoryAndStatusFromACommit() async throws {
        try await TestStack.with("gf") { stack in
            let repository = try await Repository.make(in: stack.directory)
            let first = try await repository.commit(["deploy/stack.yaml": Self.manifests(stack.name, colour: "blue")], "blue")
            let git = ["--git", repository.fileURL, "--ref", "main", "--path", "deploy"]

            let plan = try await stack.berth(["plan"] + git + ["--detailed-exitcode"])
            #expect(plan.status == 2, "\(plan.stderr)")
            #expect(plan.stdout.contains("create container \(stack.name)-web"))
            let apply = try await stack.berth(["apply"] + git)
            #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
            #expect(apply.stderr.contains("commit \(first.prefix(12))"))
            #expect(await Self.colour("\(stack.name)-web") == "blue")
            #expect(try await stack.berth(["plan"] + git + ["--detailed-exitcode"]).status == 0)

            let historyText = try await stack.berth(["history", "--json", "--stack", stack.name]).stdout
            let history = Self.json(historyText)
            let newest = (history["reconciles"] as? [[String: Any]])?.first
            let origin = newest?["git"] as? [String: Any]
            #expect(origin?["commit"] as? String == first)
            #expect(origin?["repository"] as? String == repository.fileURL)
            #expect(origin?["path"] as? String == "deploy")
            #expect(origin?["ref"] as? String == "main")
            #expect(try await stack.berth(["history", "--stack", stack.name]).stdout.contains("commit \(first.prefix(12))"))
            let statusText = try await stack.berth(["status", "--json"] + git).stdout
            let status = Self.json(statusText)
            #expect((status["git"] as? [String: Any])?["commit"] as? String == first)
            #expect((status["lastReconcile"] as? [String: Any])?["commit"] as? String == first)
            try Self.expectConforms("history", historyText)
            try Self.expectConforms("status", statusText)

            // A commit whose manifests do not resolve changes nothing and names the commit and the file.
            let broken = try await repository.commit(
                ["deploy/db.yaml": "kind: Service\nname: db\nimage: \(TestStack.baseImage)\nports: [notaport]\n"], "broken")
            let id = try await Command.docker("inspect", "-f", "{{.Id}}", "\(stack.name)-web")
            let refused = try await stack.berth(["apply"] + git)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("commit \(broken)"), "\(refused.stderr)")
            #expect(refused.stderr.contains("deploy/db.yaml:4:"), "\(refused.stderr)")
            #expect(!refused.stderr.contains("/commits/"), "the checkout's path leaked: \(refused.stderr)")
            #expect(try await Command.docker("inspect", "-f", "{{.Id}}", "\(stack.name)-web") == id)

            // With allowed signers, an unsigned commit is refused and a signed one applied.
            let key = stack.directory.appendingPathComponent("signing").path
            _ = try await Command.run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ops", "-f", key])
            let signers = stack.directory.appendingPathComponent("allowed_signers").path
            try "ops@example.invalid namespaces=\"git\" \(try String(contentsOfFile: key + ".pub", encoding: .utf8))"
                .write(toFile: signers, atomically: true, encoding: .utf8)
            let unsigned = try await repository.commit(
                ["deploy/db.yaml": nil, "deploy/stack.yaml": Self.manifests(stack.name, colour: "green")], "unsigned")
            let refusedUnsigned = try await stack.berth(["apply"] + git + ["--git-allowed-signers", signers])
            #expect(refusedUnsigned.status == 1)
            #expect(
                refusedUnsigned.stderr.contains("commit \(unsigned)") && refusedUnsigned.stderr.contains("not signed"), "\(refusedUnsigned.stderr)")
            #expect(await Self.colour("\(stack.name)-web") == "blue")
            let signed = try await repository.commit(
                ["deploy/stack.yaml": Self.manifests(stack.name, colour: "purple")], "signed", signingKey: key)
            let appliedSigned = try await stack.berth(["apply"] + git + ["--git-allowed-signers", signers])
            #expect(appliedSigned.status == 0, "\(appliedSigned.stderr)")
            #expect(appliedSigned.stderr.contains("commit \(signed.prefix(12))"))
            #expect(await Self.colour("\(stack.name)-web") == "purple")

            // A password in the URL is refused before anything runs: it would be logged.
            let password = try await stack.berth(["apply", "--git", "https://user:hunter2@127.0.0.1:1/shop.git"])
            #expect(password.status != 0)
            #expect(password.stderr.contains("--git-credentials"))
            // A path that is not in the commit.
            let missing = try await stack.berth(["apply", "--git", repository.fileURL, "--path", "nowhere"])
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("nowhere"))
        }
    }

    // MARK: watch --git

    @Test func watchFollowsTheRefOverGitDaemon() async throws {
        try await TestStack.with("gw") { stack in
            let repository = try await Repository.make(in: stack.directory)
            let daemon = Daemon(base: repository.root.path)
            let blue = try await repository.commit(["deploy/stack.yaml": Self.manifests(stack.name, colour: "blue")], "blue")
            try await daemon.start()
            let git = ["--git", daemon.url, "--ref", "main", "--path", "deploy"]
            let watch = try Watch(stack, git + ["--interval", "1s", "--resync", "2", "--listen", "0"])
            let base = try await watch.base()
            let web = "\(stack.name)-web"
            #expect(await Self.eventually { await Self.colour(web) == "blue" }, "\(watch.text)")

            // A new commit is applied within the interval (1 s), plus its rollout.
            let green = try await repository.commit(["deploy/stack.yaml": Self.manifests(stack.name, colour: "green")], "green")
            let pushed = ContinuousClock.now
            #expect(await Self.eventually { await Self.colour(web) == "green" }, "\(watch.text)")
            #expect(ContinuousClock.now - pushed < .seconds(10))
            #expect(await Self.eventually { await Self.metric(base, "berth_git_commit_info{commit=\"\(green)\"") })

            // A commit with a broken manifest changes nothing; the failure names the commit and the file.
            let id = try await Command.docker("inspect", "-f", "{{.Id}}", web)
            let broken = try await repository.commit(["deploy/db.yaml": "kind: Service\nname: db\nimage: [unclosed\n"], "broken")
            #expect(
                await Self.eventually {
                    let history = Self.json(try await stack.berth(["history", "--json", "--stack", stack.name, "--limit", "50"]).stdout)
                    return (history["reconciles"] as? [[String: Any]] ?? []).contains {
                        ($0["git"] as? [String: Any])?["commit"] as? String == broken && $0["outcome"] as? String == "failed"
                            && ($0["error"] as? String ?? "").contains("deploy/db.yaml:")
                    }
                }, "\(watch.text)")
            #expect(await Self.metric(base, "berth_git_head_invalid 1"))
            try await Task.sleep(for: .seconds(3))
            #expect(try await Command.docker("inspect", "-f", "{{.Id}}", web) == id)
            // Drift is still repaired, on the last good commit.
            _ = try await Command.docker("rm", "-f", web)
            #expect(await Self.eventually { await Self.colour(web) == "green" }, "\(watch.text)")

            // A force-push to an older commit converges back to it.
            try await repository.forcePush(blue)
            #expect(await Self.eventually { await Self.colour(web) == "blue" }, "\(watch.text)")
            #expect(await Self.metric(base, "berth_git_head_invalid 0"))

            // Rollback to a commit: the watch keeps the host there while the ref stays.
            let rollback = try await stack.berth(["rollback"] + git + ["--to-commit", green])
            #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
            #expect(await Self.colour(web) == "green")
            try await Task.sleep(for: .seconds(4))
            #expect(await Self.colour(web) == "green", "\(watch.text)")
            let heldStatus = try await stack.berth(["status", "--json"] + git).stdout
            try Self.expectConforms("status", heldStatus)
            let held = (Self.json(heldStatus)["git"] as? [String: Any])?["held"] as? [String: Any]
            #expect(held?["commit"] as? String == blue)
            #expect(held?["runs"] as? String == green)

            // The repository goes away: the host stays; when it is back, the new commit is applied.
            await daemon.stop()
            try await repository.commit(["deploy/stack.yaml": Self.manifests(stack.name, colour: "purple")], "purple")
            #expect(await Self.eventually { await Self.metric(base, "berth_git_up 0") }, "\(watch.text)")
            try await Task.sleep(for: .seconds(2))
            #expect(await Self.colour(web) == "green")
            try await daemon.start()
            #expect(await Self.eventually(30) { await Self.colour(web) == "purple" }, "\(watch.text)")
            #expect(await Self.metric(base, "berth_git_up 1"))

            #expect(await watch.stop() == 0)
            await daemon.stop()
        }
    }

    @Test func webhookFetchesAtOnceRefusesBadSignaturesAndAFailedCommitIsHeld() async throws {
        try await TestStack.with("gh") { stack in
            let repository = try await Repository.make(in: stack.directory)
            let secret = "hook-\(UInt32.random(in: 1000...9999))"
            let secretFile = stack.directory.appendingPathComponent("hook.secret")
            try (secret + "\n").write(to: secretFile, atomically: true, encoding: .utf8)
            let blue = try await repository.commit(["stack.yaml": Self.manifests(stack.name, colour: "blue")], "blue")
            // An interval of an hour: only the webhook makes it fetch.
            let watch = try Watch(
                stack, ["--git", repository.fileURL, "--interval", "1h", "--listen", "0", "--git-webhook-secret", secretFile.path])
            let base = try await watch.base()
            let web = "\(stack.name)-web"
            #expect(await Self.eventually { await Self.colour(web) == "blue" }, "\(watch.text)")
            #expect(await Self.eventually { await Self.metric(base, "berth_git_commit_info{commit=\"\(blue)\"") })

            try await repository.commit(["stack.yaml": Self.manifests(stack.name, colour: "green")], "green")
            let body = #"{"ref":"refs/heads/main"}"#
            let signature = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(secret.utf8)))
                .map { String(format: "%02x", $0) }.joined()
            #expect(try await Self.post(base + "/hooks/git", body: body, headers: []) == 401)
            #expect(
                try await Self.post(base + "/hooks/git", body: body, headers: ["X-Hub-Signature-256: sha256=" + String(repeating: "0", count: 64)])
                    == 401)
            #expect(try await Self.post(base + "/hooks/git", body: body + " ", headers: ["X-Hub-Signature-256: sha256=" + signature]) == 401)
            #expect(try await Self.post(base + "/hooks/git", body: body, headers: ["X-Gitlab-Token: wrong"]) == 401)
            try await Task.sleep(for: .seconds(2))
            #expect(await Self.colour(web) == "blue", "a refused webhook fetched")
            #expect(await Self.metric(base, "berth_git_webhooks_total{outcome=\"unauthorized\"} 4"))
            #expect(watch.text.contains("refused POST /hooks/git"))

            #expect(try await Self.post(base + "/hooks/git", body: body, headers: ["X-Hub-Signature-256: sha256=" + signature]) == 202)
            #expect(await Self.eventually(10) { await Self.colour(web) == "green" }, "\(watch.text)")

            // A commit whose rollout fails its health gate is held back; the host goes back to green.
            let failing = try await repository.commit(["stack.yaml": Self.manifests(stack.name, colour: "purple", healthy: false)], "unhealthy")
            #expect(try await Self.post(base + "/hooks/git", body: body, headers: ["X-Gitlab-Token: " + secret]) == 202)
            #expect(
                await Self.eventually(60) {
                    let git = Self.json(try await stack.berth(["status", "--json", "--git", repository.fileURL]).stdout)["git"] as? [String: Any]
                    return (git?["held"] as? [String: Any])?["commit"] as? String == failing
                }, "\(watch.text)")
            #expect(await Self.eventually { await Self.colour(web) == "green" }, "\(watch.text)")
            try await Task.sleep(for: .seconds(2))
            #expect(await Self.colour(web) == "green", "\(watch.text)")
            #expect(await watch.stop() == 0)
        }
    }
}

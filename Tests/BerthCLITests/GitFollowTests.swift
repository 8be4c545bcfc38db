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

    /// A server on a loopback port, run by the test and killed by it (SIGKILL: a server started
    /// by a process that ignores SIGTERM ignores it too).
    final class Server: @unchecked Sendable {
        let port = Int.random(in: 20000...40000)
        private let command: @Sendable (Int) async throws -> (String, [String])
        private var process: Process?

        /// - Parameter command: the program and its arguments, given the port.
        init(_ command: @escaping @Sendable (Int) async throws -> (String, [String])) { self.command = command }

        /// Starts it and waits until `ready` (given the port) says it serves.
        func start(ready: (Int) async -> Bool) async throws {
            let (executable, arguments) = try await command(port)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            self.process = process
            for _ in 0..<100 {
                if await ready(port) { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("\(executable) did not answer on port \(port)")
        }

        func stop() async {
            guard let process else { return }
            kill(process.processIdentifier, SIGKILL)
            for _ in 0..<50 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
            self.process = nil
        }

        deinit { if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    }

    /// `git daemon` serving the repository's directory, read-only: git's own `git-daemon`
    /// program (through the `git` wrapper, stopping the wrapper would leave the daemon serving).
    static func gitDaemon(_ repository: Repository) -> Server {
        Server { port in
            let execPath = try await Command.run("git", ["--exec-path"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let base = repository.root.path
            return (execPath + "/git-daemon", ["--reuseaddr", "--export-all", "--listen=127.0.0.1", "--port=\(port)", "--base-path=\(base)", base])
        }
    }

    static func answersGit(_ url: String) async -> Bool { (try? await Command.run("timeout", ["5", "git", "ls-remote", url]))?.status == 0 }

    /// Git's smart HTTP behind Basic authentication: `git http-backend` as a CGI program under a
    /// few lines of Python's http.server. It writes each request's Authorization header to `log`.
    static let httpBackend = #"""
        import base64, http.server, os, subprocess, sys
        root, port, log, credentials = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
        expected = "Basic " + base64.b64encode(credentials.encode()).decode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args): pass
            def handle_one(self):
                auth = self.headers.get("Authorization", "-")
                with open(log, "a") as f: f.write(auth + "\n")
                if auth != expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                env = dict(os.environ, GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL="1", PATH_INFO=path, QUERY_STRING=query,
                           REQUEST_METHOD=self.command, CONTENT_TYPE=self.headers.get("Content-Type", ""), CONTENT_LENGTH=str(len(body)),
                           REMOTE_USER="deploy", REMOTE_ADDR="127.0.0.1", HTTP_GIT_PROTOCOL=self.headers.get("Git-Protocol", ""))
                out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
                head, _, payload = out.partition(b"\r\n\r\n")
                status, headers = 200, []
                for line in head.decode().split("\r\n"):
                    name, _, value = line.partition(": ")
                    if name.lower() == "status": status = int(value.split()[0])
                    elif name: headers.append((name, value))
                self.send_response(status)
                for name, value in headers: self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            do_GET = handle_one
            do_POST = handle_one

        http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
        """#

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
        healthcheck: {test: [CMD, "\(healthy ? "true" : "false")"], interval: 300ms, timeout: 20s, retries: 2}

        """
    }

    static func colour(_ container: String) async -> String? {
        guard let env = try? await Command.docker("inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", container) else { return nil }
        return env.split(separator: "\n").first { $0.hasPrefix("COLOUR=") }.map { String($0.dropFirst(7)) }
    }

    /// Waits up to `seconds` for `condition`: generous, since a loaded CI host once took 15 s
    /// to start one container. How fast Berth follows is measured by `bench/git`, not here.
    static func eventually(_ seconds: Int = 60, _ condition: () async throws -> Bool) async -> Bool {
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
            let daemon = Self.gitDaemon(repository)
            let blue = try await repository.commit(["deploy/stack.yaml": Self.manifests(stack.name, colour: "blue")], "blue")
            try await daemon.start { await Self.answersGit("git://127.0.0.1:\($0)/shop.git") }
            let git = ["--git", "git://127.0.0.1:\(daemon.port)/shop.git", "--ref", "main", "--path", "deploy"]
            let watch = try Watch(stack, git + ["--interval", "1s", "--resync", "2", "--listen", "0"])
            let base = try await watch.base()
            let web = "\(stack.name)-web"
            #expect(await Self.eventually { await Self.colour(web) == "blue" }, "\(watch.text)")

            // A new commit is applied by the poller (its latency is measured by bench/git).
            let green = try await repository.commit(["deploy/stack.yaml": Self.manifests(stack.name, colour: "green")], "green")
            #expect(await Self.eventually { await Self.colour(web) == "green" }, "\(watch.text)")
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
            try await daemon.start { await Self.answersGit("git://127.0.0.1:\($0)/shop.git") }
            #expect(await Self.eventually { await Self.colour(web) == "purple" }, "\(watch.text)")
            #expect(await Self.metric(base, "berth_git_up 1"))

            #expect(await watch.stop() == 0)
            await daemon.stop()
        }
    }

    /// Credentials from a file reach an authenticating server (git's smart HTTP on loopback),
    /// and nowhere else: not the output, not the log, not the local copy's config.
    @Test func httpCredentialsComeFromAFileAndStayOutOfEverythingLogged() async throws {
        try await TestStack.with("gc") { stack in
            let repository = try await Repository.make(in: stack.directory)
            try await repository.commit(["stack.yaml": Self.manifests(stack.name, colour: "blue")], "blue")
            let token = "t0ken-\(UInt32.random(in: 100_000...999_999))"
            let script = stack.directory.appendingPathComponent("serve.py").path
            try Self.httpBackend.write(toFile: script, atomically: true, encoding: .utf8)
            let requests = stack.directory.appendingPathComponent("authorizations.log").path
            let server = Server { port in ("/usr/bin/python3", [script, repository.root.path, "\(port)", requests, "deploy:\(token)"]) }
            try await server.start { port in
                (try? await Command.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/shop.git/info/refs"]))?
                    .stdout
                    == "401"
            }
            let url = "http://127.0.0.1:\(server.port)/shop.git"

            let refused = try await stack.berth(["apply", "--git", url, "--ref", "main"])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("cannot fetch main from \(url)"), "\(refused.stderr)")
            #expect(try await stack.containers().isEmpty)

            let credentials = stack.directory.appendingPathComponent("git-credentials").path
            try "deploy:\(token)\n".write(toFile: credentials, atomically: true, encoding: .utf8)
            let applied = try await stack.berth(["apply", "--git", url, "--ref", "main", "--git-credentials", credentials])
            #expect(applied.status == 0, "\(applied.stderr)")
            #expect(await Self.colour("\(stack.name)-web") == "blue")
            let sent = try String(contentsOfFile: requests, encoding: .utf8)
            #expect(sent.contains("Basic " + Data("deploy:\(token)".utf8).base64EncodedString()))

            let history = try await stack.berth(["history", "--json", "--stack", stack.name])
            var logged = applied.stdout + applied.stderr + refused.stdout + refused.stderr + history.stdout
            for file in [stack.statePath, stack.statePath + "-wal"] {
                logged += String(decoding: (FileManager.default.contents(atPath: file) ?? Data()), as: UTF8.self)
            }
            let copies = stack.directory.appendingPathComponent("git").path
            for case let file as String in FileManager.default.enumerator(atPath: copies) ?? NSEnumerator() where file.hasSuffix("config") {
                logged += (try? String(contentsOfFile: copies + "/" + file, encoding: .utf8)) ?? ""
            }
            #expect(!logged.contains(token))
            #expect(!logged.contains(Data("deploy:\(token)".utf8).base64EncodedString()))
            await server.stop()
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
            #expect(await Self.eventually { await Self.colour(web) == "green" }, "\(watch.text)")

            // A commit whose rollout fails its health gate is held back; the host goes back to green.
            let failing = try await repository.commit(["stack.yaml": Self.manifests(stack.name, colour: "purple", healthy: false)], "unhealthy")
            #expect(try await Self.post(base + "/hooks/git", body: body, headers: ["X-Gitlab-Token: " + secret]) == 202)
            #expect(
                await Self.eventually {
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

import BerthTesting
import Crypto
import Foundation
import Testing

/// `berth watch --listen` as an operator meets it, on the real Engine with the release binary:
/// metrics that `promtool` accepts and that the shipped alerts and dashboard use, readiness,
/// signed notifications to a receiver on loopback for drift, a crash loop and a rollback, and the
/// status page loaded in a real headless browser (Debian's chromium), which draws it and reads back
/// its DOM.
@Suite(.serialized) struct ObservabilityTests {
    static let repository = BerthBinary.repository

    static func get(_ url: String) async throws -> (status: Int, body: String) {
        let result = try await Command.run("curl", ["-s", "-o", "-", "-w", "\n%{http_code}", url])
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    /// Runs chromium with its output in files the shell opens: with its standard error on the
    /// descriptor `Command` hands over, chromium's `--dump-dom` printed nothing.
    static func chromium(_ arguments: [String], in directory: URL) async throws -> (status: Int32, stdout: String, stderr: String) {
        let out = directory.appendingPathComponent("chromium.out").path
        let err = directory.appendingPathComponent("chromium.err").path
        let quoted = arguments.map { "'\($0)'" }.joined(separator: " ")
        let run = try await Command.run("/bin/sh", ["-c", "chromium \(quoted) > '\(out)' 2> '\(err)'"])
        let stderr = ((try? String(contentsOfFile: err, encoding: .utf8)) ?? "").split(separator: "\n").filter { !$0.contains("dbus") }.suffix(10)
        return (run.status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "", stderr.joined(separator: "\n"))
    }

    /// Metric names an expression uses (berth_… and process_…), histogram series folded into their family.
    static func families(in expression: String) -> Set<String> {
        let pattern = try! NSRegularExpression(pattern: "\\b((?:berth|process)_[a-z_]+)")
        let range = NSRange(expression.startIndex..., in: expression)
        return Set(
            pattern.matches(in: expression, range: range).compactMap { match in
                Range(match.range(at: 1), in: expression).map { name in
                    String(expression[name]).replacingOccurrences(of: "_bucket", with: "").replacingOccurrences(of: "_count", with: "")
                        .replacingOccurrences(of: "_sum", with: "")
                }
            })
    }

    @Test func metricsAlertsNotificationsAndTheStatusPage() async throws {
        try await TestStack.with("ob") { stack in
            let receiver = try await HookReceiver()
            defer { receiver.stop() }
            let key = "hook-key-\(UInt32.random(in: 1000...9999))"
            let secret = "ob-secret-\(UInt32.random(in: 100_000...999_999))"
            let port = Int.random(in: 20000...40000)
            func manifests(healthcheck: String) -> String {
                """
                kind: Stack
                name: {{stack}}
                default_environment: prod
                notify:
                  - webhook: {env: OB_HOOK_URL}
                    secret: {env: OB_HOOK_KEY}
                    on: [failed, rolled-back, crash-loop, drift-repaired]
                ---
                kind: Environment
                name: prod
                secrets: {TOKEN: {file: token.txt}}
                ---
                kind: Service
                name: web
                image: \(TestStack.baseImage)
                init: true
                command: [sleep, "600"]
                environment: {TOKEN: "${TOKEN}"}
                ports: ["127.0.0.1:\(port):80"]
                healthcheck: {test: [CMD, \(healthcheck)], interval: 300ms, timeout: 20s, retries: 2}
                ---
                kind: Service
                name: crash
                image: \(TestStack.baseImage)
                command: [sh, -c, "echo token $$TOKEN; exit 3"]
                environment: {TOKEN: "${TOKEN}"}

                """
            }
            try stack.write("token.txt", secret + "\n")
            try stack.write("stack.yaml", manifests(healthcheck: "\"true\""))
            var environment = stack.berthEnvironment
            environment["OB_HOOK_URL"] = receiver.url
            environment["OB_HOOK_KEY"] = key
            let watch = Process()
            watch.executableURL = URL(fileURLWithPath: BerthBinary.path)
            // A bare port: loopback only.
            watch.arguments = ["watch", stack.directory.path, "--resync", "2", "--listen", "0"]
            watch.environment = environment
            let log = stack.directory.appendingPathComponent("watch.log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            watch.standardOutput = handle
            watch.standardError = handle
            try watch.run()
            defer { if watch.isRunning { watch.terminate() } }
            var base = ""
            for _ in 0..<600 where base.isEmpty {
                try await Task.sleep(for: .milliseconds(100))
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                if let range = text.range(of: "/readyz and /metrics on 127.0.0.1:") {
                    base = "http://127.0.0.1:" + text[range.upperBound...].prefix { $0.isNumber }
                }
            }
            try #require(!base.isEmpty, "watch did not say where it serves")
            for _ in 0..<300 where (try? await stack.containers().first { $0.name == "\(stack.name)-web" }?.state) != "running" {
                try await Task.sleep(for: .milliseconds(100))
            }
            func events(about service: String?) -> [String] {
                receiver.requests.compactMap { request in
                    let json = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any]
                    guard service.map({ (json?["services"] as? [String])?.contains($0) == true }) ?? true else { return nil }
                    return request.headers["x-berth-event"]
                }
            }
            func waitFor(_ event: String, about service: String? = nil) async throws {
                for _ in 0..<600 where !events(about: service).contains(event) { try await Task.sleep(for: .milliseconds(100)) }
                #expect(
                    events(about: service).contains(event), "no \(event) notification about \(service ?? "any service"); got \(events(about: nil))")
            }

            // Drift, a crash loop, and a rollout that fails its gate and is rolled back.
            try await waitFor("crash-loop")
            _ = try await Command.docker("rm", "-f", "\(stack.name)-web")
            try await waitFor("drift-repaired", about: "web")
            try stack.write("stack.yaml", manifests(healthcheck: "\"false\""))
            try await waitFor("rolled-back")

            // Every notification signed and free of the secret.
            for request in receiver.requests {
                let signature = HMAC<SHA256>.authenticationCode(for: request.body, using: SymmetricKey(data: Array(key.utf8)))
                #expect(request.headers["x-berth-signature-256"] == "sha256=" + signature.map { String(format: "%02x", $0) }.joined())
                #expect(!request.text.contains(secret))
            }

            // Metrics: accepted by promtool, documented, and enough for the shipped alerts and dashboard.
            let metrics = try await Self.get(base + "/metrics")
            #expect(metrics.status == 200)
            let checked = try await Command.run("promtool", ["check", "metrics"], stdin: Data(metrics.body.utf8))
            #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
            #expect(!metrics.body.contains(secret))
            let served = Set(metrics.body.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
            let documented = Self.families(in: try String(contentsOf: Self.repository.appendingPathComponent("docs/watch.md"), encoding: .utf8))
            #expect(served.subtracting(documented).isEmpty, "served but not in docs/watch.md: \(served.subtracting(documented).sorted())")
            #expect(documented.subtracting(served).isEmpty, "in docs/watch.md but not served: \(documented.subtracting(served).sorted())")
            for shipped in ["deploy/prometheus/alerts.yml", "deploy/grafana/berth-dashboard.json"] {
                let used = Self.families(in: try String(contentsOf: Self.repository.appendingPathComponent(shipped), encoding: .utf8))
                #expect(
                    !used.isEmpty && used.subtracting(served).isEmpty,
                    "\(shipped) uses what Berth does not serve: \(used.subtracting(served).sorted())")
            }
            for rules in [["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]] {
                let result = try await Command.run(
                    "/bin/sh",
                    ["-c", "cd '\(Self.repository.appendingPathComponent("deploy/prometheus").path)' && promtool \(rules.joined(separator: " "))"])
                #expect(result.status == 0, "promtool \(rules): \(result.stdout)\(result.stderr)")
            }

            // Liveness and readiness, by curl and by `berth probe` (the container's HEALTHCHECK).
            #expect(try await Self.get(base + "/healthz") == (200, "ok\n"))
            let ready = try await Self.get(base + "/readyz")
            #expect(ready.status == 200 && ready.body == "ready\n", "\(ready)")
            let probe = try await stack.berth(["probe", base + "/readyz", "--json"])
            #expect(probe.status == 0 && probe.stdout.contains(#""answer" : "ready""#), "\(probe.stdout)")
            let closed = try await stack.berth(["probe", "http://127.0.0.1:1/readyz"])
            #expect(closed.status == 1 && closed.stdout.hasPrefix("no answer"), "\(closed.stdout)")
            #expect(try await Self.get(base + "/nope").status == 404)
            let post = try await Command.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", base + "/"])
            #expect(post.stdout == "405")

            // The page in a real browser, with scripting on and off.
            // A profile of its own, and nothing but the page: no update checks, sync or other
            // background traffic leaves this machine.
            let chromium = [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--no-first-run",
                "--user-data-dir=\(stack.directory.appendingPathComponent("chromium").path)", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-domain-reliability", "--no-pings",
                "--disable-client-side-phishing-detection", "--disable-features=OptimizationHints,MediaRouter,Translate",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ]
            // The DOM as the browser built it (chromium reads it back with script, so scripting is on here).
            let dom = try await Self.chromium(chromium + ["--dump-dom", base + "/"], in: stack.directory)
            try #require(dom.status == 0 && !dom.stdout.isEmpty, "\(dom.stderr)")
            for text in [stack.name, "web", "crash", "Reconcile duration", "Drift repaired per hour", "Rollouts per service", "Last reconciles"] {
                #expect(dom.stdout.contains(text), "\(text) not on the page")
            }
            #expect(dom.stdout.components(separatedBy: "<svg").count - 1 == 3)
            #expect(!dom.stdout.contains(secret) && !dom.stdout.contains("<script"))
            // Nothing on the page runs script (so it works with scripting off): no <script>, no handlers.
            #expect(dom.stdout.range(of: #"\son[a-z]+="#, options: .regularExpression) == nil)
            let shot = stack.directory.appendingPathComponent("status.png").path
            let screenshot = try await Self.chromium(chromium + ["--window-size=1280,1900", "--screenshot=\(shot)", base + "/"], in: stack.directory)
            #expect(screenshot.status == 0, "\(screenshot.stderr)")
            let png = try Data(contentsOf: URL(fileURLWithPath: shot))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000)
            if let keep = ProcessInfo.processInfo.environment["BERTH_KEEP_SCREENSHOT"] { try? png.write(to: URL(fileURLWithPath: keep)) }

            watch.terminate()
            watch.waitUntilExit()
            try handle.close()
            let watched = try String(contentsOf: log, encoding: .utf8)
            try ProcessCrashed.check(watch, command: "berth watch", output: watched)
            #expect(!watched.contains(secret) && !watched.contains(key))
        }
    }
}

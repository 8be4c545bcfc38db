import BerthTesting
import Foundation
import Testing

/// The `berth` binary as a user runs it: exit codes, human and JSON output, help.
@Suite struct CLITests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func berth(_ arguments: String..., state: String? = nil) async throws -> CommandResult {
        var environment = ProcessInfo.processInfo.environment
        if let state { environment["BERTH_STATE"] = state }
        return try await Command.run(BerthBinary.path, arguments, environment: environment)
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test(arguments: [
        "validate", "render", "plan", "apply", "down", "status", "history", "rollback", "import", "engine", "ps", "logs", "exec", "stop", "start",
        "restart", "secrets encrypt", "secrets edit", "secrets keygen", "probe",
    ])
    func everyCommandHasHelp(_ command: String) async throws {
        let result = try await Command.run(BerthBinary.path, command.split(separator: " ").map(String.init) + ["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: berth \(command)"))
        if !["engine", "validate", "exec"].contains(command) { #expect(result.stdout.contains("--json")) }
    }

    /// The verbs by task in `--help`, service names in completions, and a manual page made from
    /// the commands' own help.
    @Test func helpCompletionsAndManual() async throws {
        let help = try await berth("--help")
        for group in ["CONVERGE", "LOOK INSIDE", "OPERATE"] { #expect(help.stdout.contains("\(group) SUBCOMMANDS:"), "\(help.stdout)") }
        let shop = Self.repository.appendingPathComponent("manifests/shop").path
        let completed = try await berth("---completion", "logs", "--", "positional@0", "3", "3", "berth", "logs", shop, "serv")
        #expect(completed.stdout.split(separator: "\n") == ["service-b", "service-d"], "\(completed)")
        for shell in ["bash", "zsh", "fish"] {
            let script = try await berth("--generate-completion-script", shell)
            #expect(script.status == 0 && script.stdout.contains("---completion logs"), "\(shell)")
        }
        let manual = try await Command.run(Self.repository.appendingPathComponent("scripts/man").path, [BerthBinary.path])
        #expect(manual.status == 0, "\(manual.stderr)")
        #expect(manual.stdout.hasPrefix(".TH BERTH 1"))
        for command in ["apply", "logs", "exec", "stop"] { #expect(manual.stdout.contains(".SS berth \(command)")) }
    }

    /// A release whose healthcheck fails: apply exits 1 and says it rolled back; status and
    /// history show it; `rollback` refuses when there is nothing earlier on record.
    @Test func failedRolloutIsRolledBackAndReported() async throws {
        try await TestStack.with("cli") { stack in
            let image = "berth-test/\(stack.name)-web"
            try await stack.buildVersionServer("v1", tag: "\(image):1")
            try await stack.buildVersionServer("v2", healthy: false, tag: "\(image):2")
            defer {
                Task { [engine = stack.engine] in
                    for tag in ["1", "2"] { try? await engine.removeImage("\(image):\(tag)", force: true) }
                }
            }
            let state = stack.statePath
            let directory = stack.directory.path
            try stack.write("stack.yaml", TestStack.versionServerManifests(image: "\(image):1"))
            let none = try await berth("rollback", directory, "web", state: state)
            #expect(none.status != 0)
            #expect(none.stderr.contains("no healthy revision of web"), "\(none.stderr)")
            #expect(try await berth("apply", directory, state: state).status == 0)

            try stack.write("stack.yaml", TestStack.versionServerManifests(image: "\(image):2"))
            let failed = try await berth("apply", directory, state: state)
            #expect(failed.status == 1)
            #expect(failed.stdout.contains("rollout web: sha256:"), "\(failed.stdout)")
            #expect(failed.stdout.contains("failed (unhealthy"))
            #expect(failed.stdout.contains("rolling back"))
            #expect(failed.stdout.contains("⏸ web held at spec"))

            let status = try await berth("status", directory, state: state)
            #expect(status.stdout.contains("rolled back, held at this revision: rollout in reconcile #2 failed"), "\(status.stdout)")
            #expect(status.stdout.contains("in sync"))
            let machine = try json(try await berth("status", directory, "--json", state: state).stdout)
            let web = (machine["services"] as? [[String: Any]])?.first { $0["service"] as? String == "web" }
            #expect((web?["heldBecause"] as? String)?.contains("failed") == true)
            #expect(web?["image"] as? String == "\(image):1")
            let history = try await berth("history", state: state)
            #expect(history.stdout.contains("trigger rollback"))
            #expect(history.stdout.contains("stop-first, failed"))
            #expect(history.stdout.contains("rolled back in #3"), "\(history.stdout)")
            let again = try await berth("apply", directory, state: state)
            #expect(again.status == 0)
            #expect(again.stdout.contains("already converged"), "\(again.stdout)")
        }
    }

    @Test func validateReportsEveryErrorWithItsPosition() async throws {
        try await TestStack.with("cli") { stack in
            try stack.write("a.yaml", "kind: Service\nname: web\nimage: app\nportz: []\nnetworks: [nope]\n")
            try stack.write("b.yaml", "kind: Service\nname: web\nimage: app\n")
            let result = try await berth("validate", stack.directory.path)
            #expect(result.status == 1)
            #expect(result.stderr.contains("a.yaml:4:1: web.portz: unknown key 'portz' (did you mean 'ports'?)"))
            #expect(result.stderr.contains("a.yaml:5:12: web.networks[0]: unknown network 'nope'"))
            #expect(result.stderr.contains("b.yaml:1:1: web: duplicate Service 'web'"))
            #expect(result.stderr.contains("3 errors in the manifests; nothing was changed."))
            let machine = try json(try await berth("validate", stack.directory.path, "--json").stdout)
            #expect(machine["valid"] as? Bool == false)
            #expect((machine["errors"] as? [[String: Any]])?.count == 3)
        }
    }

    @Test func composeProjectsValidateAndImport() async throws {
        let project = Self.repository.appendingPathComponent("manifests/compose-shop")
        let valid = try await berth("validate", "-f", project.appendingPathComponent("docker-compose.yml").path)
        #expect(valid.status == 0, "\(valid.stderr)")
        #expect(valid.stdout.contains("compose-shop: valid"))

        let output = FileManager.default.temporaryDirectory.appendingPathComponent("berth-import-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: output) }
        let imported = try await Command.run(
            BerthBinary.path,
            [
                "import", "-f", project.appendingPathComponent("docker-compose.yml").path, "--variant",
                "external-db=\(project.appendingPathComponent("docker-compose.external-db.yml").path)", "--base-variant", "internal-db",
                "-o", output.path, "--json",
            ])
        #expect(imported.status == 0, "\(imported.stderr)")
        let summary = try json(imported.stdout)
        #expect(summary["files"] as? [String] == ["connections.yaml", "environments.yaml", "services.yaml", "stack.yaml"])
        #expect(summary["verifiedServices"] as? Int == 7)
        let mode = try FileManager.default.attributesOfItem(atPath: output.appendingPathComponent("secrets/DB_PASSWORD").path)[.posixPermissions]
        #expect(mode as? Int == 0o600)
        let check = try await berth("validate", output.path)
        #expect(check.status == 0, "\(check.stderr)")
        // A second import does not overwrite without --force.
        let again = try await berth("import", "-f", project.appendingPathComponent("docker-compose.yml").path, "-o", output.path)
        #expect(again.status == 1)
        #expect(again.stderr.contains("pass --force"))
    }

    @Test func badComposeFilesNameFileLineAndField() async throws {
        try await TestStack.with("cli") { stack in
            try stack.write("compose.yaml", "services:\n  web:\n    image: app\n    gpus: all\n    expose: [\"80\"]\n")
            let result = try await berth("apply", "-f", stack.directory.appendingPathComponent("compose.yaml").path, state: stack.statePath)
            #expect(result.status == 1)
            #expect(
                result.stderr.contains("compose.yaml:4:5: web.gpus: 'gpus' is not supported by Berth; ignoring it would change what runs")
            )
            #expect(result.stderr.contains("nothing was changed"))
            #expect(try await stack.containers().isEmpty)
        }
    }

    @Test func workedExamplesAreValid() async throws {
        for example in ["shop", "gateway"] {
            let result = try await berth("validate", Self.repository.appendingPathComponent("manifests/\(example)").path)
            #expect(result.status == 0, "\(example): \(result.stderr)")
        }
    }

    @Test func renderRedactsSecrets() async throws {
        let shop = Self.repository.appendingPathComponent("manifests/shop").path
        let secret = try String(contentsOfFile: shop + "/secrets/dev-db-password", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        for arguments in [["render", shop], ["render", shop, "--json"], ["render", shop, "--profile", "external-db", "--environment", "dev"]] {
            let result = try await Command.run(BerthBinary.path, arguments)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stdout.contains(secret))
            #expect(result.stdout.contains("DB_PASSWORD"))
        }
        let external = try await berth("render", shop, "--profile", "external-db")
        #expect(!external.stdout.contains("container db_instance"))
        #expect(external.stdout.contains("DB_HOST=berth-external-db"))
    }

    @Test func planApplyStatusHistoryDown() async throws {
        try await TestStack.with("cli") { stack in
            let manifest = """
                kind: Stack
                name: {{stack}}
                ---
                kind: Service
                name: web
                image: \(TestStack.baseImage)
                init: true
                command: [httpd, -f, -p, "80", -h, /www]
                """
            try stack.write("stack.yaml", manifest)
            let state = stack.statePath
            let pending = try await berth("plan", stack.directory.path, "--detailed-exitcode", state: state)
            #expect(pending.status == 2)
            #expect(pending.stdout.contains("create container \(stack.name)-web (missing)"))

            let apply = try await berth("apply", stack.directory.path, "--json", state: state)
            #expect(apply.status == 0, "\(apply.stderr)")
            let report = try json(apply.stdout)
            #expect(report["outcome"] as? String == "changed")
            #expect((report["steps"] as? [[String: Any]])?.allSatisfy { $0["outcome"] as? String == "ok" } == true)

            let inSync = try await berth("plan", stack.directory.path, "--detailed-exitcode", state: state)
            #expect(inSync.status == 0)
            #expect(inSync.stdout.contains("in sync"))

            let again = try await berth("apply", stack.directory.path, state: state)
            #expect(again.stdout.contains("already converged"))
            #expect(again.stdout.contains("0 writes"))

            let status = try json(try await berth("status", stack.directory.path, "--json", state: state).stdout)
            #expect(status["inSync"] as? Bool == true)
            #expect((status["services"] as? [[String: Any]])?.first?["state"] as? String == "running")

            let history = try await berth("history", "--stack", stack.name, state: state)
            #expect(history.stdout.contains("→ converged"))
            #expect(history.stdout.contains("✓ create container \(stack.name)-web (missing)"))

            let down = try await berth("down", stack.directory.path, state: state)
            #expect(down.status == 0)
            #expect(try await stack.containers().isEmpty)
        }
    }

    @Test func applyOfAnInvalidStackExitsNonZero() async throws {
        try await TestStack.with("cli") { stack in
            try stack.write("stack.yaml", "kind: Service\nname: web\nimage: \(TestStack.baseImage)\nenvironment: {X: \"${NOPE}\"}\n")
            let result = try await berth("apply", stack.directory.path, state: stack.statePath)
            #expect(result.status == 1)
            #expect(result.stderr.contains("stack.yaml:4:18: web.environment.X: variable 'NOPE' is not defined"))
            #expect(try await stack.containers().isEmpty)
        }
    }
}

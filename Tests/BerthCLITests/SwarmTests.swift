import BerthTesting
import Foundation
import Testing

private let swarmHost = ProcessInfo.processInfo.environment["BERTH_TEST_SWARM_HOST"]

/// The same manifests onto a real single-node swarm: a second dockerd in swarm mode that
/// `scripts/swarm` starts (never the main test Engine), driven by the release `berth` and
/// checked with the docker CLI, the swarm's other client.
@Suite(.enabled(if: swarmHost != nil, "no swarm: scripts/test starts one (scripts/swarm) and sets BERTH_TEST_SWARM_HOST"))
struct SwarmTests {
    static let host = swarmHost

    static func manifests(greeting: String, webReplicas: Int, worker: Bool = true) -> String {
        """
        kind: Stack
        name: {{stack}}
        default_environment: prod
        ---
        kind: Environment
        name: prod
        target: swarm
        variables: {GREETING: \(greeting)}
        secrets: {TOKEN: {env: SWARM_TEST_TOKEN}}
        \(worker ? "swarm: {deploy: {worker: {mode: global, placement: {constraints: [\"node.role==manager\"], preferences: [{spread: node.labels.zone}]}}}}" : "")
        ---
        kind: Service
        name: web
        image: \(TestStack.baseImage)
        command: [sh, -c, "echo $$GREETING; exec sleep 600"]
        environment: {GREETING: "${GREETING}", TOKEN: "${TOKEN}"}
        replicas: \(webReplicas)
        volumes: ["data:/data"]
        init: true
        healthcheck: {test: [CMD, "true"], interval: 1s, timeout: 20s, retries: 3}
        update: {order: start-first}
        ---
        kind: Volume
        name: data

        """
            + (worker ? "---\nkind: Service\nname: worker\nimage: \(TestStack.baseImage)\ncommand: [sleep, \"600\"]\n" : "")
    }

    /// On the swarm, with the swarm's own docker CLI.
    static func swarm(_ arguments: [String]) async throws -> String {
        let result = try await Command.run("docker", ["-H", host ?? ""] + arguments)
        guard result.status == 0 else { throw CommandFailure(command: "docker " + arguments.joined(separator: " "), result: result) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `name replicas running` per service of the stack, sorted.
    static func services(of stack: String) async throws -> [String] {
        let names = try await swarm(["service", "ls", "--filter", "label=berth.stack=\(stack)", "--format", "{{.Name}}"])
        var rows: [String] = []
        for name in names.split(separator: "\n").map(String.init).sorted() {
            let replicas = try await swarm([
                "service", "inspect", name, "--format", "{{if .Spec.Mode.Global}}global{{else}}{{.Spec.Mode.Replicated.Replicas}}{{end}}",
            ])
            let running = try await swarm(["service", "ps", name, "--filter", "desired-state=running", "--format", "{{.CurrentState}}"])
                .split(separator: "\n").filter { $0.hasPrefix("Running") }.count
            rows.append("\(name) \(replicas) \(running)")
        }
        return rows
    }

    /// The content of `path` in a running task of `service`, read through the swarm's Engine.
    static func file(_ path: String, in service: String) async throws -> String {
        let id = try await swarm(["ps", "-q", "--filter", "label=com.docker.swarm.service.name=\(service)"]).split(separator: "\n").first
        return try await swarm(["exec", String(id ?? ""), "cat", path])
    }

    /// The stack's secrets (or configs) on the swarm, by name.
    static func objects(_ kind: String, of stack: String) async throws -> [String] {
        try await swarm([kind, "ls", "--filter", "label=berth.stack=\(stack)", "--format", "{{.Name}}"]).split(separator: "\n").map(String.init)
            .sorted()
    }

    @Test func appliesPlansRepairsUpdatesAndTakesDown() async throws {
        try await TestStack.with("sw") { stack in
            let secret = "swarm-secret-\(UInt32.random(in: 100_000...999_999))"
            var environment = stack.berthEnvironment
            environment["DOCKER_HOST"] = Self.host
            environment["SWARM_TEST_TOKEN"] = secret
            func berth(_ arguments: [String]) async throws -> CommandResult {
                try await Command.run(BerthBinary.path, arguments, environment: environment)
            }
            defer {
                Task { [name = stack.name] in
                    for id in (try? await Self.swarm(["service", "ls", "-q", "--filter", "label=berth.stack=\(name)"]))?.split(separator: "\n") ?? []
                    {
                        _ = try? await Self.swarm(["service", "rm", String(id)])
                    }
                }
            }
            let directory = stack.directory.path
            let (web, worker) = ("\(stack.name)-web", "\(stack.name)-worker")

            // Cold apply: an overlay network, two services, every task running (web's past its healthcheck).
            try stack.write("stack.yaml", Self.manifests(greeting: "hello", webReplicas: 2))
            let cold = try await berth(["apply", directory])
            #expect(cold.status == 0, "\(cold.stdout)\(cold.stderr)")
            #expect(try await Self.services(of: stack.name) == ["\(web) 2 2", "\(worker) global 1"])
            #expect(
                try await Self.swarm(["network", "inspect", "\(stack.name)_default", "--format", "{{.Driver}} {{.Attachable}}"]) == "overlay true")
            #expect(
                try await Self.swarm(["service", "inspect", worker, "--format", "{{json .Spec.TaskTemplate.Placement}}"])
                    == #"{"Constraints":["node.role==manager"],"Preferences":[{"Spread":{"SpreadDescriptor":"node.labels.zone"}}]}"#)
            // Berth's update policy is the swarm's, both ways: a failed update rolls back start-first too.
            #expect(
                try await Self.swarm(["service", "inspect", web, "--format", "{{.Spec.UpdateConfig.Order}} {{.Spec.RollbackConfig.Order}}"])
                    == "start-first start-first")
            // The secret is a Swarm secret, mounted where TOKEN_FILE says.
            let firstSecrets = try await Self.objects("secret", of: stack.name)
            #expect(firstSecrets.count == 1 && firstSecrets[0].hasPrefix("\(stack.name)-TOKEN-"), "\(firstSecrets)")
            #expect(try await Self.file("/run/secrets/TOKEN", in: web) == secret)
            // A named volume is per node: said, not refused. The node labels the one it made.
            #expect(cold.stderr.contains("named volume 'data' is per node on a swarm: with 2 tasks"), "\(cold.stderr)")
            #expect(try await Self.swarm(["volume", "ls", "-q", "--filter", "label=berth.stack=\(stack.name)"]) == "\(stack.name)_data")

            // The reverse: the same stack said to be for a single Engine is refused where it runs as
            // swarm services, and no container is made beside them.
            try stack.write(
                "stack.yaml", Self.manifests(greeting: "hello", webReplicas: 1).replacingOccurrences(of: "target: swarm", with: "target: engine"))
            let reverse = try await berth(["apply", directory])
            #expect(reverse.status != 0)
            #expect(reverse.stderr.contains("runs on this Engine's swarm (services \(web), \(worker))"), "\(reverse.stderr)")
            #expect(
                try await Self.swarm(["ps", "-aq", "--filter", "label=berth.stack=\(stack.name)", "--filter", "label=berth.service=web"]).split(
                    separator: "\n"
                ).count == 2)
            try stack.write("stack.yaml", Self.manifests(greeting: "hello", webReplicas: 2))
            let inSync = try await berth(["plan", directory, "--detailed-exitcode"])
            #expect(inSync.status == 0, "\(inSync.stdout)")

            // Changed by hand: scaled and removed. The plan says what, and apply puts it back.
            _ = try await Self.swarm(["service", "scale", "-d", "\(web)=4"])
            _ = try await Self.swarm(["service", "rm", worker])
            let drift = try await berth(["plan", directory, "--detailed-exitcode"])
            #expect(drift.status == 2)
            #expect(drift.stdout.contains("update-service service \(web) (2 × \(TestStack.baseImage)) (spec changed: replicas)"), "\(drift.stdout)")
            #expect(drift.stdout.contains("create-service service \(worker) (global × \(TestStack.baseImage)) (missing)"), "\(drift.stdout)")
            let repair = try await berth(["apply", directory])
            #expect(repair.status == 0, "\(repair.stdout)\(repair.stderr)")
            #expect(try await Self.services(of: stack.name) == ["\(web) 2 2", "\(worker) global 1"])

            // A manifest change and a new secret value roll web's tasks over onto a new version of
            // the secret, whose old version goes after; a service left out is removed.
            let newSecret = secret + "-rotated"
            environment["SWARM_TEST_TOKEN"] = newSecret
            try stack.write("stack.yaml", Self.manifests(greeting: "bonjour", webReplicas: 3, worker: false))
            let update = try await berth(["apply", directory, "--json"])
            #expect(update.status == 0, "\(update.stdout)\(update.stderr)")
            #expect(update.stdout.contains("spec changed: environment, labels, replicas, secrets"), "\(update.stdout)")
            #expect(update.stdout.contains("remove-service"))
            #expect(update.stdout.contains("\"remove-secret\""), "\(update.stdout)")
            #expect(try await Self.services(of: stack.name) == ["\(web) 3 3"])
            let env = try await Self.swarm(["service", "inspect", web, "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}"])
            #expect(env.contains("GREETING=bonjour"))
            let secrets = try await Self.objects("secret", of: stack.name)
            #expect(secrets.count == 1 && secrets != firstSecrets, "\(secrets)")
            #expect(try await Self.file("/run/secrets/TOKEN", in: web) == newSecret)

            // The secret reached the swarm as a secret, and never its service spec, the plan, the output or the log.
            #expect(env.contains("TOKEN_FILE=/run/secrets/TOKEN") && !env.contains(secret), "\(env)")
            let history = try await berth(["history", "--json"])
            for text in [cold.stdout, drift.stdout, update.stdout, history.stdout] { #expect(!text.contains(secret)) }
            let log = try Data(contentsOf: URL(fileURLWithPath: stack.statePath))
            #expect(log.range(of: Data(secret.utf8)) == nil)
            #expect(log.range(of: Data(newSecret.utf8)) == nil)
            #expect(history.stdout.contains("\"outcome\" : \"changed\""))

            // down: no service of the stack is left, and its network goes once the tasks are gone.
            let down = try await berth(["down", stack.name, "--volumes"])
            #expect(down.status == 0, "\(down.stdout)\(down.stderr)")
            #expect(try await Self.services(of: stack.name).isEmpty)
            #expect(try await Self.swarm(["volume", "ls", "-q", "--filter", "label=berth.stack=\(stack.name)"]).isEmpty)
            #expect(try await Self.objects("secret", of: stack.name).isEmpty)
            var networks = "?"
            for _ in 0..<120 where !networks.isEmpty {
                networks = try await Self.swarm(["network", "ls", "-q", "--filter", "label=berth.stack=\(stack.name)"])
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(networks.isEmpty)
        }
    }

    /// A Compose project onto the swarm: `deploy:` schedules, and its secret file and config
    /// become Swarm objects mounted with their owner and mode (a bind mount is one node's file).
    @Test func aComposeProjectRunsOnTheSwarmWithItsSecretsAndConfigs() async throws {
        try await TestStack.with("swc") { stack in
            var environment = stack.berthEnvironment
            environment["DOCKER_HOST"] = Self.host
            let password = "compose-pw-\(UInt32.random(in: 100_000...999_999))"
            try stack.write("pw.txt", password)
            try stack.write(
                "compose.yaml",
                """
                name: \(stack.name)
                x-berth: {target: swarm}
                services:
                  app:
                    image: \(TestStack.baseImage)
                    command: [sleep, "600"]
                    deploy: {replicas: 2}
                    secrets: [db_password]
                    configs: [{source: site, target: /etc/site.conf, mode: 0440}]
                secrets:
                  db_password: {file: ./pw.txt}
                configs:
                  site: {content: "listen 8080"}

                """)
            defer {
                Task { [name = stack.name, environment] in
                    _ = try? await Command.run(BerthBinary.path, ["down", name], environment: environment)
                }
            }
            let compose = stack.directory.path + "/compose.yaml"
            let applied = try await Command.run(BerthBinary.path, ["apply", "-f", compose], environment: environment)
            #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
            let app = "\(stack.name)-app"
            #expect(try await Self.services(of: stack.name) == ["\(app) 2 2"])
            #expect(try await Self.file("/run/secrets/db_password", in: app) == password)
            #expect(try await Self.file("/etc/site.conf", in: app) == "listen 8080")
            let id = try await Self.swarm(["ps", "-q", "--filter", "label=com.docker.swarm.service.name=\(app)"]).split(separator: "\n").first
            #expect(try await Self.swarm(["exec", String(id ?? ""), "stat", "-c", "%a", "/etc/site.conf"]) == "440")
            #expect(!applied.stdout.contains(password))
            let inSync = try await Command.run(BerthBinary.path, ["plan", "-f", compose, "--detailed-exitcode"], environment: environment)
            #expect(inSync.status == 0, "\(inSync.stdout)\(inSync.stderr)")
            let down = try await Command.run(BerthBinary.path, ["down", stack.name], environment: environment)
            #expect(down.status == 0, "\(down.stdout)\(down.stderr)")
            #expect(try await Self.objects("secret", of: stack.name).isEmpty)
            #expect(try await Self.objects("config", of: stack.name).isEmpty)
        }
    }

    static let switchManifests = """
        kind: Stack
        name: {{stack}}
        target: swarm
        profiles: [internal-db, external-db]
        default_profiles: [internal-db]
        # The test swarm runs without iptables (beside the main Engine): a virtual IP does not route there.
        swarm: {deploy: {db: {endpoint_mode: dnsrr}}}
        ---
        kind: Service
        name: db
        image: \(TestStack.baseImage)
        profiles: [internal-db]
        command: [httpd, -f, -p, "5432"]
        ---
        kind: Service
        name: app
        image: \(TestStack.baseImage)
        command: [sleep, "600"]
        init: true
        healthcheck: {test: [CMD, sh, -c, "echo | nc -w 1 $$DB_HOST $$DB_PORT"], interval: 1s, timeout: 3s, retries: 2}
        ---
        kind: Connection
        name: database
        consumers: [app]
        targets:
          internal-db: {service: db, port: 5432}
          external-db: {host: 127.0.0.1, port: 5999}    # nothing answers: the switch must fail
        env: {DB_HOST: "${host}", DB_PORT: "${port}"}

        """

    /// Waits until the services of `stack` are `rows` (as `services(of:)` gives them), up to a minute.
    static func waitFor(_ rows: [String], of stack: String) async throws -> [String] {
        var now: [String] = []
        for _ in 0..<120 {
            now = try await services(of: stack)
            if now == rows { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        return now
    }

    /// A profile switch on a swarm is all or nothing, a rollout that fails its gate is held at the
    /// last healthy revision, and `berth rollback` runs an earlier one: the single-Engine
    /// guarantees, with the swarm rolling the tasks.
    @Test func aSwitchIsAllOrNothingAndRollbacksHold() async throws {
        try await TestStack.with("sws") { stack in
            var environment = stack.berthEnvironment
            environment["DOCKER_HOST"] = Self.host
            func berth(_ arguments: [String]) async throws -> CommandResult {
                try await Command.run(BerthBinary.path, arguments, environment: environment)
            }
            defer {
                Task { [name = stack.name, environment] in
                    _ = try? await Command.run(BerthBinary.path, ["down", name], environment: environment)
                }
            }
            let directory = stack.directory.path
            let (app, db) = ("\(stack.name)-app", "\(stack.name)-db")
            try stack.write("stack.yaml", Self.switchManifests)
            let cold = try await berth(["apply", directory])
            #expect(cold.status == 0, "\(cold.stdout)\(cold.stderr)")
            // The consumer rolls out after its connection's target runs.
            let created = cold.stdout.split(separator: "\n").filter { $0.contains("create-service") }
            #expect(created.count == 2 && created[0].contains(db) && created[1].contains(app), "\(cold.stdout)")

            // The switch fails on the consumer's gate: every consumer goes back, the database stays.
            let failed = try await berth(["apply", directory, "--profile", "external-db"])
            #expect(failed.status != 0)
            #expect(failed.stdout.contains("profile switch failed, going back to [internal-db]"), "\(failed.stdout)")
            #expect(!failed.stdout.contains("✓ remove-service"), "\(failed.stdout)")
            #expect(try await Self.waitFor(["\(app) 1 1", "\(db) 1 1"], of: stack.name) == ["\(app) 1 1", "\(db) 1 1"])
            let env = try await Self.swarm(["service", "inspect", app, "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}"])
            #expect(env.contains("DB_HOST=db") && env.contains("DB_PORT=5432"), "\(env)")
            let status = try await berth(["status", directory, "--json"])
            #expect(status.stdout.contains("\"internal-db\""), "\(status.stdout)")

            // A new revision runs; rollback goes back to the previous one and holds it there.
            try stack.write("stack.yaml", Self.switchManifests.replacingOccurrences(of: "[sleep, \"600\"]", with: "[sleep, \"601\"]"))
            let second = try await berth(["apply", directory])
            #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
            let rollback = try await berth(["rollback", directory, "app"])
            #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
            #expect(
                try await Self.swarm(["service", "inspect", app, "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Args}}"]) == #"["sleep","600"]"#
            )
            let held = try await berth(["plan", directory, "--detailed-exitcode"])
            #expect(held.status == 0 && held.stdout.contains("app held at spec"), "\(held.stdout)")

            // A rollout that fails its gate: the swarm rolls the tasks back, and Berth holds the
            // service at its last healthy revision instead of trying again on the next round.
            try stack.write("stack.yaml", Self.switchManifests.replacingOccurrences(of: "$$DB_PORT\"]", with: "5999\"]"))
            let broken = try await berth(["apply", directory])
            #expect(broken.status != 0)
            #expect(broken.stdout.contains("app held at spec"), "\(broken.stdout)")
            let after = try await berth(["plan", directory])
            #expect(!after.stdout.contains("update-service"), "\(after.stdout)")
            #expect(try await Self.waitFor(["\(app) 1 1", "\(db) 1 1"], of: stack.name) == ["\(app) 1 1", "\(db) 1 1"])
        }
    }

    /// `watch` follows the swarm's service events: a service removed or scaled by hand is put
    /// back at once, not at the next resync (an hour away here).
    @Test func watchRepairsAServiceChangedByHandAtOnce() async throws {
        try await TestStack.with("sww") { stack in
            var environment = stack.berthEnvironment
            environment["DOCKER_HOST"] = Self.host
            try stack.write(
                "stack.yaml",
                "kind: Stack\nname: {{stack}}\ntarget: swarm\n---\nkind: Service\nname: web\nimage: \(TestStack.baseImage)\ncommand: [sleep, \"600\"]\ninit: true\n"
            )
            let directory = stack.directory.path
            let applied = try await Command.run(BerthBinary.path, ["apply", directory], environment: environment)
            #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
            let watch = Process()
            watch.executableURL = URL(fileURLWithPath: BerthBinary.path)
            watch.arguments = ["watch", directory, "--resync", "3600"]
            watch.environment = environment
            watch.standardOutput = FileHandle.nullDevice
            watch.standardError = FileHandle.nullDevice
            try watch.run()
            defer {
                if watch.isRunning { watch.terminate() }
                Task { [name = stack.name, environment] in
                    _ = try? await Command.run(BerthBinary.path, ["down", name], environment: environment)
                }
            }
            let web = "\(stack.name)-web"
            try await Task.sleep(for: .seconds(3))  // the startup round, then the service stream
            for change in [["service", "rm", web], ["service", "scale", "-d", "\(web)=3"]] {
                _ = try await Self.swarm(change)
                #expect(try await Self.waitFor(["\(web) 1 1"], of: stack.name) == ["\(web) 1 1"], "after docker \(change.joined(separator: " "))")
            }
            // A scale that lands while watch still waits for the service it has just made again.
            _ = try await Self.swarm(["service", "rm", web])
            for _ in 0..<200 where try await Self.swarm(["service", "ls", "-q", "--filter", "name=\(web)"]).isEmpty {
                try await Task.sleep(for: .milliseconds(20))
            }
            _ = try await Self.swarm(["service", "scale", "-d", "\(web)=3"])
            #expect(try await Self.waitFor(["\(web) 1 1"], of: stack.name) == ["\(web) 1 1"], "after a scale during the repair")
            watch.terminate()
            let history = try await Command.run(BerthBinary.path, ["history", "--json"], environment: environment)
            #expect(history.stdout.contains("service remove \(web)") && history.stdout.contains("service update \(web)"), "\(history.stdout)")
        }
    }

    /// A stack for a swarm, pointed at an Engine that is not a manager: a clear error, and
    /// nothing is made there.
    @Test func aSwarmStackRefusesAnEngineThatIsNotAManager() async throws {
        try await TestStack.with("swn") { stack in
            try stack.write("stack.yaml", Self.manifests(greeting: "hello", webReplicas: 2))
            var environment = stack.berthEnvironment
            environment["SWARM_TEST_TOKEN"] = "x"
            let result = try await Command.run(BerthBinary.path, ["apply", stack.directory.path], environment: environment)
            #expect(result.status != 0)
            #expect(result.stderr.contains("this Engine is not part of a swarm"), "\(result.stderr)")
            #expect(try await stack.containers().isEmpty)
            #expect(try await stack.engine.listNetworks(labels: ["berth.stack=\(stack.name)"]).isEmpty)
        }
    }
}

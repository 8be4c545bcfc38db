import BerthModel
import Foundation
import Testing

/// What real projects use and where Berth used to differ silently: `include`, import's
/// connections, Windows paths, `secrets`/`configs`, runtime options, the port and mount forms.
@Suite struct ComposeWildTests {
    static func load(_ files: [String: String]) throws(ManifestErrors) -> ComposeProject { try ComposeTests.load(files) }
    static func loadError(_ files: [String: String]) -> String { ComposeTests.loadError(files) }

    // MARK: include

    @Test func includeConflictsAndCyclesAreErrorsAtTheInclude() {
        let conflict = Self.loadError([
            "compose.yaml": "include:\n  - db.yaml\nservices:\n  db:\n    image: a\n",
            "db.yaml": "services:\n  db:\n    image: b\n",
        ])
        #expect(conflict.contains("/p/compose.yaml:2:5"), "\(conflict)")
        #expect(conflict.contains("services 'db' is defined both by the included file"), "\(conflict)")

        let cycle = Self.loadError([
            "compose.yaml": "include: [a.yaml]\nservices:\n  web:\n    image: a\n",
            "a.yaml": "include: [compose.yaml]\nservices:\n  other:\n    image: b\n",
        ])
        #expect(cycle.contains("include cycle"), "\(cycle)")

        let missing = Self.loadError(["compose.yaml": "include: [nothere.yaml]\nservices:\n  web:\n    image: a\n"])
        #expect(missing.contains("nothere.yaml"), "\(missing)")
    }

    @Test func includedServicesKeepTheirOwnVariablesAndPaths() throws {
        let project = try Self.load([
            "compose.yaml": "include:\n  - sub/compose.yaml\nservices:\n  web:\n    image: web:${TAG:-1}\n",
            "sub/compose.yaml": "services:\n  db:\n    image: db:${TAG}\n    volumes: [\"./init:/init\"]\n    env_file: db.env\n",
            "sub/.env": "TAG=15\n",
            "sub/db.env": "PASSWORD=x\n",
        ])
        let state = try ComposeTests.resolve(project)
        #expect(state.container("web")?.image == "web:1")  // the included .env does not leak out
        let db = try #require(state.container("db"))
        #expect(db.image == "db:15")
        #expect(db.mounts.map(\.description) == ["bind:/p/sub/init:/init"])
        #expect(db.variable("PASSWORD")?.value == "x")
    }

    // MARK: Paths

    @Test(arguments: [
        "C:\\\\data:/data", "C:/data:/data", "\\\\\\\\server\\\\share:/data", ".\\\\data:/data",
    ])
    func windowsPathsAreRefusedWithTheirLine(_ mount: String) throws {
        let project = try Self.load(["compose.yaml": "services:\n  web:\n    image: a\n    volumes:\n      - \"\(mount)\"\n"])
        do {
            _ = try ComposeTests.resolve(project)
            Issue.record("\(mount) was accepted")
        } catch {
            #expect("\(error)".contains("compose.yaml:5"), "\(error)")
            #expect("\(error)".contains("Windows path"), "\(error)")
        }
    }

    @Test func extendedFilesPathsAreTheirOwn() throws {
        let project = try Self.load([
            "compose.yaml": "services:\n  web:\n    extends: {file: lib/base.yaml, service: base}\n",
            "lib/base.yaml": "services:\n  base:\n    image: a\n    build: .\n    volumes: [\"./conf:/conf\"]\n    env_file: [base.env]\n",
            "lib/base.env": "LEVEL=debug\n",
        ])
        let web = try #require(try ComposeTests.resolve(project).container("web"))
        #expect(web.build?.context == "/p/lib")
        #expect(web.mounts.map(\.description) == ["bind:/p/lib/conf:/conf"])
        #expect(web.variable("LEVEL")?.value == "debug")
    }

    @Test func shortBindsCreateTheirHostDirectoryAndLongOnesDoNot() throws {
        let project = try Self.load([
            "compose.yaml": """
            services:
              web:
                image: a
                volumes:
                  - ./data:/data:cached
                  - {type: bind, source: ./conf, target: /conf}
                  - logs:/logs:delegated
            volumes:
              logs: {}
            """
        ])
        let mounts = try #require(try ComposeTests.resolve(project).container("web")).mounts
        #expect(mounts.map { "\($0.target) \($0.createHostPath ?? false)" } == ["/conf false", "/data true", "/logs false"])
    }

    // MARK: Ports

    @Test(arguments: [
        ("127.0.0.1::80", "127.0.0.1::80/tcp"), ("[::1]:8080:80", "::1:8080:80/tcp"), ("[::1]::53/udp", "::1::53/udp"),
        ("8080:80", ":8080:80/tcp"),
    ])
    func portForms(_ written: String, _ expected: String) throws {
        let project = try Self.load(["compose.yaml": "services:\n  web:\n    image: a\n    ports: [\"\(written)\"]\n"])
        let port = try #require(try ComposeTests.resolve(project).container("web")?.ports.first)
        #expect("\(port.hostIP):\(port.published.map(String.init) ?? ""):\(port.target)/\(port.protocol)" == expected)
    }

    // MARK: secrets and configs

    @Test func fileSecretsAndConfigsAreReadOnlyBinds() throws {
        let project = try Self.load([
            "compose.yaml": """
            services:
              db:
                image: a
                secrets: [db-password, {source: api-key, target: key}]
                configs: [{source: app, target: /etc/app.conf}, app]
            secrets:
              db-password: {file: ./password.txt}
              api-key: {file: /etc/keys/api}
              unused: {file: ./nothing}
            configs:
              app: {file: app.conf}
            """
        ])
        let db = try #require(try ComposeTests.resolve(project).container("db"))
        #expect(
            db.mounts.map(\.description) == [
                "bind:/p/app.conf:/app:ro", "bind:/p/app.conf:/etc/app.conf:ro", "bind:/p/password.txt:/run/secrets/db-password:ro",
                "bind:/etc/keys/api:/run/secrets/key:ro",
            ])
        #expect(project.warnings.contains { $0.description.contains("secret 'unused' is defined but no service uses it") })
    }

    @Test func environmentAndContentSourcesAreWrittenIntoTheContainer() throws {
        let files = [
            "compose.yaml": """
            services:
              web:
                image: a
                secrets: [{source: token, uid: "1000", gid: "1000", mode: 0400}]
                configs: [{source: site, target: /etc/site.conf}]
            secrets:
              token: {environment: TOKEN}
            configs:
              site: {content: "listen ${PORT:-80}"}
            """,
            ".env": "TOKEN=s3cret-value\n",
        ]
        let state = try ComposeTests.resolve(try Self.load(files))
        let web = try #require(state.container("web"))
        #expect(
            web.files == [
                FileSpec(target: "/run/secrets/token", content: "s3cret-value", isSecret: true, mode: 0o400, uid: 1000, gid: 1000),
                FileSpec(target: "/etc/site.conf", content: "listen 80", isSecret: false),
            ])
        // The secret is nowhere in what is shown or stored; a changed value recreates, named by its path.
        #expect(!"\(state.redacted.containers)".contains("s3cret-value"))
        #expect(!(web.files ?? []).map(\.description).joined().contains("s3cret-value"))
        #expect(state.redactingSecrets(in: "got s3cret-value") == "got <secret>")
        var changed = files
        changed[".env"] = "TOKEN=other-value\n"
        let next = try #require(try ComposeTests.resolve(try Self.load(changed)).container("web"))
        #expect(next.specHash != web.specHash)
        #expect(SpecHash.differences(from: web.redacted, to: next) == ["file /run/secrets/token"])
    }

    @Test(arguments: [
        ("secrets:\n  token: {environment: TOKEN}\n", "variable 'TOKEN' is not set"),
        ("secrets:\n  token: {content: abc}\n", "secrets.token.content"),
        ("secrets:\n  token: {external: true}\n", "secrets.token.external"),
        ("secrets:\n  token: {file: t}\n", "undefined secret 'nope'"),
    ])
    func secretsWithoutAUsableSourceAreRefusedAtTheirLine(_ definition: String, _ expected: String) {
        let uses = expected.contains("undefined") ? "nope" : "token"
        let message = Self.loadError(["compose.yaml": "services:\n  web:\n    image: a\n    secrets: [\(uses)]\n" + definition])
        #expect(message.contains(expected), "\(message)")
        #expect(message.contains("/p/compose.yaml:"), "\(message)")
    }

    // MARK: Runtime options

    @Test func runtimeOptionsAndDeployAsComposeAppliesThem() throws {
        let project = try Self.load([
            "compose.yaml": """
            services:
              web:
                image: a
                stop_signal: SIGINT
                tty: true
                stdin_open: true
                cap_add: [NET_ADMIN]
                cap_drop: [ALL]
                sysctls: {net.core.somaxconn: 1024}
                ipc: shareable
                restart: always
                deploy:
                  replicas: 1
                  resources:
                    limits: {cpus: "0.5", memory: 64m, pids: 100}
                    reservations: {memory: 32M}
                  restart_policy: {condition: on-failure, max_attempts: 3, delay: 5s}
                  placement: {constraints: [node.role==manager]}
            """
        ])
        let web = try #require(try ComposeTests.resolve(project).container("web"))
        let runtime = try #require(web.runtime)
        #expect(runtime.stopSignal == "SIGINT" && runtime.tty && runtime.stdinOpen)
        #expect(runtime.capAdd == ["NET_ADMIN"] && runtime.capDrop == ["ALL"])
        #expect(runtime.sysctls == ["net.core.somaxconn": "1024"] && runtime.ipc == "shareable")
        #expect(runtime.nanoCPUs == 500_000_000 && runtime.memoryBytes == 64 << 20 && runtime.pidsLimit == 100)
        #expect(runtime.memoryReservationBytes == 32 << 20)
        #expect(web.restart == .onFailure(maxRetries: 3))  // deploy.restart_policy wins, as in Compose
        #expect(project.warnings.contains { $0.description.contains("deploy.placement") })

        let plain = try #require(try ComposeTests.resolve(try Self.load(["compose.yaml": "services:\n  web:\n    image: a\n"])).container("web"))
        #expect(plain.runtime == nil)  // and so its spec hash is what it always was

        let replicas = Self.loadError(["compose.yaml": "services:\n  web:\n    image: a\n    deploy: {replicas: 3}\n"])
        #expect(replicas.contains("compose.yaml:4") && replicas.contains("one container per service"), "\(replicas)")
    }

    @Test func aChangedRuntimeOptionRecreatesWithItsName() throws {
        let one = try #require(
            try ComposeTests.resolve(try Self.load(["compose.yaml": "services:\n  web:\n    image: a\n    cap_add: [NET_ADMIN]\n"])).container("web"))
        let two = try #require(
            try ComposeTests.resolve(try Self.load(["compose.yaml": "services:\n  web:\n    image: a\n    cap_add: [SYS_TIME]\n"])).container("web"))
        #expect(one.specHash != two.specHash)
        #expect(SpecHash.differences(from: one, to: two) == ["cap_add"])
    }

    // MARK: Shared namespaces and volumes

    @Test func networkModeAndVolumesFromNameTheOtherServicesContainer() throws {
        let project = try Self.load([
            "compose.yaml": """
            services:
              web: {image: a, container_name: front}
              probe: {image: a, network_mode: "service:web", volumes_from: ["web:ro", "container:outside"]}
              host: {image: a, network_mode: host}
            volumes:
              nfs: {driver_opts: {type: none, o: bind, device: ./shared}}
            """
        ])
        let state = try ComposeTests.resolve(project)
        let probe = try #require(state.container("probe"))
        #expect(probe.runtime?.networkMode == "container:front")
        #expect(probe.runtime?.volumesFrom == ["front:ro", "outside"])
        #expect(probe.networks.isEmpty)
        #expect(probe.dependsOn.map(\.service) == ["web"])
        #expect(try #require(state.container("host")).runtime?.networkMode == "host")
        #expect(state.networks.map(\.name) == ["default"], "only web joins the default network")
        #expect(project.stack.volumes.first?.driverOptions["device"] == "/p/shared")
    }

    @Test(arguments: [
        ("network_mode: service:nothere", "unknown service 'nothere'"),
        ("network_mode: bridged", "is not a network mode"),
        ("network_mode: host\n    networks: [default]", "cannot both be set"),
        ("volumes_from: [\"a:b:c\"]", "is not SERVICE[:ro|:rw]"),
        ("extra_hosts: [\"nohost\"]", "'nohost' is not HOST:IP or HOST=IP"),
        ("devices: [\"dev/fuse\"]", "is not a device such as /dev/fuse"),
        ("ulimits: {nofile: {soft: 10}}", "needs both 'soft' and 'hard'"),
        ("pid: service:db", "'pid: service:db' is not supported"),
        ("links: [\"a:b:c\"]", "is not SERVICE or SERVICE:ALIAS"),
        ("logging: {drivr: x}", "unknown key 'drivr'"),
        ("oom_score_adj: 5000", "web.oom_score_adj"),
    ])
    func badEngineSettingsAreRefusedAtTheirLine(_ text: String, _ message: String) {
        let error = Self.loadOrResolveError(["compose.yaml": "services:\n  web:\n    image: a\n    \(text)\n"])
        #expect(error.contains("compose.yaml:4:"), "\(error)")
        #expect(error.contains(message), "\(error)")
    }

    static func loadOrResolveError(_ files: [String: String]) -> String {
        do {
            _ = try ComposeTests.resolve(try load(files))
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    // MARK: Errors

    @Test func errorsAreListedInFileOrder() {
        var lines = ["services:", "  web:", "    image: a"]
        for index in 0..<12 { lines.append("    bogus\(index): 1") }
        let message = Self.loadError(["compose.yaml": lines.joined(separator: "\n") + "\n"])
        let numbers = message.split(separator: "\n").compactMap { line in
            line.split(separator: ":").dropFirst().first.flatMap { Int($0) }
        }
        #expect(numbers == Array(4...15), "\(message)")
    }

    // MARK: import

    @Test func importTakesConnectionsFromWhatTheProjectStates() throws {
        let project = try Self.load([
            "compose.yaml": """
            services:
              wordpress:
                image: wordpress
                environment:
                  WORDPRESS_DB_HOST: db
                  WORDPRESS_DB_USER: wordpress
                depends_on: [db]
              db:
                image: mysql
                environment:
                  MYSQL_USER: wordpress
                  MYSQL_DATABASE: wordpress
            """
        ])
        let variants = [ComposeImport.Variant(name: "default", project: project)]
        let result = try ComposeImport.convert(variants, outputDirectory: "/p/native")
        #expect(result.stack.connections.map(\.name) == ["db"])
        #expect(result.stack.connections.first?.consumers == ["wordpress"])
        let (_, problems) = ComposeImport.check(result, variants: variants, environment: [:])
        #expect(problems.isEmpty, "\(problems)")
    }
}

import BerthModel
import Foundation
import Testing

/// Compose projects read into the model: interpolation, env files, merging, extends, what is
/// refused and what is only warned about.
@Suite struct ComposeTests {
    /// Loads in-memory files of a project in `/p`; the first name in `order` is the main file.
    static func load(
        _ files: [String: String], order: [String] = ["compose.yaml"], env: [String: String] = [:], projectName: String? = nil,
        envFiles: [String] = []
    ) throws(ManifestErrors) -> ComposeProject {
        let options = ComposeOptions(files: order.map { "/p/\($0)" }, envFiles: envFiles.map { "/p/\($0)" }, projectName: projectName)
        return try ComposeLoader.load(options, environment: env) { path in
            path.hasPrefix("/p/") ? files[String(path.dropFirst(3))] : nil
        }
    }

    static func resolve(_ project: ComposeProject, env: [String: String] = [:], profiles: [String]? = nil) throws -> DesiredState {
        try Resolver.resolve(project.stack, ResolutionRequest(profiles: profiles, processEnvironment: env))
    }

    /// The message of the single error a load reports.
    static func loadError(_ files: [String: String], order: [String] = ["compose.yaml"], env: [String: String] = [:]) -> String {
        do {
            _ = try load(files, order: order, env: env)
            return "no error"
        } catch {
            return error.description
        }
    }

    // MARK: The worked example (the seed's project)

    static func example(_ file: String = "docker-compose.yml", env: [String: String] = [:]) throws -> (ComposeProject, DesiredState) {
        let directory = Fixtures.repository.appendingPathComponent("manifests/compose-shop")
        let project = try ComposeLoader.load(ComposeOptions(files: [directory.appendingPathComponent(file).path]), environment: env) {
            try? String(contentsOfFile: $0, encoding: .utf8)
        }
        return (project, try resolve(project, env: env))
    }

    @Test func seedProjectResolves() throws {
        let (project, state) = try Self.example()
        #expect(project.stack.name == "compose-shop")
        #expect(project.warnings.isEmpty, "\(project.warnings)")
        #expect(state.containers.map(\.service) == ["SERVICE_B", "SERVICE_D", "database", "frontend"])

        let database = try #require(state.container("database"))
        #expect(database.name == "db_instance")
        #expect(database.image == "berth-demo/postgres:15")
        #expect(database.variable("POSTGRES_PASSWORD")?.value == "0000")  // `${DB_PASSWORD}` inside .env.db
        #expect(database.variable("POSTGRES_PASSWORD")?.isSecret == true)
        #expect(database.variable("DB_NAME")?.value == "sf1_db")
        #expect(database.variable("DB_KIND")?.value == "postgresql")
        #expect(database.mounts.map(\.description) == ["volume:compose-shop_sf1_db_storage:/var/lib/postgresql/data"])
        #expect(database.ports.map(\.description) == ["127.0.0.1:25432:5432/tcp"])
        #expect(database.restart == .unlessStopped)

        let serviceB = try #require(state.container("SERVICE_B"))
        #expect(serviceB.image == "berth-demo/compose-shop-app:1.0")
        #expect(serviceB.build?.context.hasSuffix("manifests/compose-shop/app") == true)
        #expect(serviceB.variable("DB_HOST")?.value == "db_instance")
        #expect(serviceB.variable("TZ")?.value == "Asia/Seoul")
        #expect(serviceB.dependsOn.map { "\($0.service) \($0.condition)" } == ["database healthy"])
        #expect(serviceB.healthcheck?.test == ["CMD-SHELL", "timeout 2 wget -q -O /dev/null http://127.0.0.1:$PORT/"])
        #expect(serviceB.networks.map(\.network) == ["compose-shop_default"])
        #expect(serviceB.networks.first?.aliases == ["SERVICE_B"])

        let serviceD = try #require(state.container("SERVICE_D"))
        #expect(serviceD.healthcheck == serviceB.healthcheck)  // a YAML anchor
        #expect(serviceD.ports.count == 2)

        let frontend = try #require(state.container("frontend"))
        #expect(frontend.name == "compose-shop-frontend-1")  // Compose's own naming
        #expect(frontend.command == ["httpd", "-f", "-p", "8000", "-h", "/"])
        #expect(state.networks.map(\.engineName) == ["compose-shop_default"])
        #expect(state.volumes.map(\.engineName) == ["compose-shop_sf1_db_storage"])
    }

    @Test func theShellOverridesDotEnvAndVariantDropsTheDatabase() throws {
        let (_, state) = try Self.example("docker-compose.external-db.yml", env: ["DB_HOST": "db.example.internal"])
        #expect(state.containers.map(\.service) == ["SERVICE_B", "SERVICE_D", "frontend"])
        #expect(state.container("SERVICE_B")?.variable("DB_HOST")?.value == "db.example.internal")
        #expect(state.volumes.isEmpty)
        let (_, base) = try Self.example()
        #expect(state.container("frontend")?.specHash == base.container("frontend")?.specHash)
        #expect(state.container("SERVICE_B")?.specHash != base.container("SERVICE_B")?.specHash)
    }

    // MARK: Interpolation, every form

    static let scope = ["SET": "value", "EMPTY": ""]

    @Test(arguments: [
        ("$SET", "value"), ("${SET}", "value"), ("${UNSET}", ""), ("$UNSET", ""),
        ("${SET:-d}", "value"), ("${EMPTY:-d}", "d"), ("${UNSET:-d}", "d"),
        ("${SET-d}", "value"), ("${EMPTY-d}", ""), ("${UNSET-d}", "d"),
        ("${SET:?must be set}", "value"), ("${EMPTY?must be set}", ""),
        ("${SET:+x}", "x"), ("${EMPTY:+x}", ""), ("${UNSET:+x}", ""), ("${EMPTY+x}", "x"),
        ("$$SET", "$SET"), ("a$$b", "a$b"), ("${UNSET:-${SET}}", "value"),
    ])
    func interpolates(_ expression: String, _ expected: String) throws {
        let project = try Self.load(
            ["compose.yaml": "services:\n  app:\n    image: busybox\n    environment:\n      V: \"\(expression)\"\n"], env: Self.scope)
        let state = try Self.resolve(project, env: Self.scope)
        #expect(state.container("app")?.variable("V")?.value == expected)
    }

    @Test(arguments: [
        ("${UNSET:?the database host is required}", "compose.yaml:5:10: app.environment.V: UNSET: the database host is required"),
        ("${EMPTY:?cannot be empty}", "compose.yaml:5:10: app.environment.V: EMPTY: cannot be empty"),
        ("${UNSET?needed}", "compose.yaml:5:10: app.environment.V: UNSET: needed"),
        ("${SET", "compose.yaml:5:10: app.environment.V: unterminated '${SET'"),
    ])
    func interpolationErrorsNameFileAndLine(_ expression: String, _ expected: String) {
        let message = Self.loadError(
            ["compose.yaml": "services:\n  app:\n    image: busybox\n    environment:\n      V: \"\(expression)\"\n"], env: Self.scope)
        #expect(message.hasPrefix("/p/" + expected), "\(message)")
    }

    @Test func unsetVariablesWarnOnceAndBecomeEmpty() throws {
        let project = try Self.load(["compose.yaml": "services:\n  app:\n    image: busybox\n    command: [\"$MISSING\", \"${MISSING}\"]\n"])
        #expect(project.warnings.map(\.description) == ["/p/compose.yaml:4:15: app.command[0]: variable 'MISSING' is not set; using an empty string"])
        #expect(try Self.resolve(project).container("app")?.command == ["", ""])
    }

    @Test func dotEnvAndEnvFilesFollowComposePrecedence() throws {
        let files = [
            "compose.yaml": """
            services:
              app:
                image: busybox:${TAG}
                env_file: [a.env, b.env]
                environment:
                  FROM_ENVIRONMENT: yes
                  B: from-environment
                  PASSTHROUGH:
            """,
            ".env": "TAG=1.36\nPASSTHROUGH=from-dotenv\n",
            "a.env": "A=1\nB=from-a\nQUOTED='$$literal ${A}'\n",
            "b.env": "B=from-b\nC=${A}-and-${TAG}\n",
        ]
        let state = try Self.resolve(try Self.load(files))
        let app = try #require(state.container("app"))
        #expect(app.image == "busybox:1.36")
        #expect(app.variable("A")?.value == "1")
        #expect(app.variable("B")?.value == "from-environment")
        #expect(app.variable("C")?.value == "1-and-1.36")
        #expect(app.variable("QUOTED")?.value == "$$literal ${A}")
        #expect(app.variable("PASSTHROUGH")?.value == "from-dotenv")
        #expect(app.variable("FROM_ENVIRONMENT")?.value == "yes")

        let shell = ["TAG": "1.37", "PASSTHROUGH": "from-shell"]
        let fromShell = try Self.resolve(try Self.load(files, env: shell), env: shell).container("app")
        #expect(fromShell?.image == "busybox:1.37")
        #expect(fromShell?.variable("PASSTHROUGH")?.value == "from-shell")
    }

    // MARK: Merging -f files

    @Test func filesMergeAsTheSpecificationSays() throws {
        let files = [
            "compose.yaml": """
            services:
              web:
                image: web:1
                command: [serve, --port, "80"]
                environment: [A=1, B=2]
                labels: {team: shop}
                ports: ["8080:80"]
                volumes: ["data:/data", "./conf:/etc/web:ro"]
                depends_on: [db]
                healthcheck: {test: [CMD, check], interval: 5s, retries: 3}
              db:
                image: db:1
              cache:
                image: cache:1
              tools:
                image: tools:1
            volumes:
              data:
            """,
            "override.yaml": """
            services:
              web:
                image: web:2
                command: [serve]
                environment: {B: "3", C: "4"}
                ports: ["8080:80", "9090:90"]
                volumes: ["other:/data"]
                depends_on: {cache: {condition: service_started}}
                healthcheck: {interval: 1s}
                labels: !reset {}
              tools: !reset
            volumes:
              other:
            """,
        ]
        let project = try Self.load(files, order: ["compose.yaml", "override.yaml"])
        #expect(project.stack.services.map(\.name).sorted() == ["cache", "db", "web"])
        let state = try Self.resolve(project)
        let web = try #require(state.container("web"))
        #expect(web.image == "web:2")
        #expect(web.command == ["serve"])
        #expect(web.environment.map(\.description) == ["A=1", "B=3", "C=4"])
        #expect(web.labels.isEmpty)
        #expect(web.ports.map(\.description) == ["8080:80/tcp", "9090:90/tcp"])
        #expect(web.mounts.map(\.description) == ["volume:p_other:/data", "bind:/p/conf:/etc/web:ro"])
        #expect(web.dependsOn.map(\.service) == ["cache", "db"])
        #expect(web.healthcheck?.intervalMilliseconds == 1000)
        #expect(web.healthcheck?.retries == 3)
        #expect(web.healthcheck?.test == ["CMD", "check"])
    }

    @Test func errorsInAnOverrideFileNameThatFile() {
        let message = Self.loadError(
            ["compose.yaml": "services:\n  web:\n    image: web\n", "override.yaml": "services:\n  web:\n    restart: sometimes\n"],
            order: ["compose.yaml", "override.yaml"])
        #expect(message.hasPrefix("/p/override.yaml:3:14: web.restart: unknown restart policy 'sometimes'"), "\(message)")
    }

    @Test func extendsWithinAndAcrossFiles() throws {
        let files = [
            "compose.yaml": """
            services:
              base:
                image: app:1
                environment: {LEVEL: info, SHARED: "yes"}
                restart: always
              worker:
                extends: base
                command: [work]
                environment: {LEVEL: debug}
              remote:
                extends: {file: common.yaml, service: template}
            """,
            "common.yaml": "services:\n  template:\n    image: tmpl:2\n    init: true\n",
        ]
        let state = try Self.resolve(try Self.load(files))
        let worker = try #require(state.container("worker"))
        #expect(worker.image == "app:1")
        #expect(worker.restart == .always)
        #expect(worker.command == ["work"])
        #expect(worker.environment.map(\.description) == ["LEVEL=debug", "SHARED=yes"])
        #expect(state.container("remote")?.image == "tmpl:2")
        #expect(state.container("remote")?.initProcess == true)

        let cycle = Self.loadError(["compose.yaml": "services:\n  a:\n    extends: b\n  b:\n    extends: a\n"])
        #expect(cycle.contains("extends cycle"), "\(cycle)")
    }

    // MARK: What Berth refuses, what it only warns about

    @Test func unsupportedKeysAreErrorsWithTheirLine() {
        let message = Self.loadError(["compose.yaml": "services:\n  app:\n    image: busybox\n    gpus: all\n"])
        #expect(message.hasPrefix("/p/compose.yaml:4:5: app.gpus: 'gpus' is not supported by Berth; ignoring it would change what runs"))
        let typo = Self.loadError(["compose.yaml": "services:\n  app:\n    imgae: busybox\n"])
        #expect(typo.contains("/p/compose.yaml:3:5: app.imgae: unknown key 'imgae' (did you mean 'image'?)"), "\(typo)")
    }

    @Test func harmlessKeysAreWarnings() throws {
        let project = try Self.load([
            "compose.yaml": "version: \"3.8\"\nservices:\n  app:\n    image: busybox\n    expose: [\"80\"]\n    x-note: mine\nx-common: &c {}\n"
        ])
        #expect(project.warnings.map(\.description).count == 1)
        #expect(project.warnings.first?.description.hasPrefix("/p/compose.yaml:5:5: app.expose:") == true)
    }

    @Test func projectNameFollowsCompose() throws {
        let file = ["compose.yaml": "name: From-File\nservices:\n  app:\n    image: busybox\n"]
        #expect(try Self.load(file).stack.name == "from-file")
        #expect(try Self.load(file, env: ["COMPOSE_PROJECT_NAME": "from_env"]).stack.name == "from_env")
        #expect(try Self.load(file, env: ["COMPOSE_PROJECT_NAME": "from_env"], projectName: "Flag").stack.name == "flag")
        #expect(try Self.load(["compose.yaml": "services:\n  app:\n    image: busybox\n"]).stack.name == "p")
    }

    @Test func profilesSelectServices() throws {
        let files = ["compose.yaml": "services:\n  app:\n    image: busybox\n  debug:\n    image: busybox\n    profiles: [debug]\n"]
        #expect(try Self.resolve(try Self.load(files)).containers.map(\.service) == ["app"])
        #expect(try Self.resolve(try Self.load(files), profiles: ["debug"]).containers.map(\.service) == ["app", "debug"])
        let fromEnv = try Self.load(files, env: ["COMPOSE_PROFILES": "debug"])
        #expect(try Self.resolve(fromEnv).containers.map(\.service) == ["app", "debug"])
    }

    @Test func optionalDependenciesOnInactiveServicesAreSkipped() throws {
        let files = [
            "compose.yaml": """
            services:
              app:
                image: busybox
                depends_on:
                  metrics: {condition: service_started, required: false}
              metrics:
                image: busybox
                profiles: [observability]
            """
        ]
        #expect(try Self.resolve(try Self.load(files)).container("app")?.dependsOn == [])
    }

    // MARK: Import round trips: Compose → native manifests → the same container specs

    @Test func seedImportsWithConnectionEnvironmentAndProfiles() throws {
        let directory = Fixtures.repository.appendingPathComponent("manifests/compose-shop").path
        let load = { (file: String) throws -> ComposeProject in
            try ComposeLoader.load(ComposeOptions(files: [directory + "/" + file]), environment: [:]) {
                try? String(contentsOfFile: $0, encoding: .utf8)
            }
        }
        let variants = [
            ComposeImport.Variant(name: "internal-db", project: try load("docker-compose.yml")),
            ComposeImport.Variant(name: "external-db", project: try load("docker-compose.external-db.yml")),
        ]
        let result = try ComposeImport.convert(variants, outputDirectory: directory + "/native")
        let (files, problems) = ComposeImport.check(result, variants: variants, environment: [:])
        #expect(problems.isEmpty, "\(problems)")
        #expect(files.keys.sorted() == ["connections.yaml", "environments.yaml", "services.yaml", "stack.yaml"])

        let stack = result.stack
        #expect(stack.profiles == ["external-db", "internal-db"])
        #expect(stack.defaultProfiles == ["internal-db"])
        #expect(stack.service("database")?.profiles == ["internal-db"])
        #expect(stack.service("frontend")?.profiles == [])
        let connection = try #require(stack.connections.first)
        #expect(connection.name == "database")
        #expect(connection.consumers == ["SERVICE_B", "SERVICE_D"])
        #expect(connection.targets["internal-db"].map { [$0.service, $0.host] } == ["database", "db_instance"])
        #expect(connection.targets["external-db"].map { [$0.service, $0.host] } == [nil, "${DB_HOST}"])
        #expect(stack.service("SERVICE_B")?.environment["DB_HOST"] == nil)
        #expect(stack.service("SERVICE_B")?.build?.context == "../app")
        let environment = try #require(stack.environments.first)
        #expect(environment.versions == ["SERVICE_B": "${SERVICE_B_VERSION}", "SERVICE_D": "${SERVICE_D_VERSION}", "database": "${DB_VERSION}"])
        #expect(environment.secrets["DB_PASSWORD"] == .file("secrets/DB_PASSWORD"))
        #expect(result.secretFiles["secrets/DB_PASSWORD"] == "0000\n")
        #expect(environment.variables["DB_NAME"] == "sf1_db")
        #expect(!files["services.yaml"]!.contains("0000"))
    }

    @Test func everyFieldSurvivesTheRoundTrip() throws {
        let files = [
            "compose.yaml": """
            name: shop
            services:
              api:
                build: {context: ./api, dockerfile: Containerfile, args: {VERSION: "${API_VERSION:-1}"}}
                command: ["serve", "--port=${PORT:-80}"]
                entrypoint: /bin/entry
                environment: [MODE=production, "PRICE=$$5"]
                env_file: api.env
                ports: ["127.0.0.1:8080:80", {target: 9090, published: "19090", protocol: udp}]
                volumes: ["data:/data", "./conf:/etc/api:ro", {type: tmpfs, target: /cache}]
                tmpfs: /run
                networks:
                  backend: {aliases: [api.internal], ipv4_address: 10.77.0.10}
                  default:
                healthcheck: {test: "wget -q -O- localhost", interval: 1500ms, timeout: 2s, start_period: 1m, retries: 4}
                restart: on-failure:3
                depends_on: {migrate: {condition: service_completed_successfully, required: false}}
                hostname: api-host
                labels: {tier: api}
                init: true
                stop_grace_period: 1m30s
                user: "1000:1000"
                working_dir: /srv
                pull_policy: never
              migrate:
                image: migrate:${API_VERSION:-1}
                healthcheck: {disable: true}
                profiles: [tools]
            networks:
              backend:
                ipam: {config: [{subnet: 10.77.0.0/24, gateway: 10.77.0.1}]}
              outside: {external: true, name: corp-net}
            volumes:
              data: {name: shop-data}
            """,
            "api.env": "LOG_LEVEL=info\nAPI_TOKEN=t0ken\n",
        ]
        let project = try Self.load(files)
        let variants = [ComposeImport.Variant(name: "base", project: project)]
        let result = try ComposeImport.convert(variants, outputDirectory: "/p/native")
        let (_, problems) = ComposeImport.check(result, variants: variants, environment: [:])
        #expect(problems.isEmpty, "\(problems)")
        // Profiles from the project are kept: with `tools` active, `migrate` round-trips too.
        let tools = [ComposeImport.Variant(name: "base", project: try Self.load(files, env: ["COMPOSE_PROFILES": "tools"]))]
        let toolsResult = try ComposeImport.convert(tools, outputDirectory: "/p/native")
        #expect(toolsResult.stack.defaultProfiles == ["tools"])
        #expect(ComposeImport.check(toolsResult, variants: tools, environment: [:]).problems.isEmpty)
        #expect(result.secretFiles["secrets/API_TOKEN"] == "t0ken\n")
        #expect(result.stack.service("api")?.volumes.contains(.short("../conf:/etc/api:ro")) == true)
    }

    @Test func importRefusesVariantsThatDisagree() throws {
        let a = try Self.load(["compose.yaml": "services:\n  web:\n    image: web:1\n"])
        let b = try Self.load(["compose.yaml": "services:\n  web:\n    image: web:2\n"])
        #expect(throws: ComposeImport.Failure.self) {
            try ComposeImport.convert([.init(name: "one", project: a), .init(name: "two", project: b)], outputDirectory: "/p/native")
        }
    }
}

import BerthModel
import Testing

/// The swarm plan, by table: the same desired state as on one Engine, planned against a swarm's
/// services and networks.
@Suite struct SwarmPlannerTests {
    static let manifests = """
        kind: Stack
        name: shop
        target: swarm
        ---
        kind: Service
        name: web
        image: berth-demo/web:1
        replicas: 3
        environment: {MODE: live}
        ---
        kind: Service
        name: worker
        image: berth-demo/worker:1

        """

    static func desired(_ text: String = manifests) throws -> DesiredState { try Fixtures.inline(["stack.yaml": text]) }

    /// What the swarm would report after the desired state was applied as it is.
    static func converged(_ desired: DesiredState) -> ObservedSwarm {
        let specs = desired.containers.map { container in
            SwarmServiceSpec(
                container, deploy: desired.swarm?.services[container.service] ?? SwarmServiceDeploy(), secrets: desired.swarm?.secrets ?? .files,
                stack: desired.stack)
        }
        let objects = Dictionary(specs.flatMap(\.objects).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }).values
        return ObservedSwarm(
            services: specs.enumerated().map { index, spec in
                ObservedSwarmService(
                    id: "s\(index)", version: 7, labels: [Resolver.Label.stack: desired.stack], spec: spec.redacted, runningTasks: spec.replicas)
            },
            networks: [
                ObservedNetwork(
                    id: "n1", name: "shop_default", labels: [Resolver.Label.stack: "shop"], driver: "overlay", internal: false, subnet: nil,
                    gateway: nil)
            ],
            objects: objects.sorted { $0.name < $1.name }.map {
                ObservedSwarmObject(kind: $0.kind, id: "o-\($0.name)", name: $0.name, labels: $0.labels)
            })
    }

    static func lines(_ plan: Plan) -> [String] { plan.description.split(separator: "\n").map(String.init) }

    @Test func resolvesTheTargetAndReplicas() throws {
        let desired = try Self.desired()
        #expect(desired.target == .swarm)
        #expect(desired.swarm?.services["web"]?.mode == .replicated(3))
        #expect(desired.swarm?.services["worker"]?.mode == .replicated(1))
    }

    @Test func anEmptySwarmGetsNetworksThenServicesEachWaitedFor() throws {
        let plan = SwarmPlanner.plan(desired: try Self.desired(), observed: ObservedSwarm())
        #expect(
            Self.lines(plan) == [
                "#1 create-network network shop_default (missing)",
                "#2 [#1] create-service service shop-web (3 × berth-demo/web:1) (missing)",
                "#3 [#2] wait-service service shop-web: 3 task(s) running (must be healthy to converge)",
                "#4 [#1] create-service service shop-worker (1 × berth-demo/worker:1) (missing)",
                "#5 [#4] wait-service service shop-worker: 1 task(s) running (must be healthy to converge)",
            ])
        guard case .createNetwork(let network) = plan.steps[0].operation else { Issue.record("not a network create"); return }
        #expect(network.driver == "overlay")
    }

    @Test func aConvergedSwarmHasNothingToDo() throws {
        let desired = try Self.desired()
        #expect(SwarmPlanner.plan(desired: desired, observed: Self.converged(desired)).isConverged)
    }

    /// Each row: a field changed on the swarm by hand (or in the manifests); the plan names it.
    @Test(arguments: ["replicas", "image", "environment", "healthcheck", "networks", "ports", "restart"])
    func aChangedServiceIsUpdatedNamingTheField(_ field: String) throws {
        let desired = try Self.desired()
        var observed = Self.converged(desired)
        var spec = observed.services[0].spec
        switch field {
        case "replicas": spec.replicas = 5
        case "image": spec.image = "berth-demo/web:2"
        case "environment": spec.environment = [EnvironmentVariable(name: "MODE", value: "test")]
        case "healthcheck": spec.healthcheck = HealthcheckSpec(test: ["CMD", "true"])
        case "networks": spec.networks = []
        case "ports": spec.ports = [PortSpec(target: 80, published: 8080, hostIP: "", protocol: "tcp")]
        default: spec.restartCondition = "none"
        }
        observed.services[0].spec = spec
        let plan = SwarmPlanner.plan(desired: desired, observed: observed)
        #expect(
            Self.lines(plan) == [
                "#1 update-service service shop-web (3 × berth-demo/web:1) (spec changed: \(field))",
                "#2 [#1] wait-service service shop-web: 3 task(s) running (must be healthy to converge)",
            ])
        guard case .updateService(let id, let version, _) = plan.steps[0].operation else { Issue.record("not an update"); return }
        #expect(id == "s0" && version == 7)
    }

    @Test func missingTasksAreDriftTheSwarmIsStillRepairing() throws {
        let desired = try Self.desired()
        var observed = Self.converged(desired)
        observed.services[0].runningTasks = 1
        observed.services[0].taskErrors = ["no suitable node"]
        let plan = SwarmPlanner.plan(desired: desired, observed: observed)
        #expect(plan.steps.isEmpty)
        #expect(!plan.isConverged)
        #expect(plan.waiting == [Conflict(resource: "service shop-web", reason: "1 of 3 tasks running: no suitable node")])
    }

    /// A node the managers lost is the first reason, then the newest task error.
    @Test func aNodeDownIsTheReasonTasksAreMissing() throws {
        let desired = try Self.desired()
        var observed = Self.converged(desired)
        observed.services[0].runningTasks = 2
        observed.services[0].taskNodes = ["n1", "n2"]
        observed.services[0].taskErrors = ["task: non-zero exit (137)"]
        observed.nodesDown = ["n2": "worker-2", "n9": "idle-node"]
        let plan = SwarmPlanner.plan(desired: desired, observed: observed)
        #expect(plan.steps.isEmpty)
        #expect(
            plan.waiting == [
                Conflict(
                    resource: "service shop-web",
                    reason: "2 of 3 tasks running: node worker-2 down; task: non-zero exit (137)")
            ])
    }

    @Test func aServiceLeftOutIsRemovedAndSoIsItsNetwork() throws {
        let before = try Self.desired()
        var observed = Self.converged(before)
        observed.networks.append(
            ObservedNetwork(
                id: "n2", name: "shop_back", labels: [Resolver.Label.stack: "shop"], driver: "overlay", internal: false, subnet: nil, gateway: nil))
        let after = try Self.desired(Self.manifests.components(separatedBy: "---\nkind: Service\nname: worker")[0])
        #expect(
            Self.lines(SwarmPlanner.plan(desired: after, observed: observed)) == [
                "#1 remove-service service shop-worker (orphan: no longer in the manifests)",
                "#2 [#1] remove-network network shop_back (orphan: no longer in the manifests)",
            ])
    }

    @Test func namesHeldByOthersAreConflictsNotTouched() throws {
        let desired = try Self.desired()
        var observed = Self.converged(desired)
        observed.services[1].labels = [:]
        observed.networks[0].driver = "bridge"
        let plan = SwarmPlanner.plan(desired: desired, observed: observed)
        #expect(plan.steps.isEmpty)
        #expect(
            plan.conflicts == [
                Conflict(
                    resource: "network shop_default", reason: "is a bridge network; a swarm stack needs overlay (remove it, e.g. with berth down)"),
                Conflict(resource: "service shop-worker", reason: "exists and is not this stack's"),
            ])
    }

    @Test func downRemovesEveryServiceOfTheStackOnly() throws {
        let desired = try Self.desired()
        var observed = Self.converged(desired)
        observed.services[1].labels = [Resolver.Label.stack: "other"]
        #expect(Self.lines(SwarmPlanner.down(stack: "shop", observed: observed)) == ["#1 remove-service service shop-web (down)"])
    }

    static let secretManifests = manifests.replacingOccurrences(
        of: "environment: {MODE: live}", with: "environment: {MODE: live, TOKEN: \"${TOKEN}\"}"
    )
    .replacingOccurrences(of: "target: swarm\n", with: "target: swarm\n---\nkind: Environment\nname: prod\nsecrets: {TOKEN: {env: T}}\n")

    static func resolve(_ text: String, _ environment: [String: String] = [:]) throws -> DesiredState {
        let (stack, errors) = ManifestParser.parse(files: ["stack.yaml": text], directory: "/stacks/demo")
        #expect(errors.isEmpty, "\(errors)")
        return try Resolver.resolve(stack, ResolutionRequest(processEnvironment: environment))
    }

    /// A secret value becomes a Swarm secret with a versioned name, mounted where `TOKEN_FILE`
    /// says; a new value is a new secret, a rolling update onto it, and the old one removed after.
    @Test func aChangedSecretIsANewVersionAndTheOldOneGoesAfterTheRollout() throws {
        let old = try Self.resolve(Self.secretManifests, ["T": "old-token-value"])
        let new = try Self.resolve(Self.secretManifests, ["T": "new-token-value"])
        let web = SwarmServiceSpec(new.containers[0], deploy: new.swarm!.services["web"]!, secrets: .files, stack: "shop")
        #expect(web.environment.map(\.description) == ["MODE=live", "TOKEN_FILE=/run/secrets/TOKEN"])
        let secret = try #require(web.files.first)
        #expect(secret.object.kind == .secret && secret.object.content == "new-token-value" && secret.target == "/run/secrets/TOKEN")
        #expect(secret.object.name.hasPrefix("shop-TOKEN-") && secret.object.name.count == "shop-TOKEN-".count + 12)
        let oldName = SwarmServiceSpec(old.containers[0], deploy: old.swarm!.services["web"]!, secrets: .files, stack: "shop").files[0].object.name
        #expect(oldName != secret.object.name)

        let plan = SwarmPlanner.plan(desired: new, observed: Self.converged(old))
        #expect(
            Self.lines(plan) == [
                "#1 create-secret secret \(secret.object.name) (missing)",
                "#2 [#1] update-service service shop-web (3 × berth-demo/web:1) (spec changed: labels, secrets)",
                "#3 [#2] wait-service service shop-web: 3 task(s) running (must be healthy to converge)",
                "#4 [#3] remove-secret secret \(oldName) (no service mounts it after the rollout)",
            ])
        #expect(!plan.description.contains("token-value"))
        #expect(SwarmPlanner.plan(desired: new, observed: Self.converged(new)).isConverged)
    }

    /// `swarm: {secrets: environment}` keeps secret values in the service's environment.
    @Test func secretsMayStayInTheEnvironment() throws {
        let text = Self.secretManifests.replacingOccurrences(
            of: "secrets: {TOKEN: {env: T}}\n", with: "secrets: {TOKEN: {env: T}}\nswarm: {secrets: environment}\n")
        let old = try Self.resolve(text, ["T": "old-token-value"])
        let new = try Self.resolve(text, ["T": "new-token-value"])
        let plan = SwarmPlanner.plan(desired: new, observed: Self.converged(old))
        #expect(plan.description.contains("spec changed: environment, labels"))
        #expect(!plan.description.contains("token-value"))
        #expect(!plan.steps.contains { $0.operation.kind == .createSecret })
    }

    /// An Environment's `swarm.deploy` sets mode, replicas and placement per service.
    @Test func anEnvironmentPlacesServices() throws {
        let text = Self.manifests.replacingOccurrences(
            of: "target: swarm\n",
            with: """
                target: swarm
                ---
                kind: Environment
                name: prod
                swarm:
                  deploy:
                    web: {replicas: 5, placement: {constraints: ["node.role == worker"], preferences: [{spread: node.labels.zone}]}}
                    worker: {mode: global, placement: {constraints: ["node.labels.gpu==yes"]}}

                """)
        let desired = try Self.resolve(text)
        #expect(
            desired.swarm?.services["web"]
                == SwarmServiceDeploy(mode: .replicated(5), constraints: ["node.role == worker"], preferences: ["node.labels.zone"]))
        #expect(desired.swarm?.services["worker"] == SwarmServiceDeploy(mode: .global, constraints: ["node.labels.gpu==yes"]))
        #expect(
            Self.lines(SwarmPlanner.plan(desired: desired, observed: ObservedSwarm())) == [
                "#1 create-network network shop_default (missing)",
                "#2 [#1] create-service service shop-web (5 × berth-demo/web:1) (missing)",
                "#3 [#2] wait-service service shop-web: 5 task(s) running (must be healthy to converge)",
                "#4 [#1] create-service service shop-worker (global × berth-demo/worker:1) (missing)",
                "#5 [#4] wait-service service shop-worker: a task on every eligible node running (must be healthy to converge)",
            ])
        var observed = Self.converged(desired)
        observed.services[0].spec.constraints = []
        observed.services[1].spec.global = false
        observed.services[1].spec.replicas = 1
        #expect(
            Self.lines(SwarmPlanner.plan(desired: desired, observed: observed)).filter { $0.contains("update-service") } == [
                "#1 update-service service shop-web (5 × berth-demo/web:1) (spec changed: placement)",
                "#3 update-service service shop-worker (global × berth-demo/worker:1) (spec changed: mode)",
            ])
        // A global service whose nodes do not all run it yet is waited for, with the swarm's count.
        observed = Self.converged(desired)
        observed.services[1].desiredTasks = 2
        observed.services[1].runningTasks = 1
        #expect(SwarmPlanner.plan(desired: desired, observed: observed).waiting.map(\.reason) == ["1 of 2 tasks running"])
    }

    /// A Compose project says `x-berth: {target: swarm}`: `deploy:` schedules its services, and
    /// its `secrets:` and `configs:` (files too, which a single host bind-mounts) become Swarm
    /// secrets and configs.
    @Test func aComposeProjectGoesOntoASwarm() throws {
        let compose = """
            x-berth: {target: swarm}
            services:
              web:
                image: berth-demo/web:1
                deploy:
                  replicas: 3
                  placement: {constraints: ["node.role==worker"], preferences: [{spread: node.labels.rack}]}
                secrets: [db_password]
                configs: [{source: site, target: /etc/site.conf, mode: 0440}]
              agent:
                image: berth-demo/agent:1
                deploy: {mode: global}
            secrets:
              db_password: {file: ./pw.txt}
            configs:
              site: {content: "listen 80"}

            """
        let project = try ComposeTests.load(["compose.yaml": compose, "pw.txt": "hunter22"])
        let desired = try ComposeTests.resolve(project)
        #expect(desired.target == .swarm)
        #expect(
            desired.swarm?.services["web"]
                == SwarmServiceDeploy(mode: .replicated(3), constraints: ["node.role==worker"], preferences: ["node.labels.rack"]))
        #expect(desired.swarm?.services["agent"]?.mode == .global)
        let web = try #require(desired.container("web"))
        #expect(web.mounts.isEmpty, "no bind mount of one node's file")
        let spec = SwarmServiceSpec(web, deploy: desired.swarm!.services["web"]!, secrets: .files, stack: desired.stack)
        #expect(
            spec.files.map { "\($0.object.kind) \($0.target) \(String($0.mode, radix: 8)) \($0.object.content ?? "-")" } == [
                "secret /run/secrets/db_password 444 hunter22", "config /etc/site.conf 440 listen 80",
            ])
        let plan = SwarmPlanner.plan(desired: desired, observed: ObservedSwarm())
        #expect(plan.steps.map(\.operation.kind.rawValue).prefix(3) == ["create-network", "create-secret", "create-config"])
        #expect(!plan.description.contains("hunter22"))
        #expect(
            ComposeTests.loadError(["compose.yaml": "services:\n  web:\n    image: a\n    deploy: {mode: global}\n"]).contains(
                "'mode: global' needs 'x-berth: {target: swarm}'"))
    }

    /// Said when the manifests are loaded, not refused: a named volume shared by tasks on several
    /// nodes, and a `swarm:` block whose environment's target is not a swarm.
    @Test func perNodeVolumesAndAnUnreadSwarmBlockAreWarnings() throws {
        let text = """
            kind: Stack
            name: s
            ---
            kind: Environment
            name: dev
            swarm: {secrets: files}
            ---
            kind: Environment
            name: prod
            target: swarm
            swarm: {deploy: {agent: {mode: global}}}
            ---
            kind: Service
            name: web
            image: a
            replicas: 3
            volumes: ["data:/data"]
            ---
            kind: Service
            name: agent
            image: a
            volumes: ["cache:/cache", "/srv:/srv"]
            ---
            kind: Service
            name: db
            image: a
            volumes: ["db:/var/lib/db"]
            ---
            {kind: Volume, name: data}
            ---
            {kind: Volume, name: cache}
            ---
            {kind: Volume, name: db}

            """
        let (stack, errors) = ManifestParser.parse(files: ["stack.yaml": text], directory: "/stacks/demo")
        #expect(errors.isEmpty && StackValidator.validate(stack).isEmpty, "\(errors) \(StackValidator.validate(stack))")
        #expect(
            StackValidator.swarmWarnings(stack).map(\.description).sorted()
                == [
                    "stack.yaml:17:10: web.volumes: named volume 'data' is per node on a swarm: with 3 tasks, tasks on different nodes do not share its data",
                    "stack.yaml:22:10: agent.volumes: named volume 'cache' is per node on a swarm: with a task on every node, tasks on different nodes do not share its data",
                    "stack.yaml:6:8: dev.swarm: 'swarm:' is read only when the target is swarm; ignored",
                ].sorted())
    }

    static let switchManifests = """
        kind: Stack
        name: shop
        target: swarm
        profiles: [internal-db, external-db]
        ---
        {kind: Service, name: db, image: pg, profiles: [internal-db]}
        ---
        {kind: Service, name: app, image: app}
        ---
        kind: Connection
        name: database
        consumers: [app]
        targets:
          internal-db: {service: db, port: 5432}
          external-db: {host: db.example, port: 5432}
        env: {DB_HOST: "${host}"}

        """

    /// A consumer rolls out after its connection's target runs; a switch's retired target goes
    /// only after every rollout passed (and stays when one fails: the step depends on them).
    @Test func consumersFollowTheirTargetAndARetiredTargetGoesLast() throws {
        let (stack, errors) = ManifestParser.parse(files: ["stack.yaml": Self.switchManifests], directory: "/stacks/demo")
        #expect(errors.isEmpty, "\(errors)")
        let onHost = try Resolver.resolve(stack, ResolutionRequest(profiles: ["internal-db"]))
        let external = try Resolver.resolve(stack, ResolutionRequest(profiles: ["external-db"]))
        #expect(
            Self.lines(SwarmPlanner.plan(desired: onHost, observed: ObservedSwarm())) == [
                "#1 create-network network shop_default (missing)",
                "#2 [#1] create-service service shop-db (1 × pg:latest) (missing)",
                "#3 [#2] wait-service service shop-db: 1 task(s) running (must be healthy to converge)",
                "#4 [#1,#3] create-service service shop-app (1 × app:latest) (missing)",
                "#5 [#4] wait-service service shop-app: 1 task(s) running (must be healthy to converge)",
            ])
        #expect(
            Self.lines(SwarmPlanner.plan(desired: external, observed: Self.converged(onHost))) == [
                "#1 update-service service shop-app (1 × app:latest) (spec changed: environment, labels)",
                "#2 [#1] wait-service service shop-app: 1 task(s) running (must be healthy to converge)",
                "#3 [#2] remove-service service shop-db (orphan: no longer in the manifests)",
            ])
    }

    /// `down` removes the services, then the stack's secrets and configs.
    @Test func downRemovesSecretsAfterTheServices() throws {
        let desired = try Self.resolve(Self.secretManifests, ["T": "a-token-value"])
        let lines = Self.lines(SwarmPlanner.down(stack: "shop", observed: Self.converged(desired)))
        #expect(lines.count == 3, "\(lines)")
        #expect(lines[2].hasPrefix("#3 [#1,#2] remove-secret secret shop-TOKEN-") && lines[2].hasSuffix("(down)"))
    }

    /// What a target cannot run is an error where it is written.
    @Test(arguments: [
        (
            "kind: Stack\nname: s\n---\nkind: Service\nname: web\nimage: a\nreplicas: 2\n",
            "stack.yaml:7:11: web.replicas: replicas: 2 needs 'target: swarm'; a single Engine runs one container per service"
        ),
        (
            "kind: Stack\nname: s\ntarget: swarm\n---\nkind: Service\nname: web\nimage: a\nbuild: .\n",
            "stack.yaml:8:8: web.build: not supported with 'target: swarm': a swarm pulls images, it does not build them; build and push first"
        ),
        (
            "kind: Stack\nname: s\ntarget: swarm\n---\nkind: Service\nname: web\nimage: a\nports: [\"127.0.0.1:80:80\"]\n",
            "stack.yaml:8:8: web.ports: not supported with 'target: swarm': a host address: Swarm publishes on every node"
        ),
        ("kind: Stack\nname: s\ntarget: cluster\n", "stack.yaml:3:9: target: unknown target 'cluster'; expected engine or swarm"),
        (
            "kind: Stack\nname: s\ntarget: swarm\n---\nkind: Environment\nname: p\nswarm:\n  deploy: {api: {replicas: 2}}\n---\nkind: Service\nname: web\nimage: a\n",
            "stack.yaml:8:17: p.swarm.deploy.api: unknown service 'api'"
        ),
        (
            "kind: Stack\nname: s\ntarget: swarm\n---\nkind: Environment\nname: p\nswarm:\n  deploy:\n    web: {placement: {constraints: [\"node.role=worker\"]}}\n---\nkind: Service\nname: web\nimage: a\n",
            "stack.yaml:9:37: p.swarm.deploy.web.placement.constraints[0]: 'node.role=worker' is not a placement constraint; write KEY==VALUE or KEY!=VALUE (node.role==worker, node.labels.zone!=b)"
        ),
        (
            "kind: Stack\nname: s\ntarget: swarm\n---\nkind: Environment\nname: p\nswarm:\n  deploy:\n    web: {mode: global, replicas: 2}\n---\nkind: Service\nname: web\nimage: a\n",
            "stack.yaml:9:35: p.swarm.deploy.web.replicas: a global service runs one task per node; it takes no replicas"
        ),
        (
            "kind: Stack\nname: s\ntarget: swarm\n---\nkind: Environment\nname: p\nswarm: {secrets: vault}\n---\nkind: Service\nname: web\nimage: a\n",
            "stack.yaml:7:18: p.swarm.secrets: unknown value 'vault'; expected files or environment"
        ),
    ])
    func whatATargetCannotRunIsAnError(_ text: String, _ message: String) throws {
        let (stack, parseErrors) = ManifestParser.parse(files: ["stack.yaml": text], directory: "/stacks/demo")
        let errors = parseErrors.isEmpty ? StackValidator.validate(stack) : parseErrors
        if !errors.isEmpty {
            #expect(errors.map(\.description).contains { $0.hasSuffix(message) }, "\(errors.map(\.description))")
            return
        }
        #expect(throws: ManifestErrors.self) { try Resolver.resolve(stack, ResolutionRequest()) }
        do {
            _ = try Resolver.resolve(stack, ResolutionRequest())
        } catch {
            #expect(error.errors.contains { $0.description.hasSuffix(message) }, "\(error)")
        }
    }

    /// An Environment overrides the Stack's target: dev on one Engine, prod on a swarm.
    @Test func anEnvironmentChoosesTheTarget() throws {
        let text =
            "kind: Stack\nname: s\n---\nkind: Environment\nname: dev\n---\nkind: Environment\nname: prod\ntarget: swarm\n---\nkind: Service\nname: web\nimage: a\n"
        let (stack, errors) = ManifestParser.parse(files: ["stack.yaml": text], directory: "/stacks/demo")
        #expect(errors.isEmpty)
        #expect(try Resolver.resolve(stack, ResolutionRequest(environment: "dev")).target == nil)
        #expect(try Resolver.resolve(stack, ResolutionRequest(environment: "prod")).target == .swarm)
    }
}

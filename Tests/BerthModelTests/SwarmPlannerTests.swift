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
        ObservedSwarm(
            services: desired.containers.enumerated().map { index, container in
                let spec = SwarmServiceSpec(container, replicas: desired.replicas?[container.service] ?? 1, stack: desired.stack)
                return ObservedSwarmService(
                    id: "s\(index)", version: 7, labels: [Resolver.Label.stack: desired.stack], spec: spec, runningTasks: spec.replicas)
            },
            networks: [
                ObservedNetwork(
                    id: "n1", name: "shop_default", labels: [Resolver.Label.stack: "shop"], driver: "overlay", internal: false, subnet: nil,
                    gateway: nil)
            ])
    }

    static func lines(_ plan: Plan) -> [String] { plan.description.split(separator: "\n").map(String.init) }

    @Test func resolvesTheTargetAndReplicas() throws {
        let desired = try Self.desired()
        #expect(desired.target == .swarm)
        #expect(desired.replicas == ["web": 3, "worker": 1])
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

    /// Secrets are in the spec the swarm gets, never in what the plan says.
    @Test func aChangedSecretIsNamedNotShown() throws {
        let text = Self.manifests.replacingOccurrences(of: "environment: {MODE: live}", with: "environment: {MODE: live, TOKEN: \"${TOKEN}\"}")
            .replacingOccurrences(of: "target: swarm\n", with: "target: swarm\n---\nkind: Environment\nname: prod\nsecrets: {TOKEN: {env: T}}\n")
        let (stack, errors) = ManifestParser.parse(files: ["stack.yaml": text], directory: "/stacks/demo")
        #expect(errors.isEmpty)
        let old = try Resolver.resolve(stack, ResolutionRequest(processEnvironment: ["T": "old-token-value"]))
        let new = try Resolver.resolve(stack, ResolutionRequest(processEnvironment: ["T": "new-token-value"]))
        let plan = SwarmPlanner.plan(desired: new, observed: Self.converged(old))
        #expect(plan.description.contains("spec changed: environment, labels"))
        #expect(!plan.description.contains("token-value"))
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
    ])
    func whatATargetCannotRunIsAnError(_ text: String, _ message: String) throws {
        let (stack, errors) = ManifestParser.parse(files: ["stack.yaml": text], directory: "/stacks/demo")
        if !errors.isEmpty {
            #expect(errors.map(\.description).contains { $0.hasSuffix(message) }, "\(errors)")
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

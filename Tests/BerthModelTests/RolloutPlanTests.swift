import BerthModel
import Testing

/// Rollouts as planned: registry digests, health-gated stop-first and start-first replacement,
/// dependents after their dependencies' rollouts, and rollback holds.
@Suite struct RolloutPlanTests {
    static let manifests = [
        "s.yaml": """
        kind: Stack
        name: app
        ---
        kind: Service
        name: db
        image: reg:5000/db:1
        healthcheck: {test: [CMD, true], interval: 1s, retries: 2}
        ---
        kind: Service
        name: web
        image: reg:5000/web:1
        healthcheck: {test: [CMD, true], interval: 1s, retries: 2}
        update: {order: start-first, deadline: 20s}
        depends_on: {db: {condition: service_healthy}}
        """
    ]

    let desired: DesiredState

    init() throws { desired = try Fixtures.inline(Self.manifests) }

    /// A host converged to `state`, its images pulled from the registry as `sha256:<service>1`.
    func converged(_ state: DesiredState? = nil) -> ObservedState {
        let state = state ?? desired
        return ObservedState(
            containers: state.containers.map { spec in
                ObservedContainer(
                    id: "id-\(spec.service)-0000000000000", name: spec.name,
                    labels: ["berth.stack": "app", "berth.service": spec.service, "berth.spec-hash": spec.specHash],
                    imageID: "sha256:id-\(spec.service)", state: "running", health: "healthy", networks: spec.networks.map(\.network))
            },
            networks: [
                ObservedNetwork(
                    id: "n", name: "app_default", labels: ["berth.stack": "app"], driver: "bridge", internal: false, subnet: nil, gateway: nil)
            ],
            images: Dictionary(
                uniqueKeysWithValues: state.containers.map { spec in
                    let repository = ImageName.repository(of: spec.image)
                    return (spec.image, ObservedImage(id: "sha256:id-\(spec.service)", repoDigests: ["\(repository)@sha256:\(spec.service)1"]))
                }))
    }

    func plan(_ observed: ObservedState, _ desired: DesiredState? = nil) -> String {
        Planner.plan(desired: desired ?? self.desired, observed: observed).description
    }

    @Test func newDigestInTheRegistryIsPulledAndOnlyItsContainerReplaced() {
        var observed = converged()
        observed.registryDigests = ["reg:5000/db:1": .digest("sha256:db2"), "reg:5000/web:1": .digest("sha256:web1")]
        #expect(
            plan(observed) == """
                #1 pull-image image reg:5000/db:1 (registry has sha256:db2, host has sha256:db1)
                #2 stop container app-db (id-db-000000) (image changed: sha256:db1 → sha256:db2)
                #3 [#2] rename container app-db (id-db-000000) to id-db-000000_app-db (keeps the name app-db free for the new container)
                #4 [#1,#2,#3] create container app-db (image changed: sha256:db1 → sha256:db2)
                #5 [#4] start container app-db (image changed: sha256:db1 → sha256:db2)
                #6 [#5] wait-healthy container app-db (must be healthy to converge)
                #7 [#6] remove container app-db (id-db-000000) (replaced by new app-db)
                """)
    }

    @Test(arguments: [
        (RegistryAnswer.digest("sha256:db1"), ""),
        (.unreachable("connection refused"), "conflict image reg:5000/db:1: cannot ask its registry for the current digest: connection refused"),
    ])
    func registryAnswerWithoutChange(answer: RegistryAnswer, expected: String) {
        var observed = converged()
        observed.registryDigests = ["reg:5000/db:1": answer]
        #expect(plan(observed) == expected)
    }

    /// web (start-first) is replaced only after db's rollout passed its gate; the old web keeps
    /// serving until the new one is healthy and holds the aliases, through the name swap and the
    /// drain.
    @Test func startFirstWaitsForItsDependencyThenMovesTheAliases() {
        var changed = desired
        for index in changed.containers.indices {
            changed.containers[index].image = changed.containers[index].image.replacingOccurrences(of: ":1", with: ":2")
            changed.containers[index].specHash = SpecHash.compute(changed.containers[index])
        }
        let observed = converged()
        #expect(
            Planner.plan(desired: changed, observed: observed).description == """
                #1 pull-image image reg:5000/db:2 (image not on the host)
                #2 pull-image image reg:5000/web:2 (image not on the host)
                #3 stop container app-db (id-db-000000) (spec changed)
                #4 [#3] rename container app-db (id-db-000000) to id-db-000000_app-db (keeps the name app-db free for the new container)
                #5 [#1,#3,#4] create container app-db (spec changed)
                #6 [#5] start container app-db (spec changed)
                #7 [#6] wait-healthy container app-db (must be healthy to converge)
                #8 [#7] remove container app-db (id-db-000000) (replaced by new app-db)
                #9 [#2,#7] create container app-web_next (spec changed)
                #10 [#7,#9] start container app-web_next (spec changed)
                #11 [#10] wait-healthy container app-web_next (must be healthy to converge)
                #12 [#11] disconnect container app-web_next from network app_default (network aliases move to the new app-web_next, now healthy)
                #13 [#12] connect container app-web_next to network app_default (network aliases move to the new app-web_next, now healthy)
                #14 [#11,#13] rename container app-web (id-web-00000) to id-web-00000_app-web (keeps the name app-web free for the new container)
                #15 [#14] rename container app-web_next to app-web (the new container takes the service's name)
                #16 [#15] drain container app-web (id-web-00000) for 2000 ms (replaced by new app-web)
                #17 [#16] disconnect container app-web (id-web-00000) from network app_default (replaced by new app-web)
                #18 [#15,#17] stop container app-web (id-web-00000) (replaced by new app-web)
                #19 [#18] remove container app-web (id-web-00000) (replaced by new app-web)
                """)
        let staged = Planner.plan(desired: changed, observed: observed).steps.compactMap { step -> ContainerSpec? in
            if case .createContainer(let spec) = step.operation, spec.service == "web" { return spec } else { return nil }
        }
        #expect(staged.first?.networks.allSatisfy { $0.aliases.isEmpty } == true, "no alias before it is healthy")
        #expect(staged.first?.specHash == changed.container("web")?.specHash)
    }

    /// A crash after the staged container became healthy: the next plan finishes the rollout.
    @Test func interruptedStartFirstIsFinished() {
        var observed = converged()
        let web = observed.containers.firstIndex { $0.service == "web" }!
        var old = observed.containers[web]
        old.labels["berth.spec-hash"] = "old"
        old.id = "old-web-000000000"
        observed.containers[web].name = "app-web_next"
        observed.containers.append(old)
        #expect(
            plan(observed) == """
                #1 stop container app-web (old-web-0000) (duplicate container of the service)
                #2 [#1] remove container app-web (old-web-0000) (duplicate container of the service)
                #3 disconnect container app-web_next (id-web-00000) from network app_default (network aliases move to the new app-web, now healthy)
                #4 [#3] connect container app-web_next (id-web-00000) to network app_default (network aliases move to the new app-web, now healthy)
                #5 [#2,#4] rename container app-web_next (id-web-00000) to app-web (renamed to app-web_next)
                """)
    }

    @Test func startFirstRefusesPublishedPorts() {
        var files = Self.manifests
        files["s.yaml"]! += "\nports: [\"8080:80\"]\n"
        let (stack, errors) = ManifestParser.parse(files: files, directory: "/stacks/demo")
        #expect(errors.isEmpty)
        #expect(throws: ManifestErrors.self) { try Resolver.resolve(stack, ResolutionRequest()) }
        let message =
            (try? Resolver.resolve(stack, ResolutionRequest())).map { _ in "" } ?? "\(Result { try Resolver.resolve(stack, ResolutionRequest()) })"
        #expect(
            message.contains("s.yaml:") && message.contains("web.update.order")
                && message.contains("start-first cannot be used with a published host port"))
    }

    // MARK: Holds

    func hold(replacing spec: ContainerSpec, image: String?, digest: String? = nil) -> RollbackHold {
        var earlier = spec
        earlier.image = "reg:5000/web@sha256:web0"
        return RollbackHold(
            service: spec.service, replacedSpecHash: spec.specHash, replacedImageID: image, replacedDigest: digest, spec: earlier,
            reason: "rollout in reconcile #3 failed: unhealthy", reconcileID: 3)
    }

    @Test func holdAppliesWhileTheManifestsAndTheImageBehindTheTagStayTheSame() throws {
        let web = try #require(desired.container("web"))
        var observed = converged()
        let cases: [(String, RollbackHold, (inout ObservedState, inout DesiredState) -> Void, Bool)] = [
            ("same spec, same image", hold(replacing: web, image: "sha256:id-web"), { _, _ in }, true),
            ("spec-only hold", hold(replacing: web, image: nil), { _, _ in }, true),
            (
                "the tag names another image", hold(replacing: web, image: "sha256:id-web"),
                { o, _ in o.images["reg:5000/web:1"]?.id = "sha256:fixed" }, false
            ),
            (
                "the registry has another digest", hold(replacing: web, image: "sha256:id-web", digest: "sha256:web1"),
                { o, _ in o.registryDigests["reg:5000/web:1"] = .digest("sha256:web2") }, false
            ),
            (
                "the registry still has the failed digest", hold(replacing: web, image: "sha256:other", digest: "sha256:web1"),
                { o, _ in o.registryDigests["reg:5000/web:1"] = .digest("sha256:web1") }, true
            ),
            (
                "the manifests changed", hold(replacing: web, image: "sha256:id-web"),
                { _, d in
                    d.containers[1].command = ["other"]; d.containers[1].specHash = SpecHash.compute(d.containers[1])
                }, false
            ),
        ]
        for (name, hold, change, applies) in cases {
            var state = desired
            var host = observed
            change(&host, &state)
            let result = state.holding([hold], observed: host)
            #expect(result.applied.count == (applies ? 1 : 0), "\(name)")
            #expect(result.ended.count == (applies ? 0 : 1), "\(name)")
            #expect((result.desired.container("web")?.image == "reg:5000/web@sha256:web0") == applies, "\(name)")
        }
        observed.containers.removeAll()
    }

    @Test func heldSpecGetsTodaysSecretValuesAndItsOwnHash() throws {
        var web = try #require(desired.container("web"))
        web.environment = [EnvironmentVariable(name: "API_TOKEN", value: "s3cret-value", isSecret: true)]
        web.specHash = SpecHash.compute(web)
        let hold = RollbackHold(
            service: "web", replacedSpecHash: "x", replacedImageID: nil, replacedDigest: nil, spec: web, reason: "r", reconcileID: 1)
        #expect(hold.spec.environment.first?.value.hasPrefix("<secret sha256:") == true, "stored redacted")
        let restored = hold.restoredSpec(wanted: web)
        #expect(restored.environment.first?.value == "s3cret-value")
        #expect(restored.specHash == web.specHash)
    }
}

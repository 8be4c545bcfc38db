import BerthModel
import Testing

/// Planner tests: (desired, observed) → plan text, the way `berth plan` prints it.
@Suite struct PlannerTests {
    static let manifests = [
        "s.yaml": """
        kind: Stack
        name: app
        ---
        kind: Service
        name: db
        image: db:1
        volumes: ["data:/data"]
        healthcheck: {test: [CMD, true], interval: 1s, retries: 2}
        ---
        kind: Service
        name: web
        image: web:1
        environment: {MODE: prod}
        depends_on: {db: {condition: service_healthy}}
        ---
        kind: Volume
        name: data
        """
    ]

    let desired: DesiredState

    init() throws {
        desired = try Fixtures.inline(Self.manifests)
    }

    /// What a host converged to `desired` looks like.
    func converged(_ state: DesiredState? = nil) -> ObservedState { Self.converged(state ?? desired) }

    static func converged(_ state: DesiredState) -> ObservedState {
        ObservedState(
            containers: state.containers.map { spec in
                ObservedContainer(
                    id: "id-\(spec.service)-0000000000000", name: spec.name,
                    labels: [
                        "berth.stack": state.stack, "berth.service": spec.service, "berth.spec-hash": spec.specHash,
                        "berth.depends-on": spec.dependsOn.map(\.service).joined(separator: ","),
                    ],
                    imageID: "sha256:\(spec.image)", state: "running", status: "Up 1 minute", health: spec.healthcheck == nil ? nil : "healthy",
                    networks: spec.networks.map(\.network))
            },
            networks: state.networks.map {
                ObservedNetwork(
                    id: "net-\($0.name)", name: $0.engineName, labels: ["berth.stack": state.stack], driver: "bridge", internal: false,
                    subnet: "172.18.0.0/16", gateway: "172.18.0.1")
            },
            volumes: state.volumes.map { ObservedVolume(name: $0.engineName, labels: ["berth.stack": state.stack]) },
            images: Dictionary(uniqueKeysWithValues: state.containers.map { ($0.image, ObservedImage(id: "sha256:\($0.image)")) }))
    }

    func plan(_ observed: ObservedState, previous: [String: ContainerSpec] = [:], replace: Bool = false) -> String {
        Planner.plan(desired: desired, observed: observed, previous: previous, options: .init(replaceConflicts: replace)).description
    }

    func editing(_ service: String, _ change: (inout ObservedContainer) -> Void) -> ObservedState {
        var observed = converged()
        let index = observed.containers.firstIndex { $0.service == service }!
        change(&observed.containers[index])
        return observed
    }

    @Test func emptyHostGetsEverythingInDependencyOrder() {
        var observed = ObservedState()
        observed.images = converged().images
        #expect(
            plan(observed) == """
                #1 create-network network app_default (missing)
                #2 create-volume volume app_data (missing)
                #3 [#1,#2] create container app-db (missing)
                #4 [#3] start container app-db (missing)
                #5 [#4] wait-healthy container app-db (must be healthy to converge)
                #6 [#1] create container app-web (missing)
                #7 [#5,#6] start container app-web (missing)
                """)
    }

    /// A chain of thousands of services (each depending on the next, against name order) and a
    /// diamond plan in dependency order: the ordering is by depth, not a scan per round.
    @Test func longChainsAndDiamondsAreOrderedByDependency() throws {
        let count = 3000
        var text = "kind: Stack\nname: big\n"
        for index in 0..<count {
            text += "---\nkind: Service\nname: s\(index)\nimage: app:1\n" + (index + 1 < count ? "depends_on: [s\(index + 1)]\n" : "")
        }
        text += "---\nkind: Service\nname: top\nimage: app:1\ndepends_on: [left, right]\n"
        text +=
            "---\nkind: Service\nname: left\nimage: app:1\ndepends_on: [bottom]\n---\nkind: Service\nname: right\nimage: app:1\ndepends_on: [bottom]\n"
        text += "---\nkind: Service\nname: bottom\nimage: app:1\n"
        let big = try Fixtures.inline(["s.yaml": text])
        var observed = ObservedState()
        observed.images = ["app:1": ObservedImage(id: "sha256:app")]
        let created = Planner.plan(desired: big, observed: observed).steps.compactMap { step -> String? in
            guard case .createContainer(let spec) = step.operation else { return nil }
            return spec.service
        }
        let position = Dictionary(uniqueKeysWithValues: created.enumerated().map { ($1, $0) })
        #expect(created.count == count + 4)
        for index in 0..<(count - 1) { #expect(position["s\(index + 1)"]! < position["s\(index)"]!) }
        #expect(created.prefix(2) == ["bottom", "s\(count - 1)"], "depth 0 first, by name")
        #expect(position["bottom"]! < position["left"]! && position["left"]! < position["right"]! && position["right"]! < position["top"]!)
    }

    /// A container the Engine is still removing is waited for, not reported as a conflict.
    @Test func containerBeingRemovedIsWaitedFor() {
        let observed = editing("web") { $0.state = "removing" }
        let plan = Planner.plan(desired: desired, observed: observed)
        #expect(plan.conflicts.isEmpty)
        #expect(!plan.isConverged)
        #expect(plan.description == "wait container app-web: is being removed by the Engine; it converges on the next reconcile")
    }

    @Test func convergedHostNeedsNothing() {
        #expect(Planner.plan(desired: desired, observed: converged()).isConverged)
    }

    @Test func missingImageIsPulledFirst() {
        var observed = converged()
        observed.containers.removeAll { $0.service == "web" }
        observed.images["web:1"] = nil
        #expect(
            plan(observed) == """
                #1 pull-image image web:1 (image not on the host)
                #2 [#1] create container app-web (missing)
                #3 [#2] start container app-web (missing)
                """)
    }

    @Test func stoppedContainerIsStarted() {
        let observed = editing("web") {
            $0.state = "exited"; $0.status = "Exited (137) 5 seconds ago"
        }
        #expect(plan(observed) == "#1 start container app-web (id-web-00000) (stopped: Exited (137) 5 seconds ago)")
    }

    /// A container the Engine marked dead (removed by hand a moment ago, or a removal that failed)
    /// is never started: the Engine refuses. It is removed, and the service made again.
    @Test func deadContainerIsReplacedNotStarted() {
        let observed = editing("web") {
            $0.state = "dead"; $0.status = "Dead"
        }
        #expect(
            plan(observed) == """
                #1 remove container app-web (id-web-00000) (dead: the Engine cannot start it again; replacing the container)
                #2 [#1] create container app-web (dead: the Engine cannot start it again; replacing the container)
                #3 [#2] start container app-web (dead: the Engine cannot start it again; replacing the container)
                """)
    }

    @Test func renamedContainerGetsItsNameBack() {
        let observed = editing("web") { $0.name = "by-hand" }
        #expect(plan(observed) == "#1 rename container by-hand (id-web-00000) to app-web (renamed to by-hand)")
    }

    @Test func detachedContainerIsReconnected() {
        let observed = editing("db") { $0.networks = [] }
        #expect(
            plan(observed) == """
                #1 connect container app-db (id-db-000000) to network app_default (detached from network app_default)
                #2 [#1] wait-healthy container app-db (id-db-000000) (must be healthy to converge)
                """)
    }

    @Test func removedNetworkIsRecreatedAndReattached() {
        var observed = converged()
        observed.networks = []
        for index in observed.containers.indices { observed.containers[index].networks = [] }
        #expect(
            plan(observed) == """
                #1 create-network network app_default (missing)
                #2 [#1] connect container app-db (id-db-000000) to network app_default (detached from network app_default)
                #3 [#2] wait-healthy container app-db (id-db-000000) (must be healthy to converge)
                #4 [#1] connect container app-web (id-web-00000) to network app_default (detached from network app_default)
                """)
    }

    /// A container that was never started names its network only; its start must wait for the
    /// network this round makes (it failed with "network not found" when they ran side by side).
    @Test func createdContainerStartsOnlyAfterItsNetworkIsMade() {
        var observed = converged()
        observed.networks = []
        for index in observed.containers.indices {
            observed.containers[index].state = "created"; observed.containers[index].status = "Created"
        }
        #expect(
            plan(observed) == """
                #1 create-network network app_default (missing)
                #2 [#1] start container app-db (id-db-000000) (stopped: Created)
                #3 [#2] wait-healthy container app-db (id-db-000000) (must be healthy to converge)
                #4 [#1,#3] start container app-web (id-web-00000) (stopped: Created)
                """)
    }

    /// A stopped container still names its network's old id after the network was removed and
    /// made again; the Engine never starts it again, so it is replaced (its volumes stay).
    @Test func stoppedContainerOnARemadeNetworkIsReplaced() {
        var observed = editing("web") {
            $0.state = "exited"; $0.status = "Exited (137) 1 minute ago"; $0.networkIDs = ["app_default": "net-gone"]
        }
        #expect(plan(observed).contains("create container app-web (network app_default recreated)"))
        observed.containers[1].networkIDs = ["app_default": "net-default"]
        #expect(plan(observed) == "#1 start container app-web (id-web-00000) (stopped: Exited (137) 1 minute ago)")
    }

    /// A volume of a wanted name that someone else made is not mounted unless it was adopted.
    @Test func foreignVolumeIsAConflictUntilAdopted() throws {
        var observed = converged()
        observed.containers.removeAll { $0.service == "db" }
        observed.volumes = [ObservedVolume(name: "app_data", labels: [:])]
        let refused = plan(observed)
        #expect(refused.contains("conflict volume app_data: exists but was not made by stack app (it has no berth.stack label)"), "\(refused)")
        #expect(refused.contains("conflict container app-db: its volume was made by someone else and is not adopted"))
        #expect(!refused.contains("create container app-db"))

        observed.adoptedVolumes = ["app_data"]
        #expect(plan(observed).hasPrefix("#1 create container app-db (missing)"))

        let text = Self.manifests["s.yaml"]!.replacingOccurrences(of: "name: data", with: "name: data\nadopt: true")
        let adopting = try Fixtures.inline(["s.yaml": text])
        observed.adoptedVolumes = []
        let planned = Planner.plan(desired: adopting, observed: observed).description
        #expect(
            planned.hasPrefix("#1 adopt-volume volume app_data (made outside Berth; adopted on request)\n#2 [#1] create container app-db"),
            "\(planned)")

        // The project's own volume, left by `docker compose up`: a project moving to Berth keeps its data.
        observed.volumes = [ObservedVolume(name: "app_data", labels: ["com.docker.compose.project": "app", "com.docker.compose.volume": "data"])]
        #expect(plan(observed).hasPrefix("#1 adopt-volume volume app_data (made by Docker Compose for this project; adopted with its data)"))
    }

    @Test func changedSpecIsRecreatedNamingTheField() throws {
        var old = try #require(desired.container("web"))
        old.environment = [EnvironmentVariable(name: "MODE", value: "dev")]
        old.specHash = SpecHash.compute(old)
        let observed = editing("web") { $0.labels["berth.spec-hash"] = old.specHash }
        #expect(
            plan(observed, previous: ["web": old]) == """
                #1 stop container app-web (id-web-00000) (spec changed: env MODE)
                #2 [#1] rename container app-web (id-web-00000) to id-web-00000_app-web (keeps the name app-web free for the new container)
                #3 [#1,#2] create container app-web (spec changed: env MODE)
                #4 [#3] start container app-web (spec changed: env MODE)
                #5 [#4] remove container app-web (id-web-00000) (replaced by new app-web)
                """)
    }

    @Test func retaggedImageIsRecreated() {
        var observed = converged()
        observed.images["web:1"] = ObservedImage(id: "sha256:rebuilt")
        #expect(plan(observed).contains("create container app-web (image changed: sha256:web:1 → sha256:rebuilt)"))
    }

    @Test func orphansAreRemovedButVolumesStay() {
        var observed = converged()
        observed.containers.append(
            ObservedContainer(
                id: "old-cache-0000000", name: "app-cache", labels: ["berth.stack": "app", "berth.service": "cache"], imageID: "x", state: "running",
                networks: ["app_old"]))
        observed.networks.append(
            ObservedNetwork(id: "n2", name: "app_old", labels: ["berth.stack": "app"], driver: "bridge", internal: false, subnet: nil, gateway: nil))
        observed.volumes.append(ObservedVolume(name: "app_cache", labels: ["berth.stack": "app"]))
        #expect(
            plan(observed) == """
                #1 stop container app-cache (old-cache-00) (orphan: no longer in the manifests)
                #2 [#1] remove container app-cache (old-cache-00) (orphan: no longer in the manifests)
                #3 [#2] remove-network network app_old (orphan: no longer in the manifests)
                """)
    }

    /// Two overlapping creates (one from a killed Berth) can leave two networks with one name;
    /// the newer goes before anything uses the name, the older (with the containers) stays.
    @Test func duplicateNetworkOfTheStackIsRemoved() {
        var observed = converged()
        let kept = observed.networks[0]
        observed.containers.removeAll { $0.service == "web" }
        observed.networks.append(
            ObservedNetwork(
                id: "n-newer", name: kept.name, labels: kept.labels, driver: kept.driver, internal: false, subnet: nil, gateway: nil,
                created: "2026-11-22T01:00:00.12Z"))
        // 0.1 s is older than 0.12 s, though ".1Z" sorts after ".12Z" as text.
        observed.networks[0].created = "2026-11-22T01:00:00.1Z"
        #expect(
            plan(observed) == """
                #1 remove-network network n-newer (a second network of the stack with this name; the oldest stays)
                #2 [#1] create container app-web (missing)
                #3 [#2] start container app-web (missing)
                """)
    }

    @Test func foreignContainerHoldingTheNameIsAConflict() {
        var observed = converged()
        observed.containers.removeAll { $0.service == "web" }
        observed.containers.append(
            ObservedContainer(id: "foreign-000000000", name: "app-web", labels: [:], imageID: "x", state: "running", networks: []))
        let result = Planner.plan(desired: desired, observed: observed)
        #expect(result.steps.isEmpty)
        #expect(result.conflicts.map(\.resource) == ["container app-web"])
        #expect(
            plan(observed, replace: true) == """
                #1 stop container app-web (foreign-0000) (conflict: replaced on request)
                #2 [#1] remove container app-web (foreign-0000) (conflict: replaced on request)
                #3 [#2] create container app-web (missing)
                #4 [#3] start container app-web (missing)
                """)
    }

    /// A crash between `create` and `remove` of a recreate leaves two containers; the next plan
    /// keeps the one with the right spec and removes the leftover.
    @Test func leftoverOfAnInterruptedRecreateIsRemoved() {
        var observed = converged()
        var leftover = observed.containers.first { $0.service == "web" }!
        leftover.id = "leftover-00000000"
        leftover.name = "id-web-00000_app-web"
        leftover.labels["berth.spec-hash"] = "old"
        leftover.state = "exited"
        observed.containers.append(leftover)
        #expect(
            plan(observed) == """
                #1 stop container id-web-00000_app-web (leftover-000) (duplicate container of the service)
                #2 [#1] remove container id-web-00000_app-web (leftover-000) (duplicate container of the service)
                """)
    }

    @Test func hookRunsOncePerContainer() throws {
        let files = ["s.yaml": "kind: Service\nname: db\nimage: db:1\nhooks: [{name: init, command: [init]}]\n"]
        let state = try Fixtures.inline(files)
        var observed = converged(state)
        #expect(
            Planner.plan(desired: state, observed: observed).description
                == "#1 hook init in container demo-db (id-db-000000) (hook init not yet run in this container)")
        observed.hooksRun = ["id-db-0000000000000/init"]
        #expect(Planner.plan(desired: state, observed: observed).isConverged)
    }

    @Test func downRemovesDependentsFirstAndVolumesOnlyOnRequest() {
        let observed = converged()
        #expect(
            Planner.down(stack: "app", observed: observed, removeVolumes: false).description == """
                #1 stop container app-web (id-web-00000) (down)
                #2 [#1] remove container app-web (id-web-00000) (down)
                #3 [#2] stop container app-db (id-db-000000) (down)
                #4 [#2,#3] remove container app-db (id-db-000000) (down)
                #5 [#2,#4] remove-network network app_default (down)
                """)
        #expect(
            Planner.down(stack: "app", observed: observed, removeVolumes: true).description.hasSuffix(
                "#6 [#1,#2,#3,#4,#5] remove-volume volume app_data (down)"))
    }
}

extension PlannerTests {
    @Test func containerThatKeepsFailingToStartIsReplaced() {
        var observed = editing("web") {
            $0.state = "exited"; $0.status = "Exited (143) 1 minute ago"
        }
        observed.failedStarts = ["id-web-00000": 1]
        #expect(plan(observed) == "#1 start container app-web (id-web-00000) (stopped: Exited (143) 1 minute ago)")
        observed.failedStarts = ["id-web-00000": 2]
        #expect(plan(observed).contains("#3 [#1,#2] create container app-web (failed to start 2 times; replacing the container)"))
    }
}

/// A profile switch: what it moves, when the retired target goes, and a refused preflight.
@Suite struct ConnectionSwitchPlanTests {
    static let manifests = [
        "s.yaml": """
        kind: Stack
        name: app
        profiles: [internal-db, external-db]
        default_profiles: [internal-db]
        ---
        kind: Service
        name: db
        image: db:1
        profiles: [internal-db]
        ---
        kind: Service
        name: web
        image: web:1
        healthcheck: {test: [CMD, true], interval: 1s, retries: 2}
        ---
        kind: Service
        name: other
        image: other:1
        ---
        kind: Connection
        name: database
        consumers: [web]
        targets:
          internal-db: {service: db, port: 5432}
          external-db: {host: db.outside, port: 5432}
        env: {DB_HOST: "${host}"}
        """
    ]

    let onInternal: DesiredState
    let onExternal: DesiredState
    let observed: ObservedState

    init() throws {
        onInternal = try Fixtures.inline(Self.manifests, profiles: ["internal-db"])
        onExternal = try Fixtures.inline(Self.manifests, profiles: ["external-db"])
        observed = try PlannerTests().converged(onInternal)
    }

    @Test func switchNamesTheMovedConnectionAndTheRetiredTarget() throws {
        let switches = ConnectionSwitch.between(applied: onInternal, desired: onExternal, observed: observed)
        let move = try #require(switches.first)
        #expect(switches.count == 1)
        #expect(move.title == "connection database (internal-db → external-db)")
        #expect(move.to.address == "db.outside:5432")
        #expect(move.retiredTarget == "db")
        #expect(move.consumers == ["web"])
        #expect(move.network == "app_default")
        #expect(ConnectionSwitch.between(applied: onInternal, desired: onInternal, observed: observed).isEmpty)
        #expect(ConnectionSwitch.between(applied: onInternal, desired: onExternal, observed: ObservedState()).isEmpty, "nothing running to move")
    }

    @Test func retiredTargetGoesOnlyAfterTheConsumerPassedItsGate() {
        let switches = ConnectionSwitch.between(applied: onInternal, desired: onExternal, observed: observed)
        let plan = Planner.plan(desired: onExternal, observed: observed, switches: switches)
        #expect(
            plan.description == """
                #1 stop container app-web (id-web-00000) (spec changed)
                #2 [#1] rename container app-web (id-web-00000) to id-web-00000_app-web (keeps the name app-web free for the new container)
                #3 [#1,#2] create container app-web (spec changed)
                #4 [#3] start container app-web (spec changed)
                #5 [#4] wait-healthy container app-web (must be healthy to converge)
                #6 [#5] remove container app-web (id-web-00000) (replaced by new app-web)
                #7 [#5] stop container app-db (id-db-000000) (orphan: no longer in the manifests)
                #8 [#5,#7] remove container app-db (id-db-000000) (orphan: no longer in the manifests)
                """, "\(plan.description)")
    }

    @Test func aFailedPreflightLeavesThePlanWithoutSteps() {
        var probed = observed
        probed.preflight = [
            PreflightCheck(
                connection: "database", profile: "external-db", target: "db.outside:5432", network: "app_default",
                result: .failed("nc: bad address 'db.outside'"))
        ]
        let plan = Planner.plan(
            desired: onExternal, observed: probed, switches: ConnectionSwitch.between(applied: onInternal, desired: onExternal, observed: observed))
        #expect(plan.steps.isEmpty)
        #expect(plan.refused && !plan.isConverged)
        #expect(
            plan.description
                == "check connection database (external-db): db.outside:5432 did not answer from network app_default: nc: bad address 'db.outside'; nothing was changed"
        )
    }
}

extension PlannerTests {
    /// Health an Engine does not report (Podman's container list) is unknown: no gate is waited
    /// for on a running container. A known `starting` or `unhealthy` is.
    @Test(arguments: [("healthy", ""), (nil, ""), ("starting", "#1 wait-healthy container app-db (id-db-000000) (must be healthy to converge)")])
    func healthGateOnARunningContainer(_ health: String?, _ expected: String) {
        let observed = editing("db") { $0.health = health }
        #expect(plan(observed) == expected)
    }
}

extension PlannerTests {
    /// The digest an image carries for a reference, in Docker's spelling and in Podman's.
    @Test func registryDigestOfAnImage() {
        let image = ObservedImage(id: "sha256:0", repoDigests: ["127.0.0.1:5000/pm/app@sha256:aaa", "docker.io/library/web@sha256:bbb"])
        #expect(image.digest(for: "127.0.0.1:5000/pm/app:1") == "sha256:aaa")
        #expect(image.digest(for: "web:2") == "sha256:bbb")
        #expect(image.digest(for: "127.0.0.1:5000/pm/other:1") == nil)
        #expect(image.digest(for: "app:1") == nil)
    }

    /// A container in another's network namespace is made again when that one is replaced, in the
    /// same plan (after it) or earlier (the Engine recorded the old one's id).
    @Test func aSharerFollowsTheContainerItSharesWith() throws {
        let state = try Fixtures.inline([
            "s.yaml": """
            kind: Stack
            name: app
            ---
            kind: Service
            name: web
            image: web:1
            ---
            kind: Service
            name: probe
            image: probe:1
            depends_on: [web]
            """
        ])
        var desired = state
        let probe = desired.containers.firstIndex { $0.service == "probe" }!
        var options = RuntimeOptions()
        options.networkMode = "container:app-web"
        desired.containers[probe].runtime = options
        desired.containers[probe].networks = []
        desired.containers[probe].specHash = SpecHash.compute(desired.containers[probe])
        var observed = converged(desired)
        let sharer = observed.containers.firstIndex { $0.service == "probe" }!
        observed.containers[sharer].networkMode = "container:id-web-0000000000000"
        #expect(Planner.plan(desired: desired, observed: observed, previous: [:], options: .init()).steps.isEmpty)

        observed.containers.removeAll { $0.service == "web" }
        #expect(
            Planner.plan(desired: desired, observed: observed, previous: [:], options: .init()).description == """
                #1 create container app-web (missing)
                #2 [#1] start container app-web (missing)
                #3 stop container app-probe (id-probe-000) (shares the namespace or volumes of app-web, which was replaced)
                #4 [#3] rename container app-probe (id-probe-000) to id-probe-000_app-probe (keeps the name app-probe free for the new container)
                #5 [#2,#3,#4] create container app-probe (shares the namespace or volumes of app-web, which was replaced)
                #6 [#2,#5] start container app-probe (shares the namespace or volumes of app-web, which was replaced)
                #7 [#6] remove container app-probe (id-probe-000) (replaced by new app-probe)
                """)
    }
}

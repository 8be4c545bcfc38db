import BerthModel
import Testing

/// `Plan.lateRepairs`: what a round still executing may take on from a plan made while it runs.
@Suite struct LateRepairsTests {
    static let manifests = [
        "s.yaml": """
        kind: Stack
        name: app
        ---
        kind: Service
        name: db
        image: db:1
        healthcheck: {test: [CMD, true], interval: 1s, retries: 2}
        ---
        kind: Service
        name: web
        image: web:1
        depends_on: {db: {condition: service_healthy}}
        ---
        kind: Service
        name: a
        image: a:1
        ---
        kind: Service
        name: b
        image: b:1
        networks: [default, back]
        ---
        kind: Network
        name: back
        """
    ]

    /// What changed on a converged host, the services the round already acts on, and the
    /// services (in plan order) whose steps a late plan may run.
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let change: @Sendable (inout ObservedState) -> Void
        let taken: Set<String>
        let expected: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a removed container", change: { $0.remove("a") }, taken: [], expected: ["a"]),
        Case(
            name: "a stopped container is the round's",
            change: {
                $0.edit("a") {
                    $0.state = "exited"; $0.status = "Exited (137)"
                }
            }, taken: [], expected: []),
        Case(name: "one the round acts on already", change: { $0.remove("a") }, taken: ["a"], expected: []),
        Case(
            name: "several, one taken",
            change: {
                $0.remove("a"); $0.remove("b")
            }, taken: ["b"], expected: ["a"]),
        Case(name: "a second network attached after the create", change: { $0.remove("b") }, taken: [], expected: ["b"]),
        Case(
            name: "a dependent and what it waits on, both gone",
            change: {
                $0.remove("db"); $0.remove("web")
            }, taken: [], expected: ["db", "web"]),
        Case(
            name: "a dependent whose dependency the round restarts",
            change: {
                $0.remove("db"); $0.remove("web")
            }, taken: ["db"], expected: []),
        Case(
            name: "a changed spec is a rollout, not a repair",
            change: { $0.edit("a") { $0.labels["berth.spec-hash"] = "old" } }, taken: [], expected: []),
        Case(name: "a renamed container", change: { $0.edit("a") { $0.name = "elsewhere" } }, taken: [], expected: []),
        Case(
            name: "a missing network blocks what needs it",
            change: { observed in
                observed.networks.removeAll { $0.name == "app_back" }; observed.remove("b")
            },
            taken: [], expected: []),
        Case(
            name: "a foreign container holding the name is a conflict",
            change: { observed in
                observed.remove("a");
                observed.containers.append(
                    ObservedContainer(id: "foreign-00000000", name: "app-a", labels: [:], imageID: "x", state: "running", status: "Up", networks: []))
            },
            taken: [], expected: []),
    ]

    @Test(arguments: cases) func takesOnlyWholePlainRepairs(_ entry: Case) throws {
        let desired = try Fixtures.inline(Self.manifests)
        var observed = PlannerTests.converged(desired)
        entry.change(&observed)
        let plan = Planner.plan(desired: desired, observed: observed)
        let late = plan.lateRepairs(excluding: entry.taken)
        var services: [String] = []
        for step in late.steps where !services.contains(step.service!) { services.append(step.service!) }
        #expect(services == entry.expected, "\(plan)")
        // Every step of a service taken is taken, and nothing waits on a step left out.
        let ids = Set(late.steps.map(\.id))
        #expect(late.steps.allSatisfy { $0.dependsOn.allSatisfy(ids.contains) })
        #expect(plan.steps.filter { $0.service.map(entry.expected.contains) == true }.map(\.id) == late.steps.map(\.id))
    }

    @Test func renumberingKeepsDependencies() throws {
        let desired = try Fixtures.inline(Self.manifests)
        var observed = PlannerTests.converged(desired)
        observed.remove("db")
        observed.remove("web")
        let late = Planner.plan(desired: desired, observed: observed).lateRepairs(excluding: [])
        let moved = late.renumbered(from: 40)
        #expect(moved.steps.map(\.id).min() == 40)
        #expect(moved.steps.map { $0.dependsOn.map { $0 - 39 } } == late.steps.map { $0.dependsOn.map { $0 - (late.steps[0].id - 1) } })
        #expect(moved.steps.map(\.operation) == late.steps.map(\.operation))
    }

    /// A burst under watch: `a` is gone, `b`'s container is still being removed. The round
    /// acts on `a` at once; `b`, repaired late once it is gone, waits no more.
    @Test func aRoundActsBesideARemovalAndTakesItOnLater() throws {
        let desired = try Fixtures.inline(Self.manifests)
        var observed = PlannerTests.converged(desired)
        observed.remove("a")
        observed.edit("b") { $0.state = "removing" }
        var plan = Planner.plan(desired: desired, observed: observed)
        #expect(plan.waiting.map(\.service) == ["b"])
        #expect(Set(plan.steps.compactMap(\.service)) == ["a"])
        #expect(plan.waitsOutRemovals(takingOnLateRepairs: false))
        #expect(!plan.waitsOutRemovals(takingOnLateRepairs: true))

        observed.remove("b")
        let found = Planner.plan(desired: desired, observed: observed).lateRepairs(excluding: ["a"])
        let before = plan.steps
        let appended = plan.takeOn(found)
        #expect(Set(appended.steps.compactMap(\.service)) == ["b"])
        #expect(appended.steps.map(\.id).min() == before.map(\.id).max()! + 1)
        #expect(plan.steps == before + appended.steps)
        #expect(plan.waiting.isEmpty)
        #expect(Set(plan.steps.map(\.id)).count == plan.steps.count)
    }

    /// With nothing else to do, a round waits out the removal even under watch: acting would
    /// end it at once, `pending`, only for the next event to start another.
    @Test func aRoundWithOnlyARemovalWaitsItOut() throws {
        let desired = try Fixtures.inline(Self.manifests)
        var observed = PlannerTests.converged(desired)
        observed.edit("a") { $0.state = "removing" }
        let plan = Planner.plan(desired: desired, observed: observed)
        #expect(plan.steps.isEmpty)
        #expect(plan.waitsOutRemovals(takingOnLateRepairs: true))
        #expect(!Planner.plan(desired: desired, observed: PlannerTests.converged(desired)).waitsOutRemovals(takingOnLateRepairs: false))
    }
}

extension ObservedState {
    fileprivate mutating func remove(_ service: String) { containers.removeAll { $0.service == service } }
    fileprivate mutating func edit(_ service: String, _ change: (inout ObservedContainer) -> Void) {
        let index = containers.firstIndex { $0.service == service }!
        change(&containers[index])
    }
}

/// A swarm as Berth observed it: the stack's services (with their tasks) and networks, and
/// whatever else holds a name the stack wants.
public struct ObservedSwarm: Sendable, Equatable {
    public var services: [ObservedSwarmService]
    public var networks: [ObservedNetwork]
    /// The stack's secrets and configs.
    public var objects: [ObservedSwarmObject]
    /// Nodes the managers do not hear from (not `ready`), by id, with their host names.
    public var nodesDown: [String: String]

    public init(
        services: [ObservedSwarmService] = [], networks: [ObservedNetwork] = [], objects: [ObservedSwarmObject] = [],
        nodesDown: [String: String] = [:]
    ) {
        self.services = services
        self.networks = networks
        self.objects = objects
        self.nodesDown = nodesDown
    }
}

/// A secret or config the swarm holds: never its content.
public struct ObservedSwarmObject: Sendable, Equatable {
    public var kind: SwarmObject.Kind
    public var id: String
    public var name: String
    public var labels: [String: String]

    public init(kind: SwarmObject.Kind, id: String, name: String, labels: [String: String]) {
        self.kind = kind
        self.id = id
        self.name = name
        self.labels = labels
    }
}

public struct ObservedSwarmService: Sendable, Equatable {
    public var id: String
    /// The spec's version: an update names it, and the Engine refuses it if the service moved on.
    public var version: UInt64
    /// The service's own labels (ownership).
    public var labels: [String: String]
    public var spec: SwarmServiceSpec
    /// Tasks the orchestrator wants running that are running.
    public var runningTasks: Int
    /// Tasks the orchestrator wants running: the replicas, or one per eligible node when global.
    public var desiredTasks: Int
    /// Why tasks that should run do not (the Engine's task errors), newest first.
    public var taskErrors: [String]
    /// The nodes its tasks run on, or ran on until the swarm lost them.
    public var taskNodes: Set<String> = []
    /// A rolling update's state (`updating`, `paused`, `rollback_completed`, …), if one ran.
    public var updateState: String?

    public init(
        id: String, version: UInt64, labels: [String: String], spec: SwarmServiceSpec, runningTasks: Int, desiredTasks: Int? = nil,
        taskErrors: [String] = [], updateState: String? = nil
    ) {
        self.desiredTasks = desiredTasks ?? spec.replicas
        self.id = id
        self.version = version
        self.labels = labels
        self.spec = spec
        self.runningTasks = runningTasks
        self.taskErrors = taskErrors
        self.updateState = updateState
    }

    public var stack: String? { labels[Resolver.Label.stack] }
}

/// desired + observed swarm → plan. Swarm schedules, restarts and rolls tasks itself; Berth
/// declares the services and networks, and says why each step is there. Pure, like `Planner`.
public enum SwarmPlanner {
    /// The driver every network of a swarm stack gets: a bridge cannot span nodes.
    public static let networkDriver = "overlay"

    public static func plan(desired: DesiredState, observed: ObservedSwarm) -> Plan {
        var plan = Plan(stack: desired.stack)
        var nextID = 1
        func add(_ operation: Operation, _ cause: Cause, after: [Int] = [], service: String? = nil) -> Int {
            plan.steps.append(PlanStep(id: nextID, operation: operation, cause: cause, dependsOn: after, service: service))
            nextID += 1
            return nextID - 1
        }
        let stack = desired.stack

        // Networks first: every service needs its networks.
        var networkSteps: [Int] = []
        for network in desired.networks {
            let found = observed.networks.filter { $0.name == network.engineName }
            if network.external {
                if found.isEmpty {
                    plan.conflicts.append(Conflict(resource: "network \(network.engineName)", reason: "external network does not exist"))
                }
                continue
            }
            guard let existing = found.first else {
                var overlay = network
                overlay.driver = networkDriver
                networkSteps.append(add(.createNetwork(overlay), .missing))
                continue
            }
            if existing.stack != stack {
                plan.conflicts.append(Conflict(resource: "network \(network.engineName)", reason: "exists and is not this stack's"))
            } else if existing.driver != networkDriver {
                plan.conflicts.append(
                    Conflict(
                        resource: "network \(network.engineName)",
                        reason: "is a \(existing.driver) network; a swarm stack needs overlay (remove it, e.g. with berth down)"))
            }
        }

        let deployment = desired.swarm ?? SwarmDeployment()
        let ownedVolumes = Set(desired.volumes.filter { !$0.external }.map(\.engineName))
        let specs = desired.containers.map { container in
            SwarmServiceSpec(
                container, deploy: deployment.services[container.service] ?? SwarmServiceDeploy(), secrets: deployment.secrets, stack: stack,
                ownedVolumes: ownedVolumes)
        }

        // Secrets and configs next: a service names them by id, so they exist before it.
        var objectSteps: [Int] = []
        var seen = Set(observed.objects.map(\.name))
        for object in specs.flatMap(\.objects) where seen.insert(object.name).inserted {
            objectSteps.append(add(.createObject(object), .missing))
        }

        let wanted = Set(specs.map(\.name))
        var waits: [Int] = []
        var waitOf: [String: Int] = [:]
        var keptReferences = Set<String>()
        let dependencies = Dictionary(desired.containers.map { ($0.service, $0.dependsOn.map(\.service)) }, uniquingKeysWith: { a, _ in a })
        for spec in dependencyOrder(specs, dependencies) {
            // A service rolls out once what it depends on (a connection's target too) runs as asked.
            let before = networkSteps + objectSteps + (dependencies[spec.service] ?? []).compactMap { waitOf[$0] }
            func waited(_ step: Int) {
                waits.append(add(.waitService(spec), .healthGate, after: [step], service: spec.service))
                waitOf[spec.service] = waits.last
            }
            guard let existing = observed.services.first(where: { $0.spec.name == spec.name }) else {
                waited(add(.createService(spec), .missing, after: before, service: spec.service))
                continue
            }
            guard existing.stack == stack else {
                keptReferences.formUnion(existing.spec.files.map(\.object.name))
                plan.conflicts.append(Conflict(resource: "service \(spec.name)", reason: "exists and is not this stack's"))
                continue
            }
            let changed = spec.changes(from: existing.spec)
            if !changed.isEmpty {
                waited(
                    add(
                        .updateService(id: existing.id, version: existing.version, spec), .specChanged(fields: changed), after: before,
                        service: spec.service))
            } else if existing.runningTasks < existing.desiredTasks || (!spec.global && existing.runningTasks < spec.replicas) {
                // A node that went down is the reason before any task's own error.
                let down = existing.taskNodes.compactMap { observed.nodesDown[$0] }.sorted()
                let lost = down.isEmpty ? [] : ["node\(down.count == 1 ? "" : "s") \(down.joined(separator: ", ")) down"]
                let reasons = lost + existing.taskErrors.prefix(1)
                let why = reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; ")
                let of = spec.global ? existing.desiredTasks : spec.replicas
                plan.waiting.append(Conflict(resource: "service \(spec.name)", reason: "\(existing.runningTasks) of \(of) tasks running\(why)"))
            }
        }

        // What the stack no longer declares, services before their networks, once every rollout
        // passed: a profile switch's retired target (the internal database) keeps serving until its
        // consumers run healthy elsewhere, and stays for them to go back to if one does not.
        var removals: [Int] = []
        for service in observed.services where service.stack == stack && !wanted.contains(service.spec.name) {
            removals.append(add(.removeService(id: service.id, name: service.spec.name), .orphan, after: waits, service: service.spec.service))
        }
        let networks = Set(desired.networks.map(\.engineName))
        for network in observed.networks where network.stack == stack && !networks.contains(network.name) {
            _ = add(.removeNetwork(name: network.name), .orphan, after: removals)
        }

        // Older versions of secrets and configs go once every rollout that left them is done,
        // and not at all when a rollout fails (the swarm rolls the service back onto them).
        let desiredObjects = Set(specs.flatMap(\.objects).map(\.name))
        for object in observed.objects where !desiredObjects.contains(object.name) && !keptReferences.contains(object.name) {
            _ = add(.removeObject(object.kind, id: object.id, name: object.name), .superseded, after: waits + removals)
        }
        return plan
    }

    /// `specs` with each after the services it depends on, otherwise in their order (the loader
    /// refuses dependency cycles).
    static func dependencyOrder(_ specs: [SwarmServiceSpec], _ dependencies: [String: [String]]) -> [SwarmServiceSpec] {
        let byService = Dictionary(specs.map { ($0.service, $0) }, uniquingKeysWith: { a, _ in a })
        var ordered: [SwarmServiceSpec] = []
        var placed = Set<String>()
        func place(_ service: String, _ path: Set<String>) {
            guard !placed.contains(service), !path.contains(service), let spec = byService[service] else { return }
            for dependency in dependencies[service] ?? [] { place(dependency, path.union([service])) }
            placed.insert(service)
            ordered.append(spec)
        }
        for spec in specs { place(spec.service, []) }
        return ordered
    }

    /// Removes every service of `stack`, then its secrets and configs. Its networks carry the
    /// stack's label like a single Engine's, and `Planner.down` removes them after these steps
    /// (named volumes stay on the nodes).
    public static func down(stack: String, observed: ObservedSwarm) -> Plan {
        var plan = Plan(stack: stack)
        for service in observed.services where service.stack == stack {
            plan.steps.append(
                PlanStep(
                    id: plan.steps.count + 1, operation: .removeService(id: service.id, name: service.spec.name), cause: .down, dependsOn: [],
                    service: service.spec.service))
        }
        let services = plan.steps.map(\.id)
        for object in observed.objects where object.labels[Resolver.Label.stack] == stack {
            plan.steps.append(
                PlanStep(
                    id: plan.steps.count + 1, operation: .removeObject(object.kind, id: object.id, name: object.name), cause: .down,
                    dependsOn: services))
        }
        return plan
    }
}

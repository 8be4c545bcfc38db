/// An ordered set of steps that takes the host from observed to desired. Steps form a DAG
/// (`dependsOn`); each is one Engine operation with the cause that made the planner add it.
public struct Plan: Sendable, Equatable, CustomStringConvertible {
    public var stack: String
    public var steps: [PlanStep]
    /// What Berth will not touch and so cannot converge (names held by others, missing externals).
    public var conflicts: [Conflict]
    /// The preflight of each connection switch. One that failed leaves the plan without steps.
    public var checks: [PreflightCheck] = []
    /// What the Engine is still doing (a container being removed) and this plan leaves to the
    /// next reconcile: not a conflict, nothing is in the way for long.
    public var waiting: [Conflict] = []

    public init(stack: String, steps: [PlanStep] = [], conflicts: [Conflict] = []) {
        self.stack = stack
        self.steps = steps
        self.conflicts = conflicts
    }

    /// True when the host already matches: nothing to do and nothing blocking.
    public var isConverged: Bool { steps.isEmpty && conflicts.isEmpty && waiting.isEmpty && !refused }

    /// A connection switch whose new target did not answer: nothing is done.
    public var refused: Bool { checks.contains(where: \.failed) }

    /// Steps that change the host (waits and hooks aside), i.e. the drift found.
    public var changeCount: Int { steps.filter { $0.operation.isWrite }.count }

    /// One line per step: `#id [deps] -> operation target (cause)`; conflicts last.
    public var description: String {
        var lines = steps.map { step in
            let deps = step.dependsOn.isEmpty ? "" : " [" + step.dependsOn.map { "#\($0)" }.joined(separator: ",") + "]"
            return "#\(step.id)\(deps) \(step.operation.kind) \(step.operation.target) (\(step.cause))"
        }
        lines += conflicts.map { "conflict \($0.resource): \($0.reason)" }
        lines += waiting.map { "wait \($0.resource): \($0.reason)" }
        lines = checks.map { "check \($0)" } + lines
        return lines.joined(separator: "\n")
    }
}

public struct PlanStep: Sendable, Equatable {
    public var id: Int
    public var operation: Operation
    public var cause: Cause
    public var dependsOn: [Int]
    /// The service whose container the step acts on; nil for networks, volumes, images and
    /// containers no service of the stack owns. Backoff, `status` and the log go by this, never
    /// by the display text.
    public var service: String?
    /// The container acted on, when it exists before the plan runs (a created one gets its id
    /// when the step runs: `StepResult.containerID`).
    public var containerID: String?

    public init(id: Int, operation: Operation, cause: Cause, dependsOn: [Int], service: String? = nil, containerID: String? = nil) {
        self.id = id
        self.operation = operation
        self.cause = cause
        self.dependsOn = dependsOn
        self.service = service
        self.containerID = containerID
    }
}

/// Something in the way that Berth does not own and will not remove.
public struct Conflict: Sendable, Equatable, Codable {
    public var resource: String
    public var reason: String
    /// The service it holds back, when it is one service's (a container being removed).
    public var service: String?

    public init(resource: String, reason: String, service: String? = nil) {
        self.resource = resource
        self.reason = reason
        self.service = service
    }
}

/// A container a step acts on: one that exists, or the one a `create` step of this plan makes.
public enum ContainerRef: Sendable, Equatable, CustomStringConvertible {
    case existing(id: String, name: String)
    case created(service: String, name: String)

    public var description: String {
        switch self {
        case .existing(let id, let name): "container \(name) (\(id.prefix(12)))"
        case .created(_, let name): "container \(name)"
        }
    }

    /// The id of a container that exists before the plan runs.
    public var existingID: String? {
        if case .existing(let id, _) = self { id } else { nil }
    }
}

/// The kind of a step, by the name plans print and the log stores.
public enum StepKind: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case createNetwork = "create-network", removeNetwork = "remove-network", disconnect, connect
    case createVolume = "create-volume", removeVolume = "remove-volume", adoptVolume = "adopt-volume", buildImage = "build-image", pullImage =
        "pull-image"
    case create, start, stop, rename, remove
    case waitHealthy = "wait-healthy", waitCompleted = "wait-completed", drain, hook
    case createService = "create-service", updateService = "update-service", removeService = "remove-service", waitService = "wait-service"
    case createSecret = "create-secret", createConfig = "create-config", removeSecret = "remove-secret", removeConfig = "remove-config"

    public var description: String { rawValue }
}

/// One Engine operation. Each case carries exactly what its call needs.
public enum Operation: Sendable, Equatable {
    case createNetwork(NetworkSpec)
    case removeNetwork(name: String)
    case disconnectNetwork(ContainerRef, network: String)
    case connectNetwork(ContainerRef, NetworkAttachment)
    case createVolume(VolumeSpec)
    case removeVolume(name: String)
    /// Takes a volume Berth did not make into the stack: no Engine change, recorded in the log.
    case adoptVolume(name: String)
    case buildImage(image: String, BuildSpec)
    case pullImage(image: String)
    case createContainer(ContainerSpec)
    case startContainer(ContainerRef)
    case stopContainer(ContainerRef, timeoutSeconds: Int?)
    case renameContainer(ContainerRef, to: String)
    case removeContainer(ContainerRef)
    /// Polls until the container's healthcheck reports healthy, or fails at the deadline.
    case waitHealthy(ContainerRef, deadlineMilliseconds: Int64)
    /// Waits for the container to exit and requires exit code 0 (`depends_on: completed`).
    case waitCompleted(ContainerRef)
    /// Keeps a replaced container serving for a while after its successor took the aliases.
    case drain(ContainerRef, milliseconds: Int64)
    case runHook(ContainerRef, HookSpec)
    /// A swarm: the service with its tasks; the swarm schedules and starts them.
    case createService(SwarmServiceSpec)
    /// Replaces the spec read at `version`; the swarm rolls the tasks over.
    case updateService(id: String, version: UInt64, SwarmServiceSpec)
    case removeService(id: String, name: String)
    /// Waits until the service's tasks all run (healthy, where it has a healthcheck) and its
    /// rolling update completed; fails when the swarm rolled it back or paused it.
    case waitService(SwarmServiceSpec)
    /// A Swarm secret or config, made before the services that mount it.
    case createObject(SwarmObject)
    case removeObject(SwarmObject.Kind, id: String, name: String)

    /// Stable name of the operation, as shown in plans and stored in the log.
    public var kind: StepKind {
        switch self {
        case .createNetwork: .createNetwork
        case .removeNetwork: .removeNetwork
        case .disconnectNetwork: .disconnect
        case .connectNetwork: .connect
        case .createVolume: .createVolume
        case .removeVolume: .removeVolume
        case .adoptVolume: .adoptVolume
        case .buildImage: .buildImage
        case .pullImage: .pullImage
        case .createContainer: .create
        case .startContainer: .start
        case .stopContainer: .stop
        case .renameContainer: .rename
        case .removeContainer: .remove
        case .waitHealthy: .waitHealthy
        case .waitCompleted: .waitCompleted
        case .drain: .drain
        case .runHook: .hook
        case .createService: .createService
        case .updateService: .updateService
        case .removeService: .removeService
        case .waitService: .waitService
        case .createObject(let object): object.kind == .secret ? .createSecret : .createConfig
        case .removeObject(let kind, _, _): kind == .secret ? .removeSecret : .removeConfig
        }
    }

    /// What it acts on, for people: `container shop-web`, `network shop_default`, …
    public var target: String {
        switch self {
        case .createNetwork(let spec): "network \(spec.engineName)"
        case .removeNetwork(let name): "network \(name)"
        case .disconnectNetwork(let ref, let network): "\(ref) from network \(network)"
        case .connectNetwork(let ref, let attachment): "\(ref) to network \(attachment.network)"
        case .createVolume(let spec): "volume \(spec.engineName)"
        case .removeVolume(let name), .adoptVolume(let name): "volume \(name)"
        case .buildImage(let image, _), .pullImage(let image): "image \(image)"
        case .createContainer(let spec): "container \(spec.name)"
        case .renameContainer(let ref, let name): "\(ref) to \(name)"
        case .runHook(let ref, let hook): "\(hook.name) in \(ref)"
        case .drain(let ref, let milliseconds): "\(ref) for \(milliseconds) ms"
        case .createService(let spec), .updateService(_, _, let spec): "service \(spec.name) (\(spec.taskCount) × \(spec.image))"
        case .removeService(_, let name): "service \(name)"
        case .waitService(let spec): "service \(spec.name): \(spec.global ? "a task on every eligible node" : "\(spec.replicas) task(s)") running"
        case .createObject(let object): object.description
        case .removeObject(let kind, _, let name): "\(kind) \(name)"
        case .startContainer(let ref), .stopContainer(let ref, _), .removeContainer(let ref), .waitHealthy(let ref, _),
            .waitCompleted(let ref):
            ref.description
        }
    }

    /// The container it acts on, if any; a `create` acts on the container it makes.
    public var container: ContainerRef? {
        switch self {
        case .createContainer(let spec): .created(service: spec.service, name: spec.name)
        case .disconnectNetwork(let ref, _), .connectNetwork(let ref, _), .startContainer(let ref), .stopContainer(let ref, _),
            .renameContainer(let ref, _), .removeContainer(let ref), .waitHealthy(let ref, _), .waitCompleted(let ref), .drain(let ref, _),
            .runHook(let ref, _):
            ref
        case .createNetwork, .removeNetwork, .createVolume, .removeVolume, .adoptVolume, .buildImage, .pullImage, .createService, .updateService,
            .removeService, .waitService, .createObject, .removeObject:
            nil
        }
    }

    /// Whether it changes the host (waits do not).
    public var isWrite: Bool {
        switch self {
        case .waitHealthy, .waitCompleted, .drain, .waitService: false
        default: true
        }
    }
}

/// Why a step is in the plan. The text is stable: tests and the log compare it.
public enum Cause: Sendable, Equatable, CustomStringConvertible {
    case missing
    case stopped(status: String)
    case specChanged(fields: [String])
    case imageChanged(from: String, to: String)
    /// The registry serves a different image for the tag than the host has.
    case registryNewer(local: String?, remote: String)
    case renamed(currentName: String)
    case detached(network: String)
    case networkChanged(String)
    case networkRecreated(String)
    case imageMissing
    case buildContextChanged
    case imageRebuilt(String)
    case pullAlways
    case orphan
    case duplicate
    case duplicateNetwork
    /// A volume made by someone else, used on request (`adopt: true`).
    case adopted
    /// The project's own volume, made by Docker Compose before the project moved to Berth.
    case composeVolume
    case replaced(by: String)
    case makeRoom(for: String)
    /// start-first: the new container, healthy, takes the service's network aliases …
    case aliasesMove(to: String)
    /// … and its name once the old container is gone.
    case promoted
    case conflictReplaced
    case dependency(of: String, DependencyCondition)
    case healthGate
    case hookPending(String)
    case unstartable(failures: Int)
    /// The Engine marked it dead (removed by someone else just now, or a removal that failed):
    /// it can never start again, only be removed.
    case dead
    /// It shares the network namespace or volumes of this container, which was replaced.
    case sharedContainerReplaced(String)
    /// Made but never started, with files written after the create: possibly without them.
    case filesUnconfirmed
    /// A Swarm secret's or config's older version, which no service mounts once the rollout is done.
    case superseded
    case down

    /// A bounded name for the kind of drift, for metrics: `missing`, `stopped`, `spec-changed`, …
    public var kind: String {
        switch self {
        case .missing: "missing"
        case .stopped: "stopped"
        case .specChanged: "spec-changed"
        case .imageChanged, .imageRebuilt, .buildContextChanged, .registryNewer: "image-changed"
        case .renamed: "renamed"
        case .detached: "detached"
        case .networkChanged, .networkRecreated: "network-changed"
        case .imageMissing, .pullAlways: "image-missing"
        case .orphan: "orphan"
        case .duplicate, .duplicateNetwork: "duplicate"
        case .adopted, .composeVolume: "adopted"
        case .conflictReplaced: "conflict"
        case .hookPending: "hook-pending"
        case .unstartable, .dead: "unstartable"
        case .sharedContainerReplaced: "shared-replaced"
        case .filesUnconfirmed: "incomplete"
        case .superseded: "superseded"
        case .replaced, .makeRoom, .aliasesMove, .promoted, .dependency, .healthGate, .down: "follow-up"
        }
    }

    public var description: String {
        switch self {
        case .missing: "missing"
        case .stopped(let status): status.isEmpty ? "stopped" : "stopped: \(status)"
        case .specChanged(let fields): fields.isEmpty ? "spec changed" : "spec changed: \(fields.joined(separator: ", "))"
        case .imageChanged(let from, let to): "image changed: \(from.prefix(19)) → \(to.prefix(19))"
        case .registryNewer(let local, let remote): "registry has \(remote.prefix(19))\(local.map { ", host has \($0.prefix(19))" } ?? "")"
        case .renamed(let name): "renamed to \(name)"
        case .detached(let network): "detached from network \(network)"
        case .networkChanged(let what): "network \(what) changed"
        case .networkRecreated(let network): "network \(network) recreated"
        case .imageMissing: "image not on the host"
        case .buildContextChanged: "build context changed"
        case .imageRebuilt(let image): "image \(image) rebuilt"
        case .pullAlways: "pull_policy always"
        case .orphan: "orphan: no longer in the manifests"
        case .duplicate: "duplicate container of the service"
        case .duplicateNetwork: "a second network of the stack with this name; the oldest stays"
        case .adopted: "made outside Berth; adopted on request"
        case .composeVolume: "made by Docker Compose for this project; adopted with its data"
        case .replaced(let name): "replaced by new \(name)"
        case .makeRoom(let name): "keeps the name \(name) free for the new container"
        case .aliasesMove(let name): "network aliases move to the new \(name), now healthy"
        case .promoted: "the new container takes the service's name"
        case .conflictReplaced: "conflict: replaced on request"
        case .dependency(let dependent, let condition): "\(dependent) waits for it (\(condition.rawValue))"
        case .healthGate: "must be healthy to converge"
        case .hookPending(let hook): "hook \(hook) not yet run in this container"
        case .unstartable(let failures): "failed to start \(failures) times; replacing the container"
        case .dead: "dead: the Engine cannot start it again; replacing the container"
        case .sharedContainerReplaced(let name): "shares the namespace or volumes of \(name), which was replaced"
        case .filesUnconfirmed: "made but never started; made again so the files written into it are certain"
        case .superseded: "no service mounts it after the rollout"
        case .down: "down"
        }
    }
}

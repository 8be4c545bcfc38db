public import BerthEngine
import BerthModel

/// What an Engine event means for a watched stack: the one table. Pure, so it is tested by table.
public enum EventTable {
    /// What the loop does with an event.
    public enum Meaning: Sendable, Equatable {
        /// Someone stopped or killed the container (`docker stop` / `kill` send `kill` before the
        /// container dies): its death that follows is drift, not a crash.
        case stoppedByHand(container: String)
        /// The stack may have drifted: reconcile.
        case reconcile(Trigger)
    }

    /// Container actions that may mean drift, and what each says happened.
    static let containerActions: Set<String> = ["die", "stop", "destroy", "rename", "pause", "oom", "health_status: unhealthy"]
    /// Network actions that may mean drift (on the stack's own networks).
    static let networkActions: Set<String> = ["disconnect", "destroy"]

    /// Filters for the Engine's event stream. Filtering by action there matters: every
    /// healthcheck run on the host emits `exec_*` events, which would keep an idle loop busy.
    /// (`health_status` is the filter's name for all `health_status: …` actions.)
    public static let filters: [String: [String]] = [
        "type": ["container", "network"],
        "event": ["kill", "die", "stop", "destroy", "rename", "pause", "oom", "health_status", "disconnect"],
    ]

    /// A swarm stack's second stream: service events carry no labels, only the service's name,
    /// so they are asked for by type and matched against the stack's service names.
    public static let swarmFilters: [String: [String]] = ["type": ["service"], "event": ["update", "remove"]]

    /// - Parameter scope: Engine names of the stack's networks and containers.
    public static func meaning(of event: EngineEvent, stack: String, scope: StackScope) -> Meaning? {
        let name = event.actor.attributes["name"] ?? String(event.actor.id.prefix(12))
        switch event.type {
        case "service":
            // `docker service rm`, `scale`, `update` by hand (Berth's own updates wake one round
            // more, which finds the swarm at work and waits).
            guard scope.services.contains(name), ["update", "remove"].contains(event.action) else { return nil }
            return .reconcile(Trigger(.event, "service \(event.action) \(name)"))
        case "container":
            guard event.actor.attributes[Resolver.Label.stack] == stack else { return nil }
            if event.action == "kill" { return .stoppedByHand(container: event.actor.id) }
            guard containerActions.contains(event.action) else { return nil }
            return .reconcile(Trigger(.event, "\(event.action) \(name)", container: event.actor.id))
        case "network":
            guard networkActions.contains(event.action) else { return nil }
            // A network event names the container it is about, to read it fresh.
            let container = event.actor.attributes["container"]
            if event.actor.attributes["name"] == nil, let containerName = event.actor.attributes["containerName"] {
                // Podman's names the container but not the network: it concerns the stack if the container does.
                guard scope.containers.contains(containerName) else { return nil }
                return .reconcile(Trigger(.event, "network \(event.action) (container \(containerName))", container: container))
            }
            guard scope.networks.contains(name) else { return nil }
            let about = container.map { " (container \($0.prefix(12)))" } ?? ""
            return .reconcile(Trigger(.event, "network \(event.action) \(name)\(about)", container: container))
        default:
            return nil
        }
    }
}

/// What of the host belongs to a watched stack, by Engine name, as the last round desired it.
public struct StackScope: Sendable, Equatable {
    public var networks: Set<String>
    public var containers: Set<String>
    /// Its swarm services, when the stack targets a swarm.
    public var services: Set<String>
    public init(networks: Set<String> = [], containers: Set<String> = [], services: Set<String> = []) {
        self.networks = networks
        self.containers = containers
        self.services = services
    }
}

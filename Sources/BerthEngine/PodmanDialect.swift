/// Where Podman's Docker-compatible API (measured on Podman 4.3) answers differently from Docker's,
/// and how the client turns its answers back into Docker's shapes. Pure, so it is tested by table.
public enum PodmanDialect {
    // MARK: Events

    /// Podman's event filter matches its own action names: `died` (it sends `die`) and `remove`
    /// (it never sends `destroy`). Other names are the same.
    static let filterNames = ["die": "died", "destroy": "remove"]

    /// `filters` with Docker's action names given in Podman's.
    public static func eventFilters(_ filters: [String: [String]]) -> [String: [String]] {
        var translated = filters
        if let events = filters["event"] {
            var names: [String] = []
            for name in events.map({ filterNames[$0] ?? $0 }) where !names.contains(name) { names.append(name) }
            translated["event"] = names
        }
        return translated
    }

    /// A Podman event in Docker's words, or nil for one that says nothing new:
    /// - `remove` is Docker's `destroy`;
    /// - `health_status` with the status in its own field is `health_status: <status>`; Podman sends
    ///   it after every check, so a `healthy` one (nothing changed, as far as Docker would tell) is
    ///   dropped rather than waking the loop every interval;
    /// - a network `disconnect` names the container (its id and name) instead of the network: it
    ///   becomes one whose `container` and `containerName` attributes say so, and whose network is
    ///   unknown (no `name`).
    public static func normalized(_ event: EngineEvent) -> EngineEvent? {
        switch (event.type, event.action) {
        case ("container", "remove"):
            return EngineEvent(type: event.type, action: "destroy", actor: event.actor, timeNano: event.timeNano)
        case ("container", "health_status"):
            guard let status = event.healthStatus, status != "healthy" else { return nil }
            return EngineEvent(type: event.type, action: "health_status: \(status)", actor: event.actor, timeNano: event.timeNano)
        case ("network", "connect"), ("network", "disconnect"):
            guard event.actor.attributes["container"] == nil else { return event }
            var attributes: [String: String] = ["container": event.actor.id]
            attributes["containerName"] = event.actor.attributes["name"]
            return EngineEvent(
                type: event.type, action: event.action, actor: .init(id: "", attributes: attributes), timeNano: event.timeNano)
        default:
            return event
        }
    }

    // MARK: Health

    /// Podman's container list has no health in its status text; it answers a health filter.
    /// These are the filters to ask, one list each.
    static let healthStates = ["healthy", "unhealthy", "starting"]
}

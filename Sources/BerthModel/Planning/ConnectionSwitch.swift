/// A connection whose running consumers this reconcile points at another target: the heart of a
/// profile switch such as internal-db → external-db.
///
/// A switch is planned all or nothing: the new target must answer before anything is written
/// (`Preflight`), a service that stops being a target goes only after every consumer passed its
/// health gate on the new one, and a consumer that fails its gate sends the whole switch back.
public struct ConnectionSwitch: Sendable, Equatable {
    public var from: ResolvedConnection
    public var to: ResolvedConnection
    /// The network the consumers reach the target over, where the preflight probe runs.
    public var network: String?
    /// An image of a consumer, on the host, to run the preflight probe with.
    public var probeImage: String?

    public var connection: String { to.name }
    public var consumers: [String] { to.consumers }

    /// The stack's service that stops being a target (the internal database), if any.
    public var retiredTarget: String? {
        guard let service = from.targetService, service != to.targetService else { return nil }
        return service
    }

    /// `connection database (internal-db → external-db)`, as messages name it.
    public var title: String { "connection \(connection) (\(from.profile) → \(to.profile))" }

    /// The connections whose target differs between what was last applied and `desired`, and
    /// that have a running consumer to move. Pure.
    /// - Parameters:
    ///   - applied: the stack resolved with the selection it was last applied with.
    public static func between(applied: DesiredState, desired: DesiredState, observed: ObservedState) -> [ConnectionSwitch] {
        let running = Set(observed.containers.filter { $0.stack == desired.stack && $0.isRunning }.compactMap(\.service))
        return between(applied: applied, desired: desired, running: running) { observed.images[$0] != nil }
    }

    /// The same, given the services that run (on a swarm: those with a running task) and which
    /// images the host has for a probe.
    public static func between(
        applied: DesiredState, desired: DesiredState, running: Set<String>, hasImage: (String) -> Bool = { _ in false }
    ) -> [ConnectionSwitch] {
        desired.connections.compactMap { target in
            guard let before = applied.connections.first(where: { $0.name == target.name }),
                (before.host, before.port, before.targetService) != (target.host, target.port, target.targetService),
                target.consumers.contains(where: running.contains)
            else { return nil }
            let consumer = target.consumers.lazy.compactMap { desired.container($0) }.first
            return ConnectionSwitch(
                from: before, to: target, network: consumer?.networks.first?.network,
                probeImage: target.consumers.lazy.compactMap { desired.container($0)?.image }.first(where: hasImage))
        }
    }
}

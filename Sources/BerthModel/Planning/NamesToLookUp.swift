/// Engine names a plan looks at beyond what its stack owns. The observer lists only the stack's
/// own containers, networks and volumes (by label), so that what else the host runs costs
/// nothing; these are the few other names the plan must still see: a foreign object may hold a
/// name the stack wants, external networks and volumes are someone else's by design, a service
/// may share the namespace of a container outside the stack, and a stopped container may be
/// attached to a network that was made again since.
public struct NamesToLookUp: Sendable, Equatable {
    public var containers: Set<String> = []
    public var networks: Set<String> = []
    public var volumes: Set<String> = []

    public init(containers: Set<String> = [], networks: Set<String> = [], volumes: Set<String> = []) {
        self.containers = containers
        self.networks = networks
        self.volumes = volumes
    }

    public var isEmpty: Bool { containers.isEmpty && networks.isEmpty && volumes.isEmpty }

    /// The names `desired`'s plan reads that `observed` does not hold yet. Empty on a converged
    /// stack without external objects: a no-op then makes no lookup at all.
    public static func missing(for desired: DesiredState, in observed: ObservedState) -> NamesToLookUp {
        var wanted = NamesToLookUp()
        for spec in desired.containers {
            wanted.containers.insert(spec.name)
            if let runtime = spec.runtime {
                wanted.containers.formUnion([runtime.networkContainer].compactMap { $0 } + runtime.volumeContainers)
            }
            wanted.networks.formUnion(spec.networks.map(\.network))
        }
        wanted.networks.formUnion(desired.networks.map(\.engineName))
        wanted.volumes.formUnion(desired.volumes.map(\.engineName))
        for container in observed.containers where container.stack == desired.stack {
            wanted.networks.formUnion(container.networkIDs.keys)
        }
        return wanted.subtracting(observed)
    }

    /// These names less those `observed` has.
    public func subtracting(_ observed: ObservedState) -> NamesToLookUp {
        NamesToLookUp(
            containers: containers.subtracting(observed.containers.map(\.name)),
            networks: networks.subtracting(observed.networks.map(\.name)),
            volumes: volumes.subtracting(observed.volumes.map(\.name)))
    }
}

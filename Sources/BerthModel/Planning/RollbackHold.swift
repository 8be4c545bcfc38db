/// A service held at an earlier, healthy revision instead of what its manifests say: after a
/// rollout that failed its health gate (automatic rollback) or on request (`berth rollback`).
///
/// A hold lasts while the manifests still produce the replaced spec *and* its tag still names the
/// replaced image. Editing the service or pushing a new image under the tag ends it, so `watch`
/// never retries a failed rollout in a loop but picks up the next fix by itself.
public struct RollbackHold: Sendable, Codable, Equatable {
    public var service: String
    /// The spec hash the manifests produced that is not to run.
    public var replacedSpecHash: String
    /// The image its tag named then; nil when the spec itself was the problem.
    public var replacedImageID: String?
    public var replacedDigest: String?
    /// What runs instead, secrets redacted (their values come from the current environment).
    public var spec: ContainerSpec
    /// Why, e.g. `rollout in reconcile #12 failed: unhealthy …`.
    public var reason: String
    public var reconcileID: Int64

    public init(
        service: String, replacedSpecHash: String, replacedImageID: String?, replacedDigest: String?, spec: ContainerSpec, reason: String,
        reconcileID: Int64
    ) {
        self.service = service
        self.replacedSpecHash = replacedSpecHash
        self.replacedImageID = replacedImageID
        self.replacedDigest = replacedDigest
        self.spec = spec.redacted
        self.reason = reason
        self.reconcileID = reconcileID
    }

    /// Whether the hold still applies to `wanted` (the spec resolved from the manifests now).
    public func holds(_ wanted: ContainerSpec, observed: ObservedState) -> Bool {
        guard wanted.specHash == replacedSpecHash else { return false }
        if replacedImageID == nil && replacedDigest == nil { return true }
        let image = Self.imageBehind(wanted.image, observed: observed)
        if let digest = image.digest, digest == replacedDigest { return true }
        return image.id != nil && image.id == replacedImageID
    }

    /// The image `reference` will name once this reconcile's pulls are done: the registry's
    /// digest when it serves a new one, otherwise the local image.
    public static func imageBehind(_ reference: String, observed: ObservedState) -> (id: String?, digest: String?) {
        let local = observed.images[reference]
        let localDigest = local?.digest(for: reference)
        if case .digest(let remote) = observed.registryDigests[reference], remote != localDigest { return (nil, remote) }
        return (local?.id, localDigest)
    }

    /// The held spec ready to run: secret values filled in from `wanted` (the log never had
    /// them), hash recomputed. A secret rotated since then keeps its new value.
    public func restoredSpec(wanted: ContainerSpec) -> ContainerSpec {
        var spec = self.spec
        spec.environment = self.spec.environment.compactMap { variable in
            guard variable.isSecret else { return variable }
            return wanted.variable(variable.name).map { EnvironmentVariable(name: $0.name, value: $0.value, isSecret: true) }
        }
        spec.specHash = SpecHash.compute(spec)
        return spec
    }
}

extension DesiredState {
    /// This state with every still-applying hold's spec in place of the manifests' one.
    /// - Returns: also the holds that applied and those that no longer do (to be dropped).
    public func holding(_ holds: [RollbackHold], observed: ObservedState) -> (
        desired: DesiredState, applied: [RollbackHold], ended: [RollbackHold]
    ) {
        var copy = self
        var applied: [RollbackHold] = []
        var ended: [RollbackHold] = []
        for hold in holds {
            guard let index = containers.firstIndex(where: { $0.service == hold.service }), hold.holds(containers[index], observed: observed) else {
                ended.append(hold)
                continue
            }
            copy.containers[index] = hold.restoredSpec(wanted: containers[index])
            applied.append(hold)
        }
        return (copy, applied, ended)
    }
}

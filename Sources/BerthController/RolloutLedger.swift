import BerthEngine
import BerthModel
import BerthStore
import Foundation

/// The rollout bookkeeping of one reconcile: which containers it replaced and whether each new
/// one passed its gate, which (spec, image) revisions are known to run healthy, and where a
/// failed rollout goes back to.
struct RolloutLedger {
    let engine: any EngineClient
    let store: ReconcileStore
    let stack: String
    let reconcileID: Int64

    /// Logs a rollout per container created by `plan` and remembers the revisions that ran
    /// healthy: the new containers that passed, and running containers not yet on record.
    func record(
        plan: Plan, results: [Int: StepResult], desired: DesiredState, observed: ObservedState, swarm: ObservedSwarm? = nil
    ) async throws -> [RolloutRecord] {
        var rollouts = swarmRollouts(plan: plan, results: results, desired: desired, observed: swarm)
        var images: [String: ImageDetails] = [:]
        // Grouped once: a scan of every step and container per service made a big stack's
        // bookkeeping quadratic.
        let stepsOf = Dictionary(grouping: plan.steps.filter { $0.service != nil }, by: { $0.service! })
        let containersOf = Dictionary(grouping: observed.containers.filter { $0.stack == stack && $0.service != nil }, by: { $0.service! })
        for step in plan.steps {
            guard case .createContainer(let spec) = step.operation, let created = results[step.id] else { continue }
            if case .skipped = created.status { continue }
            let own = Set((stepsOf[spec.service] ?? []).map(\.id) + [step.id]).sorted().compactMap { results[$0] }
            let failure = own.first { !$0.succeeded }
            if images[spec.image] == nil { images[spec.image] = try? await engine.inspectImage(spec.image) }
            let image = images[spec.image]
            let old = containersOf[spec.service]?.max { !$0.isRunning && $1.isRunning }
            var rollout =
                RolloutRecord(
                    reconcileID: reconcileID, stack: stack, service: spec.service, cause: step.cause.description,
                    order: old == nil ? .create : spec.updateOrder == .startFirst ? .startFirst : .stopFirst, fromSpecHash: old?.specHash,
                    toSpecHash: spec.specHash,
                    fromImage: old?.imageID, toImage: image?.id, toDigest: image.flatMap { ObservedImage($0).digest(for: spec.image) },
                    outcome: failure == nil ? .healthy : .failed, error: failure?.error, startedAt: created.startedAt,
                    endedAt: own.map(\.endedAt).max() ?? created.endedAt)
            rollout.toRevision = image.map { spec.revisionKey(imageID: $0.id) }
            rollouts.append(rollout)
        }
        try store.recordRollouts(rollouts)

        let known = try store.healthyRevisions(stack: stack)
        var healthy: [(ContainerSpec, imageID: String, digest: String?)] = []
        for rollout in rollouts where rollout.outcome == .healthy {
            if let spec = desired.container(rollout.service), let image = rollout.toImage { healthy.append((spec, image, rollout.toDigest)) }
        }
        let touched = Set(plan.steps.compactMap { results[$0.id] == nil ? nil : $0.service } + rollouts.map(\.service))
        for spec in desired.containers where !touched.contains(spec.service) {
            guard
                let running = containersOf[spec.service]?.first(where: {
                    $0.specHash == spec.specHash && $0.isRunning
                        && (spec.rolloutDeadlineMilliseconds == nil || $0.health == "healthy")
                }), !known.contains("\(spec.service)/\(spec.specHash)/\(running.imageID)")
            else { continue }
            let image = observed.images[spec.image]
            healthy.append((spec, running.imageID, image?.id == running.imageID ? image?.digest(for: spec.image) : nil))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for (spec, imageID, digest) in healthy {
            try store.recordHealthy(
                RevisionRecord(
                    stack: stack, service: spec.service, revisionKey: spec.revisionKey(imageID: imageID), specHash: spec.specHash, imageID: imageID,
                    digest: digest,
                    spec: String(decoding: try encoder.encode(spec.redacted), as: UTF8.self), reconcileID: reconcileID, healthyAt: Date()))
        }
        return rollouts
    }

    /// A swarm service's rollout per create or update: healthy when its tasks all ran (the swarm
    /// pins the tag to a digest itself, so a revision is the spec and the image reference).
    private func swarmRollouts(plan: Plan, results: [Int: StepResult], desired: DesiredState, observed: ObservedSwarm?) -> [RolloutRecord] {
        var rollouts: [RolloutRecord] = []
        for step in plan.steps {
            let spec: SwarmServiceSpec
            switch step.operation {
            case .createService(let created): spec = created
            case .updateService(_, _, let updated): spec = updated
            default: continue
            }
            guard let started = results[step.id], let container = desired.container(spec.service) else { continue }
            if case .skipped = started.status { continue }
            let own = plan.steps.filter { $0.service == spec.service }.compactMap { results[$0.id] }
            let failure = own.first { !$0.succeeded }
            let old = observed?.services.first { $0.spec.name == spec.name && $0.stack == stack }
            var rollout = RolloutRecord(
                reconcileID: reconcileID, stack: stack, service: spec.service, cause: step.cause.description,
                order: old == nil ? .create : spec.updateOrder == .startFirst ? .startFirst : .stopFirst,
                fromSpecHash: old?.labels[Resolver.Label.specHash], toSpecHash: container.specHash, fromImage: old?.spec.image, toImage: spec.image,
                toDigest: nil, outcome: failure == nil ? .healthy : .failed, error: failure?.error, startedAt: started.startedAt,
                endedAt: own.map(\.endedAt).max() ?? started.endedAt)
            rollout.toRevision = container.revisionKey(imageID: spec.image)
            rollouts.append(rollout)
        }
        return rollouts
    }

    /// For each failed rollout, a hold on the newest other revision known healthy (none when the
    /// service never ran healthy: there is nothing to go back to).
    func holdsAfterFailure(_ failed: [RolloutRecord], wanted: DesiredState) async throws -> [RollbackHold] {
        var holds: [RollbackHold] = []
        for rollout in failed {
            guard let wantedSpec = wanted.container(rollout.service),
                let revision = try store.healthyRevision(stack: stack, service: rollout.service, excluding: rollout.toRevision),
                let spec = await runnable(revision)
            else { continue }
            holds.append(
                RollbackHold(
                    // A swarm's nodes resolve the tag: the hold lasts while the manifests say the same.
                    service: rollout.service, replacedSpecHash: wantedSpec.specHash, replacedImageID: wanted.target == .swarm ? nil : rollout.toImage,
                    replacedDigest: rollout.toDigest, spec: spec,
                    reason: "rollout in reconcile #\(reconcileID) failed: \(rollout.error ?? "unknown error")", reconcileID: reconcileID))
        }
        return holds
    }

    /// The revision's spec, naming its image by digest (or id) when its tag has moved on since.
    func runnable(_ revision: RevisionRecord) async -> ContainerSpec? {
        guard var spec = revision.containerSpec else { return nil }
        if (try? await engine.inspectImage(spec.image))?.id != revision.imageID {
            spec.image = revision.digest.map { ImageName.repository(of: spec.image) + "@" + $0 } ?? revision.imageID
        }
        return spec
    }
}

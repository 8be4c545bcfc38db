public import BerthModel
public import Foundation

/// One reconcile: when, why, for what, what it found and how it ended.
public struct ReconcileRecord: Sendable, Codable, Equatable {
    public var id: Int64?
    public var stack: String
    public var trigger: String
    /// What exactly triggered it, e.g. `destroy shop-web` for an Engine event.
    public var triggerDetail: String?
    public var profiles: String
    public var environment: String?
    public var manifestDigest: String
    public var startedAt: Date
    public var endedAt: Date?
    /// Steps that change the host found by the planner (0 = already converged).
    public var driftCount: Int
    /// `running`, `converged`, `changed`, `partial`, `failed`, `conflict`.
    public var outcome: String
    public var error: String?
    public var engineReads: Int
    public var engineWrites: Int
    /// The Engine that served it, e.g. `Docker Engine 20.10.24` or `Podman 4.3.1` (nil before v7).
    public var engine: String?
    /// The Git commit whose manifests it applied, when the stack came from a repository (v10).
    public var origin: GitOrigin?

    public init(stack: String, trigger: String, profiles: [String], environment: String?, manifestDigest: String, startedAt: Date = Date()) {
        self.stack = stack
        self.trigger = trigger
        self.profiles = profiles.joined(separator: ",")
        self.environment = environment
        self.manifestDigest = manifestDigest
        self.startedAt = startedAt
        self.driftCount = 0
        self.outcome = "running"
        self.engineReads = 0
        self.engineWrites = 0
    }
}

/// One executed plan step.
public struct ActionRecord: Sendable, Codable, Equatable {
    public var id: Int64?
    public var reconcileID: Int64
    public var step: Int
    public var kind: String
    public var target: String
    public var reason: String
    public var startedAt: Date
    public var endedAt: Date?
    public var outcome: ActionOutcome
    public var error: String?
    /// The service the step was for (nil: a network, volume or image, or a row older than v5).
    public var service: String?
    /// The full id of the container it acted on (rows older than v5: the short id, if any).
    public var containerID: String?

    public init(
        reconcileID: Int64, step: Int, kind: String, target: String, reason: String, startedAt: Date, endedAt: Date?, outcome: ActionOutcome,
        error: String?,
        service: String? = nil, containerID: String? = nil
    ) {
        self.reconcileID = reconcileID
        self.step = step
        self.kind = kind
        self.target = target
        self.reason = reason
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.outcome = outcome
        self.error = error
        self.service = service
        self.containerID = containerID
    }
}

/// The spec last applied to a service, secrets redacted, kept for `diff`-style reasons and rollback.
public struct AppliedSpecRecord: Sendable, Codable, Equatable {
    public var stack: String
    public var service: String
    public var specHash: String
    /// `ContainerSpec` as JSON, secrets redacted.
    public var spec: String
    public var reconcileID: Int64
    public var appliedAt: Date
}

/// A hook run: once per container lifetime.
public struct HookRunRecord: Sendable, Codable, Equatable {
    public var containerID: String
    public var hook: String
    public var stack: String
    public var service: String
    public var exitCode: Int
    public var output: String
    public var ranAt: Date

    public init(containerID: String, hook: String, stack: String, service: String, exitCode: Int, output: String, ranAt: Date) {
        (self.containerID, self.hook, self.stack, self.service) = (containerID, hook, stack, service)
        (self.exitCode, self.output, self.ranAt) = (exitCode, output, ranAt)
    }
}

/// A crash-looping service's backoff, as `watch` last saw it.
public struct ServiceBackoffRecord: Sendable, Codable, Equatable {
    public var service: String
    public var failures: Int
    /// The next repair may not happen before this.
    public var notBefore: Date

    public init(service: String, failures: Int, notBefore: Date) {
        self.service = service
        self.failures = failures
        self.notBefore = notBefore
    }
}

/// The profile set and environment a stack runs with.
public struct StackSelection: Sendable, Codable, Equatable {
    public var profiles: [String]
    public var environment: String?

    public init(profiles: [String], environment: String?) {
        self.profiles = profiles
        self.environment = environment
    }
}

/// A (spec, image) a service ran healthy with: what a rollback goes back to.
public struct RevisionRecord: Sendable, Codable, Equatable {
    public var stack: String
    public var service: String
    /// `ContainerSpec.revisionKey(imageID:)`: what ran, however the image was named.
    public var revisionKey: String
    public var specHash: String
    public var imageID: String
    /// The registry digest of the image, when it came from a registry: lets a rollback name the
    /// image even after its tag moved on.
    public var digest: String?
    /// `ContainerSpec` as JSON, secrets redacted.
    public var spec: String
    /// The reconcile that (last) saw it healthy.
    public var reconcileID: Int64
    public var healthyAt: Date

    public init(
        stack: String, service: String, revisionKey: String, specHash: String, imageID: String, digest: String?, spec: String, reconcileID: Int64,
        healthyAt: Date
    ) {
        (self.stack, self.service, self.revisionKey, self.specHash, self.imageID, self.digest) = (
            stack, service, revisionKey, specHash, imageID, digest
        )
        (self.spec, self.reconcileID, self.healthyAt) = (spec, reconcileID, healthyAt)
    }

    public var containerSpec: ContainerSpec? { try? JSONDecoder().decode(ContainerSpec.self, from: Data(spec.utf8)) }
}

/// One replacement of a service's container: from which spec and image to which, how, and
/// whether the new one passed its health gate.
public struct RolloutRecord: Sendable, Codable, Equatable {
    public var id: Int64?
    public var reconcileID: Int64
    public var stack: String
    public var service: String
    /// Why the container was replaced (the plan's cause).
    public var cause: String
    public var order: RolloutOrder
    public var fromSpecHash: String?
    public var toSpecHash: String
    public var fromImage: String?
    public var toImage: String?
    public var toDigest: String?
    /// The revision key of what the new container runs.
    public var toRevision: String?
    public var outcome: RolloutOutcome
    public var error: String?
    /// The reconcile that rolled it back, when one did.
    public var rolledBackIn: Int64?
    public var startedAt: Date
    public var endedAt: Date

    public init(
        reconcileID: Int64, stack: String, service: String, cause: String, order: RolloutOrder, fromSpecHash: String?, toSpecHash: String,
        fromImage: String?, toImage: String?, toDigest: String?, outcome: RolloutOutcome, error: String?, startedAt: Date, endedAt: Date
    ) {
        (self.reconcileID, self.stack, self.service, self.cause, self.order) = (reconcileID, stack, service, cause, order)
        (self.fromSpecHash, self.toSpecHash, self.fromImage, self.toImage, self.toDigest) = (fromSpecHash, toSpecHash, fromImage, toImage, toDigest)
        (self.outcome, self.error, self.startedAt, self.endedAt) = (outcome, error, startedAt, endedAt)
    }
}

/// How a logged action ended; stored by raw value.
public enum ActionOutcome: String, Sendable, Codable {
    case ok, failed, skipped
    /// Started and not ended yet; `interrupted` once a later reconcile found its process gone.
    case running, interrupted
}

/// Whether a new container passed its gate (or started, without a healthcheck); stored by raw value.
public enum RolloutOutcome: String, Sendable, Codable {
    case healthy, failed
}

/// How a service's container was replaced: its first `create`, or the update order; stored by raw value.
public enum RolloutOrder: String, Sendable, Codable, CustomStringConvertible {
    case create
    case stopFirst = "stop-first"
    case startFirst = "start-first"

    public var description: String { rawValue }
}

/// Where a reconcile's manifests came from in Git: the repository (without credentials), the
/// ref followed, the directory in it, and the commit.
public struct GitOrigin: Sendable, Codable, Equatable {
    public var repository: String
    public var ref: String
    public var path: String
    public var commit: String

    public init(repository: String, ref: String, path: String, commit: String) {
        self.repository = repository
        self.ref = ref
        self.path = path
        self.commit = commit
    }
}

/// A commit of a followed repository that is not applied while the ref still points at it:
/// its rollout failed its health gate, or `rollback --to-commit` went back from it. The host
/// runs `applyCommit` instead until the ref moves to another commit.
public struct GitHoldRecord: Sendable, Codable, Equatable {
    public var heldCommit: String
    public var applyCommit: String
    public var reason: String
    public var heldAt: Date

    public init(heldCommit: String, applyCommit: String, reason: String, heldAt: Date = Date()) {
        self.heldCommit = heldCommit
        self.applyCommit = applyCommit
        self.reason = reason
        self.heldAt = heldAt
    }
}

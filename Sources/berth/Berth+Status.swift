import ArgumentParser
import BerthController
import BerthModel
import BerthStore
import Foundation

extension Berth {
    /// Desired vs actual, per service.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show each service: desired vs actual container, health, ports, uptime, and the last reconcile.",
            discussion: """
                ✓ running as its manifests say   … health starting or restarting   ! unhealthy   \
                ✗ drift (missing, stopped or changed)   ■ stopped on purpose (berth stop)   ↻ crash-looping, repairs backed off
                """)

        @OptionGroup var stack: StackOptions
        @OptionGroup var git: GitOptions
        @OptionGroup var common: CommonOptions
        @Flag(help: "Exit 2 when a service drifted or is unhealthy, 0 when all are as their manifests say (1 stays an error).")
        var detailedExitcode = false

        /// A service at a glance: the worst of drift, health and holds.
        enum Condition: String, Encodable {
            case ok, starting, unhealthy, drift, stoppedOnPurpose, backoff

            var glyph: (String, Colour) {
                switch self {
                case .ok: ("✓", .green)
                case .starting: ("…", .yellow)
                case .unhealthy: ("!", .red)
                case .drift: ("✗", .red)
                case .stoppedOnPurpose: ("■", .blue)
                case .backoff: ("↻", .yellow)
                }
            }
            /// Whether `--detailed-exitcode` reports it (2).
            var isProblem: Bool { self == .unhealthy || self == .drift || self == .backoff }

            /// The worst that holds, in this order: backing off, drifted, stopped on purpose,
            /// unhealthy, starting, not running.
            init(state: String?, health: String?, drifted: Bool, stoppedOnPurpose: Bool, backingOff: Bool) {
                self =
                    switch (state, health) {
                    case _ where backingOff: .backoff
                    case _ where drifted: .drift
                    case (let state, _) where stoppedOnPurpose && state != "running": .stoppedOnPurpose
                    case (_, "unhealthy"): .unhealthy
                    case (_, "starting"), ("restarting", _): .starting
                    case ("running", _): .ok
                    default: .drift
                    }
            }
        }

        struct ServiceStatus: Encodable {
            let service: String
            let container: String
            let image: String
            let state: String
            let health: String?
            let condition: Condition
            let inSync: Bool
            let ports: [String]
            let uptimeSeconds: Int?
            /// The probe's own words when the service is unhealthy (secrets redacted).
            let lastHealthCheck: ContainerRow.HealthCheck?
            /// When `berth stop` stopped it; `watch` leaves it stopped until `start` or `apply`.
            let stoppedOnPurposeAt: Date?
            let pending: [String]
            /// Set while `watch` holds back repairs of a crash-looping service.
            let backoffUntil: Date?
            let backoffFailures: Int?
            /// Why the service runs an earlier revision than its manifests say, when it does.
            let heldBecause: String?
            let lastRollout: RolloutRecord?
        }
        struct LastReconcile: Encodable {
            let id: Int64?
            let trigger: String
            let outcome: String
            let startedAt: Date
            /// Changes it found to make (0: the host was in sync).
            let changes: Int
            let error: String?
            /// The commit it read, when the stack comes from a followed Git repository.
            let commit: String?
        }
        /// Where a stack followed in Git stands: the commit the host runs, and one held back.
        struct GitState: Encodable {
            let repository: String
            let ref: String
            let path: String
            /// The commit the newest converged reconcile applied.
            let commit: String?
            let held: Held?
            struct Held: Encodable {
                let commit: String
                let runs: String
                let reason: String
                let since: Date
            }
        }
        struct Result: Encodable {
            let stack: String
            let profiles: [String]
            let environment: String?
            let inSync: Bool
            let services: [ServiceStatus]
            let conflicts: [Conflict]
            let lastReconcile: LastReconcile?
            let git: GitState?
        }

        func run() async throws {
            let store = try common.openStore(readOnly: true)
            let follower = try git.follower(statePath: common.statePath, store: store)
            let loaded = try await follower?.stackNow(orLastApplied: true) ?? stack.load()
            let (preview, rows) = try await withEngine { engine in
                do {
                    let preview = try await Reconciler(engine: engine, store: store).preview(loaded, stack.reconcileOptions)
                    return (preview, try await ContainerRow.rows(of: try await StackContainers.list(engine, stack: loaded.name), engine))
                } catch let error as ManifestErrors {
                    throw await manifestFailure(error, in: loaded, from: follower)
                }
            }
            let rowByName = Dictionary(rows.map { ($0.container, $0) }, uniquingKeysWith: { first, _ in first })
            let (desired, observed, plan) = (preview.desired, preview.observed, preview.plan)
            let rollouts = try store.rollouts(stack: desired.stack, limit: 200)
            let backoff = Dictionary(
                uniqueKeysWithValues: try store.backoff(stack: desired.stack).filter { $0.notBefore > Date() }.map { ($0.service, $0) })
            let services = desired.containers.map { spec in
                if let swarm = preview.swarm { return Self.status(of: spec, on: swarm, desired: desired, plan: plan) }
                let current = observed.containers.filter { $0.stack == desired.stack && $0.service == spec.service }
                    .max { ($0.name == spec.name ? 1 : 0) < ($1.name == spec.name ? 1 : 0) }
                let pending = plan.steps
                    .filter { $0.operation.isWrite && $0.service == spec.service }
                    .map { "\($0.operation.kind) (\($0.cause))" }
                let row = current.flatMap { rowByName[$0.name] }
                let stoppedAt = preview.stoppedOnPurpose[spec.service]
                let condition = Condition(
                    state: current?.state, health: current?.health, drifted: !pending.isEmpty || current == nil,
                    stoppedOnPurpose: stoppedAt != nil, backingOff: backoff[spec.service] != nil)
                let check =
                    condition == .unhealthy
                    ? row?.lastHealthCheck.map {
                        ContainerRow.HealthCheck(exitCode: $0.exitCode, output: preview.desired.redactingSecrets(in: $0.output))
                    } : nil
                return ServiceStatus(
                    service: spec.service, container: current?.name ?? spec.name, image: spec.image, state: current?.state ?? "missing",
                    health: current?.health, condition: condition, inSync: pending.isEmpty && current != nil,
                    ports: row?.ports ?? [], uptimeSeconds: row?.uptimeSeconds, lastHealthCheck: check, stoppedOnPurposeAt: stoppedAt,
                    pending: pending,
                    backoffUntil: backoff[spec.service]?.notBefore, backoffFailures: backoff[spec.service]?.failures,
                    heldBecause: preview.holds.first { $0.service == spec.service }?.reason,
                    lastRollout: rollouts.first { $0.service == spec.service && $0.order != .create })
            }
            let last = try store.lastReconcile(stack: desired.stack).map {
                LastReconcile(
                    id: $0.id, trigger: $0.trigger, outcome: ReportJSON.outcome($0.outcome), startedAt: $0.startedAt, changes: $0.driftCount,
                    error: $0.error, commit: $0.origin?.commit)
            }
            let applied = try store.lastAppliedCommit(stack: desired.stack)
            let gitState = (loaded.origin ?? applied).map { origin in
                GitState(
                    repository: origin.repository, ref: origin.ref, path: origin.path, commit: applied?.commit,
                    held: try? store.gitHold(stack: desired.stack).map {
                        GitState.Held(commit: $0.heldCommit, runs: $0.applyCommit, reason: $0.reason, since: $0.heldAt)
                    })
            }
            let result = Result(
                stack: desired.stack, profiles: desired.profiles, environment: desired.environment, inSync: plan.isConverged,
                services: services, conflicts: plan.conflicts, lastReconcile: last, git: gitState)
            if common.json {
                try printJSON(result)
            } else {
                printHuman(result, plan: plan)
            }
            if detailedExitcode && (!result.inSync || services.contains { $0.condition.isProblem }) { throw ExitCode(2) }
        }

        /// A swarm service's line: its tasks running of those wanted, rather than one container's state.
        static func status(of spec: ContainerSpec, on swarm: ObservedSwarm, desired: DesiredState, plan: BerthModel.Plan) -> ServiceStatus {
            let name = SwarmServiceSpec.name(of: spec, stack: desired.stack)
            let service = swarm.services.first { $0.spec.name == name && $0.stack == desired.stack }
            let replicas: Int =
                switch desired.swarm?.services[spec.service]?.mode ?? .replicated(1) {
                case .replicated(let count): count
                case .global: service?.desiredTasks ?? 0
                }
            let pending = plan.steps.filter { $0.operation.isWrite && $0.service == spec.service }.map { "\($0.operation.kind) (\($0.cause))" }
            let state = service.map { $0.runningTasks >= replicas ? "running" : "restarting" }
            return ServiceStatus(
                service: spec.service, container: name, image: spec.image,
                state: service.map { "\($0.runningTasks >= replicas ? "running" : "starting") \($0.runningTasks)/\(replicas) tasks" } ?? "missing",
                health: nil,
                condition: Condition(
                    state: state, health: nil, drifted: !pending.isEmpty || service == nil, stoppedOnPurpose: false, backingOff: false),
                inSync: pending.isEmpty && service != nil, ports: spec.ports.map(\.description), uptimeSeconds: nil, lastHealthCheck: nil,
                stoppedOnPurposeAt: nil, pending: pending, backoffUntil: nil, backoffFailures: nil, heldBecause: nil, lastRollout: nil)
        }

        private func printHuman(_ result: Result, plan: BerthModel.Plan) {
            let services = result.services
            let last = result.lastReconcile
            let colours = Colour.enabled(for: STDOUT_FILENO)
            print(
                "stack \(result.stack)  profiles [\(result.profiles.joined(separator: ", "))]  environment \(result.environment ?? "-")  \(result.inSync ? "in sync" : "DRIFT")"
            )
            let table = services.map { service in
                let (glyph, colour) = service.condition.glyph
                let state = service.condition == .stoppedOnPurpose ? "stopped on purpose" : service.state + (service.health.map { " (\($0))" } ?? "")
                return [
                    "  " + Colour.paint(glyph, colour, colours) + " " + service.service, state,
                    service.uptimeSeconds.map(StackContainers.duration) ?? "-", service.ports.isEmpty ? "-" : service.ports.joined(separator: ", "),
                    service.container, service.image,
                ]
            }
            let lines = Output.columns([["  SERVICE", "STATE", "UPTIME", "PORTS", "CONTAINER", "IMAGE"]] + table)
            print(lines[0])
            for (service, line) in zip(services, lines.dropFirst()) {
                print(line)
                if let at = service.stoppedOnPurposeAt {
                    print(
                        "      stopped with `berth stop` at \(ISO8601DateFormatter().string(from: at)); `berth start \(service.service)` or `berth apply` starts it"
                    )
                }
                if let check = service.lastHealthCheck { print("      last check (exit \(check.exitCode)): \(check.output)") }
                for step in service.pending { print("      pending: \(step)") }
                if let reason = service.heldBecause { print("      rolled back, held at this revision: \(reason)") }
                if let rollout = service.lastRollout { print("      last \(Output.rollout(rollout))") }
                if let until = service.backoffUntil {
                    print(
                        "      backoff: crash-looping (\(service.backoffFailures ?? 0) repairs), next repair after \(ISO8601DateFormatter().string(from: until))"
                    )
                }
            }
            for conflict in plan.conflicts { print("  ! conflict \(conflict.resource): \(conflict.reason)") }
            let orphans = plan.steps.filter { $0.cause == .orphan && $0.operation.kind == .remove }
            for orphan in orphans { print("  orphan: \(orphan.operation.target)") }
            if let git = result.git {
                print(
                    "git: \(git.repository) \(git.ref)\(git.path.isEmpty ? "" : " path \(git.path)"), running commit \(git.commit.map(GitOrigin.short) ?? "none yet")"
                )
                if let held = git.held {
                    print(
                        "  commit \(GitOrigin.short(held.commit)) held back since \(ISO8601DateFormatter().string(from: held.since)): \(held.reason)")
                }
            }
            if let last {
                print(
                    "last reconcile #\(last.id ?? 0): \(last.trigger) → \(last.outcome) at \(ISO8601DateFormatter().string(from: last.startedAt)), drift \(last.changes)\(last.commit.map { ", commit \(GitOrigin.short($0))" } ?? "")\(last.error.map { ", error: \($0)" } ?? "")"
                )
            } else {
                print("never reconciled")
            }
        }
    }
}

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
            abstract: "Show each service: desired vs actual container, health, and the last reconcile.")

        @OptionGroup var stack: StackOptions
        @OptionGroup var common: CommonOptions

        struct ServiceStatus: Encodable {
            let service: String
            let container: String
            let image: String
            let state: String
            let health: String?
            let inSync: Bool
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
            let drift: Int
            let error: String?
        }
        struct Result: Encodable {
            let stack: String
            let profiles: [String]
            let environment: String?
            let inSync: Bool
            let services: [ServiceStatus]
            let conflicts: [Conflict]
            let lastReconcile: LastReconcile?
        }

        func run() async throws {
            let loaded = try stack.load()
            let store = try common.openStore(readOnly: true)
            let preview = try await withEngine { engine in
                do {
                    return try await Reconciler(engine: engine, store: store).preview(loaded, stack.reconcileOptions)
                } catch let error as ManifestErrors {
                    throw ManifestFailure(errors: error)
                }
            }
            let (desired, observed, plan) = (preview.desired, preview.observed, preview.plan)
            let rollouts = try store.rollouts(stack: desired.stack, limit: 200)
            let backoff = Dictionary(
                uniqueKeysWithValues: try store.backoff(stack: desired.stack).filter { $0.notBefore > Date() }.map { ($0.service, $0) })
            let services = desired.containers.map { spec in
                let current = observed.containers.filter { $0.stack == desired.stack && $0.service == spec.service }
                    .max { ($0.name == spec.name ? 1 : 0) < ($1.name == spec.name ? 1 : 0) }
                let pending = plan.steps
                    .filter { $0.operation.isWrite && $0.service == spec.service }
                    .map { "\($0.operation.kind) (\($0.cause))" }
                return ServiceStatus(
                    service: spec.service, container: current?.name ?? spec.name, image: spec.image, state: current?.state ?? "missing",
                    health: current?.health, inSync: pending.isEmpty && current != nil, pending: pending,
                    backoffUntil: backoff[spec.service]?.notBefore, backoffFailures: backoff[spec.service]?.failures,
                    heldBecause: preview.holds.first { $0.service == spec.service }?.reason,
                    lastRollout: rollouts.first { $0.service == spec.service && $0.order != .create })
            }
            let last = try store.lastReconcile(stack: desired.stack).map {
                LastReconcile(id: $0.id, trigger: $0.trigger, outcome: $0.outcome, startedAt: $0.startedAt, drift: $0.driftCount, error: $0.error)
            }
            let result = Result(
                stack: desired.stack, profiles: desired.profiles, environment: desired.environment, inSync: plan.isConverged,
                services: services, conflicts: plan.conflicts, lastReconcile: last)
            if common.json { return try printJSON(result) }
            print(
                "stack \(result.stack)  profiles [\(result.profiles.joined(separator: ", "))]  environment \(result.environment ?? "-")  \(result.inSync ? "in sync" : "DRIFT")"
            )
            let width = max(8, services.map(\.service.count).max() ?? 0)
            for service in services {
                let state = service.state + (service.health.map { " (\($0))" } ?? "")
                let name = service.service.padding(toLength: width, withPad: " ", startingAt: 0)
                print(
                    "  \(name)  \(service.inSync ? "✓" : "✗")  \(state.padding(toLength: 20, withPad: " ", startingAt: 0))  \(service.container)  \(service.image)"
                )
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
            if let last {
                print(
                    "last reconcile #\(last.id ?? 0): \(last.trigger) → \(last.outcome) at \(ISO8601DateFormatter().string(from: last.startedAt)), drift \(last.drift)\(last.error.map { ", error: \($0)" } ?? "")"
                )
            } else {
                print("never reconciled")
            }
        }
    }
}

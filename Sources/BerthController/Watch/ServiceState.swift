import BerthModel
import Foundation

/// What one service is after a reconcile: what `watch` exports as gauges and shows on its status
/// page, without asking the Engine again. A service whose steps all succeeded is as its manifests
/// say (running, unless stopped on purpose); any other is as the reconcile found it.
public struct ServiceState: Sendable, Equatable {
    public var service: String
    public var container: String
    public var image: String
    /// The Engine's state (`running`, `exited`, …), `missing`, or `stopped on purpose`.
    public var state: String
    /// `healthy`, `unhealthy`, `starting`, or nil without a healthcheck.
    public var health: String?
    public var running: Bool
    /// Healthy by its healthcheck; without one, running.
    public var healthy: Bool
    /// Rolled back after a failed rollout, held at an earlier revision.
    public var held: Bool
    public var stoppedOnPurpose: Bool
    /// Published ports as `host:port→container/protocol`.
    public var ports: [String]

    public init(
        service: String, container: String, image: String, state: String, health: String?, running: Bool, healthy: Bool, held: Bool,
        stoppedOnPurpose: Bool, ports: [String]
    ) {
        self.service = service
        self.container = container
        self.image = image
        self.state = state
        self.health = health
        self.running = running
        self.healthy = healthy
        self.held = held
        self.stoppedOnPurpose = stoppedOnPurpose
        self.ports = ports
    }

    /// Each desired service after `report`, sorted by name.
    public static func after(_ report: ReconcileReport) -> [ServiceState] {
        let observed = report.observed?.containers.filter { $0.stack == report.stack } ?? []
        let held = Set(report.holds.map(\.service))
        return report.desired.containers.map { spec in
            let current = observed.filter { $0.service == spec.service }.max { ($0.name == spec.name ? 1 : 0) < ($1.name == spec.name ? 1 : 0) }
            let steps = report.plan.steps.filter { $0.operation.isWrite && $0.service == spec.service }
            let allSucceeded = steps.allSatisfy { report.results[$0.id]?.succeeded == true }
            let stopped = report.stoppedOnPurpose[spec.service] != nil && current?.isRunning != true
            let gated = spec.rolloutDeadlineMilliseconds != nil
            let state: String
            var health: String?
            if stopped {
                state = "stopped on purpose"
            } else if !steps.isEmpty && allSucceeded {
                // Repaired or replaced this round: running now, healthy if its gate passed.
                state = "running"
                let rollout = report.rollouts.last { $0.service == spec.service }
                health = gated ? (rollout?.outcome == .healthy ? "healthy" : "starting") : nil
            } else {
                state = current?.state ?? "missing"
                health = current?.health
            }
            let running = state == "running" || state == "restarting"
            let ports = spec.ports.compactMap { port in
                port.published.map { "\(port.hostIP.isEmpty ? "" : port.hostIP + ":")\($0)→\(port.target)/\(port.protocol)" }
            }
            return ServiceState(
                service: spec.service, container: current?.name ?? spec.name, image: spec.image, state: state, health: health, running: running,
                healthy: running && (health == nil ? !gated : health == "healthy"), held: held.contains(spec.service), stoppedOnPurpose: stopped,
                ports: ports)
        }
    }
}

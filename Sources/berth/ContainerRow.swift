import BerthController
import BerthEngine
import BerthModel
import Foundation

/// One container as `ps` and `status` show it: the Engine's list entry plus when it started.
struct ContainerRow: Encodable {
    let service: String
    let container: String
    let id: String
    let image: String
    let state: String
    let health: String?
    let ports: [String]
    /// The Engine's own words, e.g. `Up 3 minutes (healthy)`.
    let status: String
    let startedAt: Date?
    let uptimeSeconds: Int?
    /// The newest healthcheck's result; `status` shows it (redacted) for an unhealthy service.
    var lastHealthCheck: HealthCheck?

    struct HealthCheck: Encodable {
        let exitCode: Int
        let output: String
    }

    /// `ps --json` leaves the probe's output out: `ps` does not resolve secrets to redact it with.
    enum CodingKeys: String, CodingKey {
        case service, container, id, image, state, health, ports, status, startedAt, uptimeSeconds
    }

    /// Rows for `containers`, in their order; the start time is read for running ones only (the
    /// list does not carry it).
    static func rows(of containers: [ContainerSummary], _ engine: DockerClient) async throws -> [ContainerRow] {
        let inspected = try await withThrowingTaskGroup(of: (Int, ContainerDetails).self) { group in
            for (index, container) in containers.enumerated() where container.state == "running" {
                group.addTask { (index, try await engine.inspectContainer(container.id)) }
            }
            var inspected: [Int: ContainerDetails] = [:]
            for try await (index, details) in group { inspected[index] = details }
            return inspected
        }
        let started = inspected.compactMapValues { StackContainers.date($0.state.startedAt) }
        let now = Date()
        return containers.enumerated().map { index, container in
            ContainerRow(
                service: container.labels[Resolver.Label.service] ?? "-", container: container.name, id: String(container.id.prefix(12)),
                image: container.image, state: container.state, health: container.health,
                ports: container.ports.filter { $0.publicPort != nil }.map(\.description).sorted(), status: container.status,
                startedAt: started[index], uptimeSeconds: started[index].map { max(0, Int(now.timeIntervalSince($0))) },
                lastHealthCheck: inspected[index]?.state.health?.lastCheck.map {
                    HealthCheck(exitCode: $0.exitCode, output: Executor.oneLine($0.output))
                })
        }
    }

    var uptime: String { uptimeSeconds.map(StackContainers.duration) ?? "-" }
    var portList: String { ports.isEmpty ? "-" : ports.joined(separator: ", ") }
}

extension ContainerSummary {
    /// Running, or about to be again: what `ps` lists without --all.
    var isUp: Bool { state == "running" || state == "restarting" }
}

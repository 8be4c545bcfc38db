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

    /// Rows for `containers`, in their order; the start time is read for running ones only (the
    /// list does not carry it).
    static func rows(of containers: [ContainerSummary], _ engine: DockerClient) async throws -> [ContainerRow] {
        let started = try await withThrowingTaskGroup(of: (Int, Date?).self) { group in
            for (index, container) in containers.enumerated() where container.state == "running" {
                group.addTask { (index, StackContainers.date(try await engine.inspectContainer(container.id).state.startedAt)) }
            }
            var started: [Int: Date] = [:]
            for try await (index, date) in group { started[index] = date }
            return started
        }
        let now = Date()
        return containers.enumerated().map { index, container in
            ContainerRow(
                service: container.labels[Resolver.Label.service] ?? "-", container: container.name, id: String(container.id.prefix(12)),
                image: container.image, state: container.state, health: container.health,
                ports: container.ports.filter { $0.publicPort != nil }.map(\.description).sorted(), status: container.status,
                startedAt: started[index], uptimeSeconds: started[index].map { max(0, Int(now.timeIntervalSince($0))) })
        }
    }

    var uptime: String { uptimeSeconds.map(StackContainers.duration) ?? "-" }
    var portList: String { ports.isEmpty ? "-" : ports.joined(separator: ", ") }
}

extension ContainerSummary {
    /// Running, or about to be again: what `ps` lists without --all.
    var isUp: Bool { state == "running" || state == "restarting" }
}

import BerthEngine
import BerthModel
import Foundation

/// The stack's containers as the Engine has them, found by the labels Berth put on them: the
/// verbs that look at or act on running containers need no resolution of the manifests.
enum StackContainers {
    /// Containers of `stack` (of `services` only, when given), by service then name.
    static func list(_ engine: DockerClient, stack: String, services: [String] = []) async throws -> [ContainerSummary] {
        try await engine.listContainers(labels: ["\(Resolver.Label.stack)=\(stack)"])
            .filter { services.isEmpty || services.contains($0.labels[Resolver.Label.service] ?? "") }
            .sorted { ($0.labels[Resolver.Label.service] ?? "", $0.name) < ($1.labels[Resolver.Label.service] ?? "", $1.name) }
    }

    /// Like `list`, and every service named must have a container.
    /// - Throws: `CommandFailure` naming a service without one.
    static func existing(_ engine: DockerClient, stack: String, services: [String]) async throws -> [ContainerSummary] {
        let containers = try await list(engine, stack: stack, services: services)
        for service in services where !containers.contains(where: { $0.labels[Resolver.Label.service] == service }) {
            throw CommandFailure("service \(service) of stack \(stack) has no container; `berth apply` creates it")
        }
        return containers
    }

    /// The one container to act on for `service`: the running one, with the canonical name first
    /// (a start-first rollout may briefly run two).
    static func main(of service: String, in containers: [ContainerSummary], stack: String) throws -> ContainerSummary {
        let candidates = containers.filter { $0.labels[Resolver.Label.service] == service }
        guard let chosen = candidates.max(by: { ($0.state == "running" ? 1 : 0, -$0.name.count) < ($1.state == "running" ? 1 : 0, -$1.name.count) })
        else {
            throw CommandFailure("service \(service) of stack \(stack) has no container; `berth apply` creates it")
        }
        return chosen
    }

    /// RFC 3339 with up to nanoseconds, as the Engine writes times; nil for the zero time it
    /// reports for a container never started.
    static func date(_ text: String) -> Date? {
        guard !text.hasPrefix("0001-") else { return nil }
        var trimmed = text
        if let dot = text.firstIndex(of: "."), let zone = text[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }) {
            trimmed = String(text[..<dot]) + String(text[zone...])
        }
        return ISO8601DateFormatter().date(from: trimmed)
    }

    /// `3s`, `4m`, `2h`, `5d`: how long, as a column has room for.
    static func duration(_ seconds: Int) -> String {
        switch seconds {
        case ..<60: "\(seconds)s"
        case ..<3600: "\(seconds / 60)m"
        case ..<86400: "\(seconds / 3600)h"
        default: "\(seconds / 86400)d"
        }
    }
}

import ArgumentParser
import BerthController
import BerthEngine
import BerthModel
import BerthStore
import Foundation

/// What `stop`, `start` and `restart` did to each container, printed as it happens.
struct LifecycleResult: Encodable {
    let stack: String
    let action: String
    var containers: [Entry] = []

    struct Entry: Encodable {
        let service: String
        let container: String
        let outcome: String
        let seconds: Double
        let error: String?
    }
}

/// Runs `act` on each container (at most `width` at once), printing a line as each starts and
/// ends; returns what happened. A failure is reported and the others go on.
private func act(
    on containers: [ContainerSummary], verb: (doing: String, done: String), json: Bool, width: Int,
    _ act: @escaping @Sendable (ContainerSummary) async throws -> Void
) async -> [LifecycleResult.Entry] {
    await withTaskGroup(of: LifecycleResult.Entry.self) { group in
        var entries: [LifecycleResult.Entry] = []
        var next = containers.makeIterator()
        func launch() {
            guard let container = next.next() else { return }
            let service = container.labels[Resolver.Label.service] ?? "-"
            if !json { print("… \(verb.doing) \(service) (\(container.name))") }
            group.addTask {
                let started = ContinuousClock.now
                var failure: String?
                do { try await act(container) } catch { failure = "\(error)" }
                let seconds =
                    Double((ContinuousClock.now - started).components.attoseconds) / 1e18 + Double((ContinuousClock.now - started).components.seconds)
                return LifecycleResult.Entry(
                    service: service, container: container.name, outcome: failure == nil ? verb.done : "failed", seconds: seconds, error: failure)
            }
        }
        for _ in 0..<width { launch() }
        for await entry in group {
            if !json {
                print(
                    entry.error.map { "✗ \(entry.service) (\(entry.container)): \($0)" }
                        ?? "✓ \(entry.outcome) \(entry.service) (\(entry.container)) \(String(format: "%.2fs", entry.seconds))")
            }
            entries.append(entry)
            launch()
        }
        return entries
    }
}

/// Ends a lifecycle command: JSON or a summary line, exit 1 when a container failed.
private func finish(_ result: LifecycleResult, json: Bool) throws {
    if json { try printJSON(result) }
    if result.containers.contains(where: { $0.error != nil }) { throw ExitCode.failure }
}

/// Orders containers so each comes after the services it depends on (`berth.depends-on`).
private func dependencyOrder(_ containers: [ContainerSummary]) -> [ContainerSummary] {
    var ordered: [ContainerSummary] = []
    var remaining = containers
    while !remaining.isEmpty {
        let waiting = Set(remaining.compactMap { $0.labels[Resolver.Label.service] })
        let ready = remaining.filter { container in
            !(container.labels[Resolver.Label.dependsOn] ?? "").split(separator: ",").contains {
                waiting.contains(String($0)) && String($0) != container.labels[Resolver.Label.service]
            }
        }
        let batch = ready.isEmpty ? [remaining[0]] : ready
        ordered += batch
        remaining.removeAll { candidate in batch.contains { $0.id == candidate.id } }
    }
    return ordered
}

/// How long a stopping container gets before it is killed.
struct StopTimeoutOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Seconds to wait for each container to stop before killing it (default: its stop_grace_period).")
    var timeout: Int?
}

extension Berth {
    /// Stops services on purpose: `watch` leaves them stopped until `start` or the next `apply`.
    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stop",
            abstract: "Stop services (default: all) and keep them stopped: watch does not start them again.",
            discussion:
                "`berth start`, `berth restart` or the next `berth apply` starts them again. Each container gets its stop_grace_period before it is killed."
        )

        @OptionGroup var target: ServiceTargetOptions
        @OptionGroup var common: CommonOptions
        @OptionGroup var grace: StopTimeoutOptions

        func run() async throws {
            let (stack, named) = try target.load()
            let services = named.isEmpty ? stack.manifest.services.map(\.name) : named
            let timeout = grace.timeout
            let result = try await withSession(common, stack: stack.name, lockTimeout: .seconds(120)) { session in
                // Recorded first: the stop's own Engine events must find the service held.
                try session.store.saveStopped(services: services, stack: stack.name)
                let engine = session.engine
                let running = try await StackContainers.list(engine, stack: stack.name, services: services).filter {
                    $0.state != "exited" && $0.state != "created"
                }
                var result = LifecycleResult(stack: stack.name, action: "stop")
                result.containers = await act(on: running, verb: ("stopping", "stopped"), json: common.json, width: 8) { container in
                    let own = try await engine.inspectContainer(container.id).config.stopTimeout
                    try await engine.stopContainer(container.id, timeout: timeout ?? own)
                }
                return result
            }
            if !common.json && result.containers.isEmpty { print("\(stack.name): \(services.joined(separator: ", ")) already stopped; kept stopped") }
            try finish(result, json: common.json)
        }
    }

    /// Starts services' existing containers, and forgets that they were stopped on purpose.
    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start",
            abstract: "Start services' stopped containers (default: all) and let watch keep them running again.",
            discussion: "Dependencies start first. A service without a container is made by `berth apply`."
        )

        @OptionGroup var target: ServiceTargetOptions
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let (stack, named) = try target.load()
            let result = try await withSession(common, stack: stack.name, lockTimeout: .seconds(120)) { session in
                try session.store.deleteStopped(stack: stack.name, services: named.isEmpty ? nil : named)
                let engine = session.engine
                let containers = try await StackContainers.existing(engine, stack: stack.name, services: named)
                var result = LifecycleResult(stack: stack.name, action: "start")
                for container in dependencyOrder(containers.filter { !$0.isUp }) {
                    result.containers += await act(on: [container], verb: ("starting", "started"), json: common.json, width: 1) { container in
                        try await engine.startContainer(container.id)
                    }
                }
                return result
            }
            if !common.json && result.containers.isEmpty { print("\(stack.name): already running") }
            try finish(result, json: common.json)
        }
    }

    /// Restarts services' containers (stopped ones are started) and forgets deliberate stops.
    struct Restart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restart",
            abstract: "Restart services' containers (default: all), in dependency order; stopped ones are started."
        )

        @OptionGroup var target: ServiceTargetOptions
        @OptionGroup var common: CommonOptions
        @OptionGroup var grace: StopTimeoutOptions

        func run() async throws {
            let (stack, named) = try target.load()
            let timeout = grace.timeout
            let result = try await withSession(common, stack: stack.name, lockTimeout: .seconds(120)) { session in
                try session.store.deleteStopped(stack: stack.name, services: named.isEmpty ? nil : named)
                let engine = session.engine
                let containers = try await StackContainers.existing(engine, stack: stack.name, services: named)
                var result = LifecycleResult(stack: stack.name, action: "restart")
                for container in dependencyOrder(containers) {
                    result.containers += await act(on: [container], verb: ("restarting", "restarted"), json: common.json, width: 1) { container in
                        let own = try await engine.inspectContainer(container.id).config.stopTimeout
                        try await engine.restartContainer(container.id, timeout: timeout ?? own)
                    }
                }
                return result
            }
            try finish(result, json: common.json)
        }
    }
}

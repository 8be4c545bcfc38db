import BerthEngine
import BerthModel

/// Writes that overlap with writes of a Berth process that died mid-apply.
///
/// A killed process can leave a request in flight that the Engine carries out only after the next
/// reconcile has observed the host: a network, a container, a rename or a connect then shows up
/// between that reconcile's observation and its own identical write. The Engine answers such a
/// write with a conflict. When what is there is exactly what the step asked for, the step is done;
/// anything else keeps the Engine's error, and the next reconcile observes the truth.
extension Executor {
    /// A container create met a container with its name. If that container carries every label
    /// this create sets (stack, service, spec hash), it is the container this step would have
    /// made: its id is taken over and the following steps (start, gate) act on it.
    ///
    /// The Engine reserves a name before the container it creates can be inspected, so an
    /// in-flight create can answer this one's conflict while an inspect still says "no such
    /// container": the inspect is retried for a moment before the conflict stands.
    func namesake(_ name: String, matching request: ContainerCreateRequest, else conflict: EngineError) async throws -> String {
        var existing: ContainerDetails?
        for attempt in 0..<10 where existing == nil {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(200)) }
            do {
                existing = try await engine.inspectContainer(name)
            } catch let error as EngineError where error.is(.notFound) {
                continue
            } catch {
                throw conflict
            }
        }
        guard let existing, let labels = existing.config.labels,
            request.labels.allSatisfy({ labels[$0.key] == $0.value })
        else { throw conflict }
        return existing.id
    }

    /// A network create met a network with its name: done if that network carries every label
    /// this create sets.
    func networkNamesake(matching request: NetworkCreateRequest, else conflict: EngineError) async throws {
        let namesakes = try await engine.listNetworks(labels: ["\(Resolver.Label.stack)=\(stack)"], names: [request.name])
            .filter { $0.name == request.name }
        guard namesakes.contains(where: { network in request.labels.allSatisfy { network.labels[$0.key] == $0.value } })
        else { throw conflict }
    }

    /// Runs `write`; if it fails but the container already shows its effect, the step is done.
    func unlessInPlace(_ write: () async throws -> Void, check: (ContainerDetails) -> Bool, of container: String) async throws {
        do {
            try await write()
        } catch {
            guard let details = try? await engine.inspectContainer(container), check(details) else { throw error }
        }
    }

    /// The Engine allows two networks with one name when two creates overlap (its duplicate check
    /// is best effort). Every later use of the name would then fail as ambiguous, so the oldest
    /// stays and the rest go.
    func keepOneNetwork(named name: String) async throws {
        let namesakes = try await engine.listNetworks(labels: ["\(Resolver.Label.stack)=\(stack)"], names: [name])
            .map(ObservedNetwork.init).filter { $0.name == name }.sorted(by: ObservedNetwork.olderFirst)
        for extra in namesakes.dropFirst() {
            try await ignoringNotFound { try await engine.removeNetwork(extra.id) }
        }
    }
}

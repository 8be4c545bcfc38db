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
    /// The name can also be held for a moment by a container that is not there to take over:
    /// - the Engine reserves a name before the container it creates can be inspected, so an
    ///   in-flight create can answer this one's conflict while an inspect says "no such container";
    /// - a container someone removed (`docker rm -f`) keeps its name until the Engine is done.
    /// So while the namesake is missing or being removed, the create is tried again for a moment
    /// before the conflict stands.
    func namesake(_ name: String, matching request: ContainerCreateRequest, else conflict: EngineError) async throws -> String {
        for attempt in 0..<10 {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(200)) }
            let existing: ContainerDetails
            do {
                existing = try await engine.inspectContainer(name)
            } catch let error as EngineError where error.is(.notFound) {
                do { return try await engine.createContainer(name: name, request) } catch let again as EngineError where again.is(.conflict) {
                    continue
                }
            } catch {
                throw conflict
            }
            if Self.beingRemoved(existing) { continue }
            guard let labels = existing.config.labels, request.labels.allSatisfy({ labels[$0.key] == $0.value }) else { throw conflict }
            return existing.id
        }
        throw conflict
    }

    /// A forced removal refused with a conflict is one the Engine is already carrying out for
    /// another client (`docker rm -f` a moment earlier). While that removal kills the container,
    /// the container still reads as running, so its state cannot tell; asking again can: the
    /// Engine refuses again while its removal runs, says "no such container" once it is done
    /// (the caller takes that as done), and removes it for us if that removal failed. About 10 s
    /// of refusals, and the last one stands.
    func removeContainer(_ id: String) async throws {
        let spacing = Backoff(base: .milliseconds(25), cap: .milliseconds(200))
        for attempt in 0... {
            do {
                return try await engine.removeContainer(id, force: true, volumes: false)
            } catch let conflict as EngineError where conflict.is(.conflict) && attempt < 52 {
                try await Task.sleep(for: spacing.delay(attempt: attempt + 1))
            }
        }
    }

    /// The Engine is removing it, or tried to: nothing but its removal can act on it.
    static func beingRemoved(_ container: ContainerDetails) -> Bool {
        container.state.status == "removing" || container.state.status == "dead"
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

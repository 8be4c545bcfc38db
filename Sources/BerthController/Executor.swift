public import BerthEngine
public import BerthModel
public import BerthStore
public import Foundation

/// What happened to one step.
public struct StepResult: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        case succeeded
        case failed(String)
        /// Not run because a step it depends on did not succeed.
        case skipped(String)
    }
    public var status: Status
    public var startedAt: Date
    public var endedAt: Date
    /// The container the step acted on, including one it created; nil when it acts on none or
    /// its `create` failed.
    public var containerID: String?

    public var succeeded: Bool { status == .succeeded }
    public var outcome: ActionOutcome {
        switch status {
        case .succeeded: .ok
        case .failed: .failed
        case .skipped: .skipped
        }
    }
    public var error: String? {
        switch status {
        case .succeeded: nil
        case .failed(let message), .skipped(let message): message
        }
    }
}

/// Progress of an execution, for the terminal and the log.
public enum ExecutionEvent: Sendable {
    case started(PlanStep)
    case finished(PlanStep, StepResult)
    /// A line of pull or build output.
    case output(PlanStep, String)
    /// How far a pull is (`layer: Downloading 12.4/40.1 MB`): for a live display, superseded by the next.
    case progress(PlanStep, String)
    case hookRan(PlanStep, containerID: String, hook: String, result: ExecResult)
}

/// Runs a plan: each step as soon as the steps it depends on have succeeded, independent steps in
/// parallel. It makes no decisions; those were made by `Planner`.
public struct Executor: Sendable {
    let engine: any EngineClient
    let stack: String
    /// Steps in flight at once. Engine calls are cheap but `start` takes ~200 ms of Engine time,
    /// so overlapping them is where parallelism pays.
    let concurrency: Int

    public init(engine: any EngineClient, stack: String, concurrency: Int = 16) {
        self.engine = engine
        self.stack = stack
        self.concurrency = concurrency
    }

    /// - Parameter gate: runs before each step; a step whose gate throws fails with that error and
    ///   does not touch the Engine (the reconcile log could not record it).
    /// - Returns: the result of every step, by step id.
    public func execute(
        _ plan: Plan, gate: @escaping @Sendable (PlanStep) throws -> Void = { _ in },
        onEvent: @escaping @Sendable (ExecutionEvent) -> Void = { _ in }
    ) async -> [Int: StepResult] {
        let created = CreatedContainers()
        var results: [Int: StepResult] = [:]
        var pending = plan.steps
        await withTaskGroup(of: (Int, StepResult).self) { group in
            var running = 0
            func launchReady() {
                var progressed = true
                while progressed {
                    progressed = false
                    for step in pending {
                        guard step.dependsOn.allSatisfy({ results[$0] != nil }) else { continue }
                        if let blocker = step.dependsOn.first(where: { results[$0]?.succeeded == false }) {
                            let now = Date()
                            let result = StepResult(status: .skipped("step #\(blocker) did not succeed"), startedAt: now, endedAt: now)
                            results[step.id] = result
                            onEvent(.finished(step, result))
                        } else if running < concurrency {
                            running += 1
                            group.addTask {
                                onEvent(.started(step))
                                let start = Date()
                                let status: StepResult.Status
                                do {
                                    try gate(step)
                                    try await run(step, created: created, onEvent: onEvent)
                                    status = .succeeded
                                } catch {
                                    status = .failed(Self.describe(error))
                                }
                                let containerID = await created.resolved(step.operation.container)
                                return (step.id, StepResult(status: status, startedAt: start, endedAt: Date(), containerID: containerID))
                            }
                        } else {
                            continue
                        }
                        pending.removeAll { $0.id == step.id }
                        progressed = true
                    }
                }
            }
            launchReady()
            for await (id, result) in group {
                running -= 1
                results[id] = result
                if let step = plan.steps.first(where: { $0.id == id }) { onEvent(.finished(step, result)) }
                launchReady()
            }
        }
        return results
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? EngineError { return error.description }
        return "\(error)"
    }

    private func run(_ step: PlanStep, created: CreatedContainers, onEvent: @escaping @Sendable (ExecutionEvent) -> Void) async throws {
        switch step.operation {
        case .createNetwork(let spec):
            let request = spec.createRequest(stack: stack)
            do {
                _ = try await engine.createNetwork(request)
            } catch let conflict as EngineError where conflict.is(.conflict) {
                try await networkNamesake(matching: request, else: conflict)
            }
            try await keepOneNetwork(named: spec.engineName)
        case .removeNetwork(let name):
            try await ignoringNotFound { try await removeNetwork(name) }
        case .disconnectNetwork(let ref, let network):
            let id = try await created.id(ref)
            try await unlessInPlace(
                { try await ignoringNotFound { try await engine.disconnectNetwork(network, container: id, force: true) } },
                check: { $0.networkSettings.networks[network] == nil }, of: id)
        case .connectNetwork(let ref, let attachment):
            let id = try await created.id(ref)
            try await unlessInPlace(
                { try await engine.connectNetwork(attachment.network, container: id, endpoint: attachment.endpoint) },
                check: { $0.networkSettings.networks[attachment.network] != nil }, of: id)
        case .createVolume(let spec):
            _ = try await engine.createVolume(
                name: spec.engineName, driver: spec.driver, options: spec.options ?? [:], labels: [Resolver.Label.stack: stack])
        case .removeVolume(let name):
            try await ignoringNotFound { try await removeVolume(name) }
        case .adoptVolume(let name):
            // Nothing changes at the Engine; the reconcile records the adoption once this succeeded.
            guard try await engine.listVolumes(labels: [], names: [name]).contains(where: { $0.name == name }) else {
                throw ExecutionError("volume \(name) is gone")
            }
        case .buildImage(let image, let build):
            let context = try BuildContext.archive(build)
            _ = try await engine.buildImage(
                context: context.data, tag: image, dockerfile: build.effectiveDockerfile, target: build.target, buildArgs: build.args,
                labels: (build.labels ?? [:]).merging([Resolver.Label.stack: stack, Resolver.Label.contextDigest: context.digest]) { $1 }
            ) { message in
                if let line = message.stream?.trimmingCharacters(in: .whitespacesAndNewlines), !line.isEmpty { onEvent(.output(step, line)) }
            }
        case .pullImage(let image):
            do {
                try await engine.pullImage(image) { message in
                    // One line per layer state change ("Pulling fs layer", "Pull complete", the digest);
                    // progress ticks only for a live display.
                    guard let status = message.status else { return }
                    let layer = [message.id, status].compactMap { $0 }.joined(separator: ": ")
                    if let current = message.progressDetail?.current {
                        let total = message.progressDetail?.total.map { "/\(Self.megabytes($0))" } ?? ""
                        onEvent(.progress(step, "\(layer) \(Self.megabytes(current))\(total)"))
                    } else {
                        onEvent(.output(step, layer))
                    }
                }
            } catch let error as EngineError {
                throw ExecutionError(Self.pullFailure(image, error.message))
            }
        case .createContainer(let spec):
            let request = spec.createRequest(stack: stack)
            let id: String
            do {
                id = try await engine.createContainer(name: spec.name, request)
            } catch let conflict as EngineError where conflict.is(.conflict) {
                id = try await namesake(spec.name, matching: request, else: conflict)
            }
            await created.set(spec.service, id)
            if let files = spec.files, !files.isEmpty { try await engine.copyToContainer(id, path: "/", archive: Self.archive(files)) }
        case .startContainer(let ref):
            try await start(try await created.id(ref))
        case .stopContainer(let ref, let timeout):
            try await ignoringNotFound { try await engine.stopContainer(try await created.id(ref), timeout: timeout) }
        case .renameContainer(let ref, let name):
            let id = try await created.id(ref)
            try await unlessInPlace({ try await engine.renameContainer(id, to: name) }, check: { $0.name == "/" + name }, of: id)
        case .removeContainer(let ref):
            try await ignoringNotFound { try await removeContainer(try await created.id(ref)) }
        case .waitHealthy(let ref, let deadline):
            try await waitHealthy(try await created.id(ref), deadline: .milliseconds(deadline))
        case .waitCompleted(let ref):
            let exit = try await engine.waitContainer(try await created.id(ref), condition: "not-running")
            if exit.statusCode != 0 { throw ExecutionError("exited with code \(exit.statusCode); dependents need it to complete successfully") }
        case .drain(_, let milliseconds):
            try await Task.sleep(for: .milliseconds(milliseconds))
        case .createService(let spec):
            try await createService(spec)
        case .updateService(let id, let version, let spec):
            try await updateService(id: id, version: version, spec)
        case .removeService(let id, _):
            try await ignoringNotFound { try await engine.removeService(id) }
        case .waitService(let spec):
            try await waitService(spec)
        case .createObject(let object):
            try await createObject(object)
        case .removeObject(let kind, let id, _):
            try await ignoringNotFound { try await engine.removeSwarmObject(config: kind == .config, id) }
        case .runHook(let ref, let hook):
            let id = try await created.id(ref)
            let result = try await engine.exec(hook.command, in: id)
            onEvent(.hookRan(step, containerID: id, hook: hook.name, result: result))
            if result.exitCode != 0 {
                throw ExecutionError("hook \(hook.name) exited with code \(result.exitCode): \(result.stderr.suffix(300))")
            }
        }
    }

    /// Starts a container. Parallel starts of containers publishing ports did not race on this
    /// Engine (60 of 60 in a probe), but a port freed by a container stopped a moment earlier
    /// can still be held briefly; such a start is retried a few times.
    /// The files, as the Engine extracts them at `/`. No directory entries: the Engine makes a
    /// missing parent (0755), and an entry for an existing one (`/tmp`) would change its mode.
    static func archive(_ files: [FileSpec]) -> Data {
        var tar = TarArchive()
        for file in files.sorted(by: { $0.target < $1.target }) {
            let path = file.target.split(separator: "/").joined(separator: "/")
            tar.addFile(path, contents: Data(file.content.utf8), mode: file.mode, uid: file.uid, gid: file.gid)
        }
        return tar.archive
    }

    private func start(_ id: String) async throws {
        var attempt = 0
        while true {
            do {
                try await engine.startContainer(id)
                return
            } catch let error as EngineError where EngineTexts.isPortTaken(error.message) {
                // A port a removed container held is freed a moment later; one held for good is named.
                guard attempt < 3 else { throw ExecutionError(await portTaken(error.message, starting: id)) }
                attempt += 1
                try await Task.sleep(for: .milliseconds(250 * attempt))
            }
        }
    }

    /// Why an image that is not on the host could not be pulled, in words a user can act on;
    /// the Engine's own text follows on the next line.
    static func pullFailure(_ image: String, _ message: String) -> String {
        let reason =
            switch EngineTexts.pullFailure(message) {
            case .unresolvable: "its registry's host name does not resolve (no network, or a typo)"
            case .unreachable: "its registry cannot be reached"
            case .notFound: "its registry has no such image or tag"
            case .denied: "its registry refused access (docker login?)"
            case .other: "the pull failed"
            }
        return
            "image \(image) is not on this host and \(reason); build it, load it (docker load), or fix its name or tag\n    Engine: \(oneLine(message))"
    }

    /// What holds the host port the Engine could not bind: another container, named with its
    /// stack and service when Berth's, or a process on the host.
    private func portTaken(_ message: String, starting id: String) async -> String {
        guard let port = Self.hostPort(in: message) else { return message }
        let holders = ((try? await engine.listContainers(labels: [], names: [], all: false)) ?? [])
            .filter { $0.id != id && $0.ports.contains { $0.publicPort == port } }
        guard let holder = holders.first else {
            return "host port \(port) is in use by a process on the host, not a container; stop it or publish another port"
        }
        let owner = holder.labels[Resolver.Label.stack].map { " (stack \($0), service \(holder.labels[Resolver.Label.service] ?? "?"))" } ?? ""
        return "host port \(port) is already published by container \(holder.name)\(owner); stop it or publish another port"
    }

    /// The port in the Engine's bind error: `Bind for 0.0.0.0:8080 failed: port is already
    /// allocated` (Docker), `listen tcp4 0.0.0.0:8080: bind: address already in use` (a process).
    static func hostPort(in message: String) -> Int? {
        let words = message.split(whereSeparator: { $0 == " " }).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ":,")) }
        for word in words {
            guard let colon = word.lastIndex(of: ":"), word[..<colon].contains(where: { $0 == "." || $0 == ":" || $0 == "]" }) else { continue }
            if let port = Int(word[word.index(after: colon)...]), (1...65535).contains(port) { return port }
        }
        return nil
    }

    private func waitHealthy(_ id: String, deadline: Duration) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let end = start + deadline
        while true {
            let details = try await engine.inspectContainer(id)
            let health = details.state.health?.status
            if health == "healthy" { return }
            if health == "unhealthy" {
                let check = details.state.health?.lastCheck.map { "\n    last check (exit \($0.exitCode)): \(Self.oneLine($0.output))" } ?? ""
                throw ExecutionError(
                    "unhealthy: its healthcheck failed \(details.state.health?.failingStreak ?? 0) times in a row\(check)\(await lastLogLines(id, tty: details.config.tty ?? false))"
                )
            }
            if !details.state.running {
                throw ExecutionError(
                    "container exited (code \(details.state.exitCode)) before becoming healthy\(await lastLogLines(id, tty: details.config.tty ?? false))"
                )
            }
            if clock.now >= end {
                throw ExecutionError("not healthy after \(deadline) (health: \(health ?? "none"))")
            }
            if engine.product == .podman, let unrun = Self.healthchecksNotRunning(details, waited: clock.now - start) {
                throw ExecutionError(unrun)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The container's last lines of output, as a failed gate's reason shows them (the reconcile
    /// redacts secrets from it before it is printed or logged); empty when there are none.
    private func lastLogLines(_ id: String, tty: Bool, count: Int = 5) async -> String {
        var bytes: [UInt8] = []
        do {
            for try await chunk in engine.logs(id, tty: tty, DockerClient.LogOptions(tail: String(count))) where bytes.count < 65536 {
                bytes += chunk.bytes
            }
        } catch {
            return ""
        }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").suffix(count)
        return lines.isEmpty ? "" : "\n    last output:" + lines.map { "\n      " + Self.oneLine(String($0)) }.joined()
    }

    static func megabytes(_ bytes: Int64) -> String { String(format: "%.1f MB", Double(bytes) / 1_000_000) }

    /// Output as one printable line of at most 300 characters.
    public static func oneLine(_ text: String) -> String {
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines).map { $0.isNewline ? " " : $0 }
        return String(line.prefix(300).filter { !$0.isASCII || $0.asciiValue! >= 0x20 })
    }

    /// Podman runs healthchecks from systemd timers; on a host without systemd (a container, many
    /// CI runners) none ever runs and every health gate would wait for its whole deadline. When
    /// no check has run by the time the first was due (its interval and timeout, and 10 s more),
    /// that is what this says.
    public static func healthchecksNotRunning(_ details: ContainerDetails, waited: Duration) -> String? {
        guard let health = details.state.health, health.checksRun == 0, health.status == "starting" else { return nil }
        let check = details.config.healthcheck
        let due = Duration.nanoseconds((check?.interval ?? 30_000_000_000) + (check?.timeout ?? 30_000_000_000)) + .seconds(10)
        guard waited > due else { return nil }
        return "Podman ran no healthcheck in \(waited.components.seconds) s: it runs them "
            + "from systemd timers, and this host has no systemd to run them (see docs/operations.md, Podman)"
    }

    func ignoringNotFound(_ body: () async throws -> Void) async throws {
        do { try await body() } catch let error as EngineError where error.is(.notFound) {}
    }
}

/// A failure the executor itself detects (as opposed to one the Engine reports).
public struct ExecutionError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Ids of containers created during one execution, so later steps can act on them.
actor CreatedContainers {
    private var ids: [String: String] = [:]

    func set(_ service: String, _ id: String) { ids[service] = id }

    /// The id `ref` stands for, or nil when there is no such container (yet).
    func resolved(_ ref: ContainerRef?) -> String? { ref.flatMap { try? id($0) } }

    func id(_ ref: ContainerRef) throws -> String {
        switch ref {
        case .existing(let id, _): return id
        case .created(let service, let name):
            guard let id = ids[service] else { throw ExecutionError("container \(name) was not created") }
            return id
        }
    }
}

public import BerthController
public import BerthEngine
public import BerthStore
public import Foundation

/// A uniquely named stack in a temporary directory, with its own state file, for one test.
/// `cleanup()` removes everything labelled with its name from the Engine, and the directory.
public struct TestStack: Sendable {
    public let name: String
    public let directory: URL
    public let statePath: String
    public let engine: DockerClient

    /// The local base image the test manifests run (built by `scripts/images`).
    public static let baseImage = "berth-demo/busybox:1"

    public static func make(_ prefix: String = "t") async throws -> TestStack {
        let name = prefix + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-test-\(name)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let engine = try await DockerClient.connect()
        return TestStack(name: name, directory: directory, statePath: directory.appendingPathComponent("state.db").path, engine: engine)
    }

    /// Writes (or replaces) a manifest file; `{{stack}}` in the text becomes the stack name.
    public func write(_ file: String, _ text: String) throws {
        let url = directory.appendingPathComponent(file)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.replacingOccurrences(of: "{{stack}}", with: name).write(to: url, atomically: true, encoding: .utf8)
    }

    public func remove(_ file: String) throws {
        try FileManager.default.removeItem(at: directory.appendingPathComponent(file))
    }

    public func load() throws -> LoadedStack { try StackLoader.load(directory: directory.path) }

    public func store() throws -> ReconcileStore { try ReconcileStore(path: statePath) }

    /// This process's environment with the stack's state file: what a `berth` command for this stack runs with.
    public var berthEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["BERTH_STATE"] = statePath
        return environment
    }

    /// Runs the `berth` binary users run (`BerthBinary`) with `arguments`, on this stack's state file.
    public func berth(_ arguments: [String]) async throws -> CommandResult {
        try await Command.run(BerthBinary.path, arguments, environment: berthEnvironment)
    }

    public func reconciler() throws -> Reconciler { Reconciler(engine: engine, store: try store()) }

    /// Loads the manifests and applies them once.
    @discardableResult
    public func apply(_ options: ReconcileOptions = ReconcileOptions(processEnvironment: ProcessInfo.processInfo.environment)) async throws
        -> ReconcileReport
    {
        try await reconciler().apply(try load(), options)
    }

    /// The stack's containers as the Engine lists them.
    public func containers() async throws -> [ContainerSummary] {
        try await engine.listContainers(labels: ["berth.stack=\(name)"], all: true)
    }

    /// Removes every container, network and volume of this stack (and preflight probes a killed
    /// Berth left), then the directory.
    public func cleanup() async {
        let label = ["berth.stack=\(name)"]
        for labels in [label, ["berth.probe=\(name)"]] {
            for container in (try? await engine.listContainers(labels: labels, all: true)) ?? [] {
                try? await engine.removeContainer(container.id, force: true, volumes: true)
            }
        }
        for network in (try? await engine.listNetworks(labels: label)) ?? [] { try? await engine.removeNetwork(network.id) }
        for volume in (try? await engine.listVolumes(labels: label)) ?? [] { try? await engine.removeVolume(volume.name, force: true) }
        try? FileManager.default.removeItem(at: directory)
        try? await engine.shutdown()
    }

    /// Runs `body` with a fresh stack and always cleans up, also when `body` throws.
    public static func with<T: Sendable>(_ prefix: String = "t", _ body: (TestStack) async throws -> T) async throws -> T {
        let stack = try await make(prefix)
        do {
            let result = try await body(stack)
            await stack.cleanup()
            return result
        } catch {
            await stack.cleanup()
            throw error
        }
    }
}

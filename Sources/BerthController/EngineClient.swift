public import BerthEngine
public import Foundation

/// Every Engine call the controller makes, in one list, so that one seam is all a backend fills:
/// `DockerClient` for a Docker (or Docker-compatible) Engine, `FaultyEngine` in the tests (a real
/// Engine behind injected failures and delays), and later a second backend such as Podman or
/// Swarm, without touching the observer, executor or loop. The loop itself needs only the event
/// stream (`EngineEventSource`).
public protocol EngineClient: EngineEventSource {
    func listContainers(labels: [String], names: [String], all: Bool) async throws -> [ContainerSummary]
    func inspectContainer(_ id: String) async throws -> ContainerDetails
    func createContainer(name: String?, _ request: ContainerCreateRequest) async throws -> String
    func startContainer(_ id: String) async throws
    func stopContainer(_ id: String, timeout: Int?) async throws
    func removeContainer(_ id: String, force: Bool, volumes: Bool) async throws
    func renameContainer(_ id: String, to name: String) async throws
    func copyToContainer(_ id: String, path: String, archive: Data) async throws
    func waitContainer(_ id: String, condition: String) async throws -> WaitResponse
    func listNetworks(labels: [String], names: [String]) async throws -> [NetworkDetails]
    func createNetwork(_ request: NetworkCreateRequest) async throws -> String
    func connectNetwork(_ network: String, container: String, endpoint: EndpointRequest?) async throws
    func disconnectNetwork(_ network: String, container: String, force: Bool) async throws
    func removeNetwork(_ idOrName: String) async throws
    func listVolumes(labels: [String], names: [String]) async throws -> [VolumeDetails]
    func createVolume(name: String, driver: String, options: [String: String], labels: [String: String]) async throws -> VolumeDetails
    func removeVolume(_ name: String, force: Bool) async throws
    func inspectImage(_ reference: String) async throws -> ImageDetails
    func pullImage(_ reference: String, progress: DockerClient.Progress?) async throws
    func registryDigest(_ reference: String) async throws -> String
    func buildImage(
        context: Data, tag: String, dockerfile: String, target: String?, buildArgs: [String: String], labels: [String: String],
        progress: DockerClient.Progress?
    ) async throws -> String
    func exec(_ command: [String], in container: String) async throws -> ExecResult
    func logs(_ container: String, tty: Bool, _ options: DockerClient.LogOptions) -> AsyncThrowingStream<OutputChunk, any Error>
    func info() async throws -> EngineInfo
    func listServices(labels: [String], names: [String]) async throws -> [SwarmService]
    func inspectService(_ idOrName: String) async throws -> SwarmService
    func createService(_ spec: ServiceSpec) async throws -> String
    func updateService(_ id: String, version: UInt64, _ spec: ServiceSpec) async throws
    func removeService(_ idOrName: String) async throws
    func listTasks(services: [String], wantedRunning: Bool) async throws -> [SwarmTask]
    func listNodes() async throws -> [SwarmNode]
    func listSwarmObjects(configs: Bool, labels: [String]) async throws -> [SwarmObjectSummary]
    func createSwarmObject(config: Bool, _ spec: SwarmObjectSpec) async throws -> String
    func removeSwarmObject(config: Bool, _ idOrName: String) async throws
    var callCounts: EngineCallCounts { get }
    /// Docker or Podman: the few places they differ in behaviour (not in shapes) ask.
    var product: EngineProduct { get }
    /// The Engine's own version (Docker's or Podman's), for the log.
    var engineVersion: String { get }
}

extension DockerClient: EngineClient {}

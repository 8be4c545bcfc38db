import BerthModel
import Testing

/// What the observer must look up by name beside the stack's own objects: every name the plan
/// reads, and nothing the host has already answered with.
@Suite struct NamesToLookUpTests {
    static let project = """
        services:
          web: {image: a, container_name: front, networks: [default, edge], volumes: ["data:/d", "shared:/s"]}
          probe: {image: a, network_mode: "service:web", volumes_from: ["container:outside"]}
        networks:
          edge: {external: true, name: corp-net}
        volumes:
          data: {}
          shared: {external: true, name: corp-data}
        """

    let desired: DesiredState

    init() throws {
        desired = try ComposeTests.resolve(try ComposeTests.load(["compose.yaml": Self.project]))
    }

    func container(_ name: String, stack: String? = nil, state: String = "running", networkIDs: [String: String] = [:]) -> ObservedContainer {
        ObservedContainer(
            id: "id-\(name)", name: name, labels: stack.map { ["berth.stack": $0] } ?? [:], imageID: "sha256:a", state: state,
            status: state, health: nil, networks: networkIDs.keys.sorted(), networkIDs: networkIDs)
    }

    func network(_ name: String, owned: Bool) -> ObservedNetwork {
        ObservedNetwork(
            id: "net-\(name)", name: name, labels: owned ? ["berth.stack": desired.stack] : [:], driver: "bridge", internal: false, subnet: nil,
            gateway: nil)
    }

    /// What the label-filtered lists return on a host converged to `desired`.
    var owned: ObservedState {
        ObservedState(
            containers: desired.containers.map { container($0.name, stack: desired.stack) },
            networks: desired.networks.filter { !$0.external }.map { network($0.engineName, owned: true) },
            volumes: desired.volumes.filter { !$0.external }.map { ObservedVolume(name: $0.engineName, labels: ["berth.stack": desired.stack]) })
    }

    @Test func anEmptyHostIsAskedForEveryName() {
        let missing = NamesToLookUp.missing(for: desired, in: ObservedState())
        #expect(missing.containers == Set(desired.containers.map(\.name) + ["outside"]))
        #expect(missing.containers.contains("front"))
        #expect(missing.networks == Set(desired.networks.map(\.engineName)))
        #expect(missing.networks.contains("corp-net"))
        #expect(missing.volumes == Set(desired.volumes.map(\.engineName)))
        #expect(missing.volumes.contains("corp-data"))
    }

    /// A converged stack asks only for what is someone else's by design.
    @Test func aConvergedStackAsksOnlyForOutsideObjects() {
        let missing = NamesToLookUp.missing(for: desired, in: owned)
        #expect(missing == NamesToLookUp(containers: ["outside"], networks: ["corp-net"], volumes: ["corp-data"]))
    }

    /// Once the lookup has found them (or found them absent), a second ask has nothing to add.
    @Test func foundObjectsAreNotAskedForAgain() {
        var observed = owned
        observed.containers.append(container("outside"))
        observed.networks.append(network("corp-net", owned: false))
        observed.volumes.append(ObservedVolume(name: "corp-data", labels: [:]))
        #expect(NamesToLookUp.missing(for: desired, in: observed).isEmpty)
    }

    /// A stopped container of the stack still names the network it was made on: the plan compares
    /// that network's id with the current one of that name, which may be nobody's.
    @Test func networksTheStacksContainersAreAttachedToAreAsked() {
        var observed = owned
        observed.containers.append(container("old", stack: desired.stack, state: "exited", networkIDs: ["hand-made": "n1"]))
        observed.containers.append(container("theirs", networkIDs: ["their-net": "n2"]))
        let missing = NamesToLookUp.missing(for: desired, in: observed)
        #expect(missing.networks == ["corp-net", "hand-made"])
    }
}

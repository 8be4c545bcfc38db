import Foundation

/// The deterministic hash stamped on each container as `berth.spec-hash`, and the one list of
/// which `ContainerSpec` fields need a new container when they change.
///
/// `recreating` names every field the hash covers with how its change is explained; `inPlace`
/// names every other field with why it is left out (it changes in place, or does not concern the
/// container). A test holds both lists against `ContainerSpec`'s stored properties, so a new
/// field cannot silently miss the hash. Lists the Engine treats as sets are sorted first, and JSON
/// keys are sorted, so manifest key order and document order never matter.
public enum SpecHash {
    /// A field whose change needs a new container: its property name and what changed, in words.
    public struct Field: Sendable {
        public let property: String
        let changes: @Sendable (ContainerSpec, ContainerSpec) -> [String]

        init<Value: Equatable & Sendable>(_ property: String, _ label: String, _ value: @escaping @Sendable (ContainerSpec) -> Value) {
            self.property = property
            self.changes = { old, new in value(old) == value(new) ? [] : [label] }
        }

        init(_ property: String, changes: @escaping @Sendable (ContainerSpec, ContainerSpec) -> [String]) {
            self.property = property
            self.changes = changes
        }
    }

    /// In the order `differences` names them.
    public static let recreating: [Field] = [
        Field("image") { old, new in old.image == new.image ? [] : ["image \(old.image) → \(new.image)"] },
        Field("command", "command") { $0.command },
        Field("entrypoint", "entrypoint") { $0.entrypoint },
        Field("environment") { old, new in
            let before = Dictionary(old.environment.map { ($0.name, $0.redacted.value) }, uniquingKeysWith: { a, _ in a })
            let after = Dictionary(new.environment.map { ($0.name, $0.redacted.value) }, uniquingKeysWith: { a, _ in a })
            return Set(before.keys).union(after.keys).sorted().filter { before[$0] != after[$0] }.map { "env \($0)" }
        },
        Field("ports", "ports") { $0.ports.sorted() },
        Field("mounts", "mounts") { $0.mounts.sorted() },
        Field("networks", "networks") { $0.networks.sorted() },
        Field("healthcheck", "healthcheck") { $0.healthcheck },
        Field("restart", "restart") { $0.restart },
        Field("hostname", "hostname") { $0.hostname },
        Field("user", "user") { $0.user },
        Field("workingDir", "working_dir") { $0.workingDir },
        Field("initProcess", "init") { $0.initProcess },
        Field("stopGraceSeconds", "stop_grace_period") { $0.stopGraceSeconds },
        Field("labels", "labels") { $0.labels },
        Field("runtime") { old, new in (old.runtime ?? RuntimeOptions()).changes(to: new.runtime ?? RuntimeOptions()) },
        Field("files") { old, new in
            let before = Dictionary((old.files ?? []).map { ($0.target, $0.redacted) }, uniquingKeysWith: { a, _ in a })
            let after = Dictionary((new.files ?? []).map { ($0.target, $0.redacted) }, uniquingKeysWith: { a, _ in a })
            return Set(before.keys).union(after.keys).sorted().filter { before[$0] != after[$0] }.map { "file \($0)" }
        },
        Field("name", "container name") { $0.name },
    ]

    /// Fields left out of the hash, with why.
    public static let inPlace: [String: String] = [
        "service": "the identity of the spec, carried as a label of its own",
        "build": "the recipe of the image; a rebuilt image recreates through its id",
        "pullPolicy": "when to pull; a pulled image recreates through its id",
        "dependsOn": "the order of starts, not the container",
        "hooks": "run once per container, after it is healthy",
        "update": "how the next rollout goes, not what runs",
        "specHash": "the hash itself",
    ]

    /// What is encoded; its key names and shapes are what every stamped hash was made from, so
    /// they never change (a changed hash recreates every container on upgrade).
    struct Hashed: Encodable {
        let name: String
        let image: String
        let command: [String]?
        let entrypoint: [String]?
        let environment: [String]
        let ports: [String]
        let mounts: [String]
        let networks: [NetworkAttachment]
        let healthcheck: HealthcheckSpec?
        let restart: String
        let hostname: String?
        let user: String?
        let workingDir: String?
        let initProcess: Bool
        let stopGraceSeconds: Int
        let labels: [String: String]
        /// Absent (not null) when nil, so specs without runtime options hash as they always did.
        let runtime: RuntimeOptions?
        /// Each file's target, mode, owner and content digest; absent when there are none.
        let files: [String]?
    }

    /// The property names the hash encodes, for the test that holds them to `recreating`.
    public static var encodedProperties: [String] {
        let sample = Hashed(
            name: "", image: "", command: nil, entrypoint: nil, environment: [], ports: [], mounts: [], networks: [], healthcheck: nil,
            restart: "", hostname: nil, user: nil, workingDir: nil, initProcess: false, stopGraceSeconds: 0, labels: [:], runtime: nil,
            files: nil)
        return Mirror(reflecting: sample).children.compactMap(\.label)
    }

    public static func compute(_ spec: ContainerSpec) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(hashed(spec))) ?? Data()
        return String(Digest.sha256Hex(data).prefix(32))
    }

    static func hashed(_ spec: ContainerSpec) -> Hashed {
        Hashed(
            name: spec.name, image: spec.image, command: spec.command, entrypoint: spec.entrypoint,
            environment: spec.environment.map { "\($0.name)=\($0.value)" }.sorted(),
            ports: spec.ports.map(\.description).sorted(), mounts: spec.mounts.map(\.description).sorted(),
            networks: spec.networks.map { NetworkAttachment(network: $0.network, aliases: $0.aliases.sorted(), ipv4Address: $0.ipv4Address) }
                .sorted(),
            healthcheck: spec.healthcheck, restart: spec.restart.description, hostname: spec.hostname, user: spec.user,
            workingDir: spec.workingDir, initProcess: spec.initProcess, stopGraceSeconds: spec.stopGraceSeconds,
            labels: spec.labels, runtime: spec.runtime?.canonical,
            files: spec.files.map { files in
                files.map { "\($0.target) \(String($0.mode, radix: 8)) \($0.uid):\($0.gid) \(Digest.sha256Hex($0.content))" }.sorted()
            })
    }

    /// Which recreate-relevant fields differ between two specs, for a reason a person can read:
    /// `env DB_HOST`, `image`, `ports`, …
    public static func differences(from old: ContainerSpec, to new: ContainerSpec) -> [String] {
        recreating.flatMap { $0.changes(old, new) }
    }
}

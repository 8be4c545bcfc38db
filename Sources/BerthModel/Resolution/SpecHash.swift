import Foundation

/// The deterministic hash stamped on each container as `berth.spec-hash`.
///
/// It covers exactly the fields that need a new container when they change (image, command,
/// environment, ports, mounts, networks, healthcheck, restart policy, …) and leaves out what can
/// change in place or does not concern the container (dependencies, hooks, build recipe, pull
/// policy). Lists the Engine treats as sets are sorted first, and JSON keys are sorted, so
/// manifest key order and document order never matter.
public enum SpecHash {
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
    }

    public static func compute(_ spec: ContainerSpec) -> String {
        let hashed = Hashed(
            name: spec.name, image: spec.image, command: spec.command, entrypoint: spec.entrypoint,
            environment: spec.environment.map { "\($0.name)=\($0.value)" }.sorted(),
            ports: spec.ports.map(\.description).sorted(), mounts: spec.mounts.map(\.description).sorted(),
            networks: spec.networks.map { NetworkAttachment(network: $0.network, aliases: $0.aliases.sorted(), ipv4Address: $0.ipv4Address) }
                .sorted(),
            healthcheck: spec.healthcheck, restart: spec.restart, hostname: spec.hostname, user: spec.user,
            workingDir: spec.workingDir, initProcess: spec.initProcess, stopGraceSeconds: spec.stopGraceSeconds,
            labels: spec.labels)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(hashed)) ?? Data()
        return String(Digest.sha256Hex(data).prefix(32))
    }

    /// Which recreate-relevant fields differ between two specs, for a reason a person can read:
    /// `env DB_HOST`, `image`, `ports`, …
    public static func differences(from old: ContainerSpec, to new: ContainerSpec) -> [String] {
        var result: [String] = []
        if old.image != new.image { result.append("image \(old.image) → \(new.image)") }
        if old.command != new.command { result.append("command") }
        if old.entrypoint != new.entrypoint { result.append("entrypoint") }
        let oldEnv = Dictionary(old.environment.map { ($0.name, $0.redacted.value) }, uniquingKeysWith: { a, _ in a })
        let newEnv = Dictionary(new.environment.map { ($0.name, $0.redacted.value) }, uniquingKeysWith: { a, _ in a })
        for name in Set(oldEnv.keys).union(newEnv.keys).sorted() where oldEnv[name] != newEnv[name] {
            result.append("env \(name)")
        }
        if old.ports.sorted() != new.ports.sorted() { result.append("ports") }
        if old.mounts.sorted() != new.mounts.sorted() { result.append("mounts") }
        if old.networks.sorted() != new.networks.sorted() { result.append("networks") }
        if old.healthcheck != new.healthcheck { result.append("healthcheck") }
        if old.restart != new.restart { result.append("restart") }
        if old.hostname != new.hostname { result.append("hostname") }
        if old.user != new.user || old.workingDir != new.workingDir { result.append("user/working_dir") }
        if old.initProcess != new.initProcess { result.append("init") }
        if old.stopGraceSeconds != new.stopGraceSeconds { result.append("stop_grace_period") }
        if old.labels != new.labels { result.append("labels") }
        if old.name != new.name { result.append("container name") }
        return result
    }
}

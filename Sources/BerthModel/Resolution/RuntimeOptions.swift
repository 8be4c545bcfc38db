import Foundation

/// How the Engine runs a container beyond what, where and with which values: its signals,
/// terminal, kernel capabilities and settings, network and IPC namespaces, volumes shared from
/// other containers and resource limits. Read from Compose
/// (`stop_signal`, `cap_add`, `sysctls`, `deploy.resources`, …) as final values; a change of any of
/// them needs a new container.
///
/// Kept as one value so a spec without any of them encodes exactly as before they existed (see
/// `SpecHash`): adding them changed no running container's hash.
public struct RuntimeOptions: Sendable, Codable, Equatable {
    public var stopSignal: String?
    public var tty = false
    public var stdinOpen = false
    public var capAdd: [String] = []
    public var capDrop: [String] = []
    public var sysctls: [String: String] = [:]
    /// `private`, `shareable`, `host`, `none` or `container:NAME`.
    public var ipc: String?
    /// `host`, `none`, `bridge` or `container:NAME` (Compose's `service:NAME` resolved to the
    /// service's container name): the container then joins no network of the stack.
    public var networkMode: String?
    /// `NAME[:ro|:rw]` of the containers whose volumes it mounts too (Compose's `volumes_from`,
    /// `service:` entries resolved to container names).
    public var volumesFrom: [String] = []
    /// `CONTAINER:ALIAS` links (Compose's `links:`, resolved to container names).
    public var links: [String] = []
    public var memoryBytes: Int64?
    public var memoryReservationBytes: Int64?
    /// CPUs in billionths (`cpus: 0.5` is 500 000 000), as the Engine takes them.
    public var nanoCPUs: Int64?
    public var pidsLimit: Int64?
    /// The OCI runtime (`runc`, `io.containerd.wasmedge.v1`, …); nil for the Engine's default.
    public var runtime: String?
    public var privileged = false
    public var readOnlyRootfs = false
    /// `HOST:IP` lines for the container's /etc/hosts.
    public var extraHosts: [String] = []
    public var dns: [String] = []
    public var dnsSearch: [String] = []
    public var dnsOptions: [String] = []
    public var securityOptions: [String] = []
    public var shmSizeBytes: Int64?
    /// Per resource (`nofile`, `nproc`, …): soft and hard limit.
    public var ulimits: [String: Ulimit] = [:]
    /// `host` or `container:NAME`.
    public var pid: String?
    public var groupAdd: [String] = []
    public var devices: [Device] = []
    public var oomScoreAdj: Int?
    public var cpuShares: Int64?
    /// Memory plus swap, in bytes; -1 for unlimited swap.
    public var memorySwapBytes: Int64?
    public var usernsMode: String?
    /// The log driver and its options (`logging:`); nil for the Engine's default.
    public var logging: Logging?

    public struct Ulimit: Sendable, Codable, Equatable {
        public var soft: Int64
        public var hard: Int64
        public init(soft: Int64, hard: Int64) {
            self.soft = soft
            self.hard = hard
        }
    }

    public struct Device: Sendable, Codable, Equatable {
        public var source: String
        public var target: String
        public var permissions: String
        public init(source: String, target: String, permissions: String) {
            self.source = source
            self.target = target
            self.permissions = permissions
        }
    }

    public struct Logging: Sendable, Codable, Equatable {
        public var driver: String
        public var options: [String: String]
        public init(driver: String, options: [String: String]) {
            self.driver = driver
            self.options = options
        }
    }

    public init() {}

    public var isEmpty: Bool { self == RuntimeOptions() }

    /// The container whose network namespace this one joins, when it joins one.
    public var networkContainer: String? {
        guard let mode = networkMode, mode.hasPrefix("container:") else { return nil }
        return String(mode.dropFirst("container:".count))
    }

    /// The containers whose volumes this one mounts, without their `:ro`/`:rw`.
    public var volumeContainers: [String] {
        volumesFrom.map { entry in
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            return parts.count > 1 && ["ro", "rw"].contains(parts.last!) ? parts.dropLast().joined(separator: ":") : entry
        }
    }

    /// The Compose keys whose values differ, for a plan's reason.
    public func changes(to other: RuntimeOptions) -> [String] {
        let pairs: [(String, Bool)] = [
            ("stop_signal", stopSignal == other.stopSignal), ("tty", tty == other.tty), ("stdin_open", stdinOpen == other.stdinOpen),
            ("cap_add", capAdd.sorted() == other.capAdd.sorted()), ("cap_drop", capDrop.sorted() == other.capDrop.sorted()),
            ("sysctls", sysctls == other.sysctls), ("ipc", ipc == other.ipc),
            ("network_mode", networkMode == other.networkMode), ("volumes_from", volumesFrom == other.volumesFrom),
            ("links", links.sorted() == other.links.sorted()),
            ("memory", memoryBytes == other.memoryBytes),
            ("memory reservation", memoryReservationBytes == other.memoryReservationBytes), ("cpus", nanoCPUs == other.nanoCPUs),
            ("pids_limit", pidsLimit == other.pidsLimit), ("runtime", runtime == other.runtime), ("privileged", privileged == other.privileged),
            ("read_only", readOnlyRootfs == other.readOnlyRootfs), ("extra_hosts", extraHosts.sorted() == other.extraHosts.sorted()),
            ("dns", dns == other.dns), ("dns_search", dnsSearch == other.dnsSearch), ("dns_opt", dnsOptions == other.dnsOptions),
            ("security_opt", securityOptions.sorted() == other.securityOptions.sorted()), ("shm_size", shmSizeBytes == other.shmSizeBytes),
            ("ulimits", ulimits == other.ulimits), ("pid", pid == other.pid), ("group_add", groupAdd.sorted() == other.groupAdd.sorted()),
            ("devices", devices == other.devices), ("oom_score_adj", oomScoreAdj == other.oomScoreAdj), ("cpu_shares", cpuShares == other.cpuShares),
            ("memswap_limit", memorySwapBytes == other.memorySwapBytes), ("userns_mode", usernsMode == other.usernsMode),
            ("logging", logging == other.logging),
        ]
        return pairs.filter { !$0.1 }.map(\.0)
    }

    /// The same options with lists the Engine treats as sets sorted, for hashing.
    var canonical: RuntimeOptions {
        var copy = self
        copy.capAdd = Array(Set(capAdd)).sorted()
        copy.capDrop = Array(Set(capDrop)).sorted()
        copy.extraHosts = extraHosts.sorted()
        copy.securityOptions = securityOptions.sorted()
        copy.groupAdd = groupAdd.sorted()
        copy.links = links.sorted()
        return copy
    }
}

/// Byte sizes as Compose writes them: `512`, `300m`, `1.5g`, `2GB`, `64k`.
enum ByteSize {
    static func parse(_ text: String) -> Int64? {
        let lower = text.lowercased().trimmingCharacters(in: .whitespaces)
        let (k, m, g, t): (Double, Double, Double, Double) = (1024, 1_048_576, 1_073_741_824, 1_099_511_627_776)
        let units: [(String, Double)] = [("kb", k), ("mb", m), ("gb", g), ("tb", t), ("k", k), ("m", m), ("g", g), ("t", t), ("b", 1)]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            guard let value = Double(lower.dropLast(suffix.count)), value >= 0 else { return nil }
            return Int64(value * factor)
        }
        return Int64(lower).flatMap { $0 >= 0 ? $0 : nil }
    }
}

extension RuntimeOptions {
    /// The options set here that a Swarm service cannot carry as Berth maps it today, named as
    /// manifests spell them (`network_mode`, `shm_size`): stop signal, tty, read-only root,
    /// capabilities, sysctls and CPU and memory limits map.
    public var swarmUnsupported: [String] {
        var mapped = RuntimeOptions()
        (mapped.stopSignal, mapped.tty, mapped.readOnlyRootfs, mapped.capAdd, mapped.capDrop, mapped.sysctls) = (
            stopSignal, tty, readOnlyRootfs, capAdd, capDrop, sysctls
        )
        (mapped.memoryBytes, mapped.memoryReservationBytes, mapped.nanoCPUs) = (memoryBytes, memoryReservationBytes, nanoCPUs)
        guard mapped != self else { return [] }
        return Mirror(reflecting: self).children.compactMap { child -> String? in
            guard let label = child.label else { return nil }
            let mine = Mirror(reflecting: mapped).children.first { $0.label == label }.map { "\($0.value)" }
            guard mine != "\(child.value)" else { return nil }
            let words = label.replacingOccurrences(of: "Bytes", with: "").reduce(into: "") { text, character in
                text += character.isUppercase ? "_" + character.lowercased() : String(character)
            }
            return words
        }
    }
}

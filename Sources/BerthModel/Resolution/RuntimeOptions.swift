import Foundation

/// How the Engine runs a container beyond what, where and with which values: its signals,
/// terminal, kernel capabilities and settings, IPC namespace and resource limits. Read from Compose
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
    public var memoryBytes: Int64?
    public var memoryReservationBytes: Int64?
    /// CPUs in billionths (`cpus: 0.5` is 500 000 000), as the Engine takes them.
    public var nanoCPUs: Int64?
    public var pidsLimit: Int64?

    public init() {}

    public var isEmpty: Bool { self == RuntimeOptions() }

    /// The Compose keys whose values differ, for a plan's reason.
    public func changes(to other: RuntimeOptions) -> [String] {
        let pairs: [(String, Bool)] = [
            ("stop_signal", stopSignal == other.stopSignal), ("tty", tty == other.tty), ("stdin_open", stdinOpen == other.stdinOpen),
            ("cap_add", capAdd.sorted() == other.capAdd.sorted()), ("cap_drop", capDrop.sorted() == other.capDrop.sorted()),
            ("sysctls", sysctls == other.sysctls), ("ipc", ipc == other.ipc), ("memory", memoryBytes == other.memoryBytes),
            ("memory reservation", memoryReservationBytes == other.memoryReservationBytes), ("cpus", nanoCPUs == other.nanoCPUs),
            ("pids_limit", pidsLimit == other.pidsLimit),
        ]
        return pairs.filter { !$0.1 }.map(\.0)
    }

    /// The same options with lists the Engine treats as sets sorted, for hashing.
    var canonical: RuntimeOptions {
        var copy = self
        copy.capAdd = Array(Set(capAdd)).sorted()
        copy.capDrop = Array(Set(capDrop)).sorted()
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

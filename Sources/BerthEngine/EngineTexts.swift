/// Every English text of the Engine that Berth reads, in one place, each with the Engines it was
/// seen on. Status codes and structured fields come first (404 for a missing container, image or
/// network, 409 for a name in use, 304 for already started or stopped); these are for what the API
/// says only in words. An Engine that words them otherwise degrades a message or a retry, never a
/// decision about what runs.
public enum EngineTexts {
    /// A start refused because a host port is taken: a 500 whose only clue is the text.
    /// Seen: Docker 20.10 `Bind for 0.0.0.0:8080 failed: port is already allocated`; Docker 20.10
    /// via docker-proxy and Podman 4.3 `listen tcp4 0.0.0.0:8080: bind: address already in use`.
    public static func isPortTaken(_ message: String) -> Bool {
        message.contains("port is already allocated") || message.contains("address already in use")
    }

    /// A network removal refused because something is still attached: the status says only
    /// "forbidden" (403) or "bad request" (400). Seen: Docker 20.10 `error while removing network:
    /// network NAME id ID has active endpoints` (403) and, for a swarm's overlay network whose
    /// service was just removed, `rpc error: code = FailedPrecondition desc = network ID is in use
    /// by task ID` (400).
    public static func isNetworkInUse(_ message: String) -> Bool {
        message.contains("has active endpoints") || message.contains("is in use by task")
    }

    /// A volume removal refused because a container still mounts it: Docker's `remove NAME:
    /// volume is in use - [ID]` (409), Podman's `volume NAME is being used by the following
    /// container(s): ID: volume is being used`. A swarm task's container leaves after its service.
    public static func isVolumeInUse(_ message: String) -> Bool {
        message.contains("volume is in use") || message.contains("volume is being used")
    }

    /// Why a pull failed, as far as the text tells: the Engine answers 404 only for some unknown
    /// images and 500 for everything else, with the registry client's words.
    public enum PullFailure: Equatable, Sendable {
        /// `no such host`, `server misbehaving` (Docker 20.10, Podman 4.3: DNS).
        case unresolvable
        /// `connection refused`, `i/o timeout`, `network is unreachable` (Go's net package, all versions).
        case unreachable
        /// `manifest unknown` (the registry API), `not found` (Docker 20.10 `…: not found`, Podman `manifest unknown`).
        case notFound
        /// `unauthorized`, `denied` (registry API codes `UNAUTHORIZED`, `DENIED`, in the text on every version).
        case denied
        case other
    }

    public static func pullFailure(_ message: String) -> PullFailure {
        let text = message.lowercased()
        if text.contains("no such host") || text.contains("server misbehaving") { return .unresolvable }
        if text.contains("connection refused") || text.contains("i/o timeout") || text.contains("network is unreachable") { return .unreachable }
        if text.contains("manifest unknown") || text.contains("not found") { return .notFound }
        if text.contains("unauthorized") || text.contains("denied") { return .denied }
        return .other
    }

    /// Health as the container list's `Status` text carries it (`Up 3 minutes (healthy)`): API
    /// 1.41's list has no health field, so Docker 20.10 says it only here. Podman 4.3 says nothing,
    /// and `DockerClient.listContainers` asks by health filter instead.
    public static func health(fromStatus status: String) -> String? {
        // Most containers have no healthcheck: one scalar scan instead of three `NSString` searches.
        guard status.unicodeScalars.contains("(") else { return nil }
        if status.contains("(healthy)") { return "healthy" }
        if status.contains("(unhealthy)") { return "unhealthy" }
        if status.contains("(health: starting)") { return "starting" }
        return nil
    }
}

/// Which Engine serves the Docker Engine API: Docker itself, or Podman through its
/// Docker-compatible service (`podman system service`).
///
/// Both answer the same paths, but Podman 4 differs in a few places Berth depends on; the client
/// smooths those over at this edge (`DockerClient+Podman.swift`) so that everything above it
/// speaks Docker's vocabulary:
/// - its container list carries no health in the status text;
/// - its event filter knows its own action names, it sends health on every check, and a network
///   `disconnect` names the container instead of the network;
/// - it has no `/distribution` endpoint, so `--pull` learns what a registry serves by pulling.
public enum EngineProduct: String, Sendable, Codable, CustomStringConvertible {
    case docker
    case podman

    /// Read from the `Server` header of `/_ping` (`Docker/20.10.24 (linux)`, `Libpod/4.3.1 (linux)`)
    /// or the first component of `/version` (`Engine`, `Podman Engine`).
    public init(server: String) {
        self = server.lowercased().hasPrefix("libpod") || server.lowercased().hasPrefix("podman") ? .podman : .docker
    }

    /// `Docker Engine` or `Podman`, for messages.
    public var description: String {
        switch self {
        case .docker: "Docker Engine"
        case .podman: "Podman"
        }
    }
}

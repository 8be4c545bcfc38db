import BerthEngine
import BerthModel
import Foundation

/// Checks, before any write, that each connection switch's new outside target answers from
/// where its consumers will run: a TCP connect from a short-lived probe container on the
/// consumers' network, made from one of the consumers' own local images (no registry).
///
/// The probe is the only thing a refused switch creates, and it is removed again; it carries
/// `berth.probe=<stack>`, not the stack's label, so no plan ever counts it as the stack's. A
/// probe left behind by a killed process removes itself when its sleep ends (`AutoRemove`); one
/// killed before it started is removed by the next preflight.
struct Preflight: Sendable {
    let engine: any EngineClient
    let stack: String
    /// How long the target has to answer.
    var timeoutSeconds = 10

    static let label = "berth.probe"

    func check(_ switches: [ConnectionSwitch]) async -> [PreflightCheck] {
        let outside = switches.filter { $0.to.targetService == nil }
        guard !outside.isEmpty else { return [] }
        await removeLeftovers()
        var checks: [PreflightCheck] = []
        for move in outside { checks.append(await check(move)) }
        return checks
    }

    private func check(_ move: ConnectionSwitch) async -> PreflightCheck {
        let target = move.to
        var result = PreflightCheck(
            connection: target.name, profile: target.profile, target: target.address, network: move.network, result: .answered)
        guard let port = target.port else {
            result.result = .unchecked("the target has no port to connect to")
            return result
        }
        guard let image = move.probeImage, let network = move.network else {
            result.result = .unchecked("no image of its consumers is on the host to probe from")
            return result
        }
        var request = ContainerCreateRequest(image: image)
        request.entrypoint = ["sleep"]
        request.cmd = [String(timeoutSeconds + 20)]
        // Containers inherit their image's labels, and images Berth builds carry the stack's:
        // blank those, or the stack would take the probe for one of its containers.
        request.labels = [Self.label: stack, Resolver.Label.stack: "", Resolver.Label.service: ""]
        request.hostConfig.networkMode = network
        // Gone by itself after its sleep even if this process is killed before removing it.
        request.hostConfig.autoRemove = true
        let id: String
        do {
            id = try await engine.createContainer(name: nil, request)
        } catch {
            result.result = .unchecked("the probe container could not be created: \(Executor.describe(error))")
            return result
        }
        result.result = await probe(target.host, port, from: id, image: image)
        try? await engine.removeContainer(id, force: true, volumes: true)
        return result
    }

    /// Connects from the probe container `id`: busybox nc connects within -w seconds, then runs
    /// `true` and exits 0; `timeout` bounds a name lookup that hangs.
    private func probe(_ host: String, _ port: Int, from id: String, image: String) async -> PreflightCheck.Result {
        do {
            try await engine.startContainer(id)
            let probe = try await engine.exec(
                ["timeout", String(timeoutSeconds + 2), "nc", "-w", String(timeoutSeconds), host, String(port), "-e", "true"], in: id)
            switch probe.exitCode {
            case 0: return .answered
            case 126, 127: return .unchecked("the image \(image) has no nc to probe with")
            case 124, 143: return .failed("timed out after \(timeoutSeconds) s")
            default:
                let said = (probe.stderr + probe.stdout).split(separator: "\n").last.map(String.init) ?? ""
                return .failed(said.isEmpty ? "timed out after \(timeoutSeconds) s" : said)
            }
        } catch {
            return .unchecked("the probe could not run: \(Executor.describe(error))")
        }
    }

    private func removeLeftovers() async {
        let leftovers = (try? await engine.listContainers(labels: ["\(Self.label)=\(stack)"], names: [], all: true)) ?? []
        for container in leftovers { try? await engine.removeContainer(container.id, force: true, volumes: true) }
    }
}

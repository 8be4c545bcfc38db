import BerthEngine
import Foundation

extension TestStack {
    /// Builds an image whose httpd answers `version` on :8080 and, when `healthy`, serves
    /// /health (the test services' healthcheck): v1, v2 and a broken v3 of one "release".
    @discardableResult
    public func buildVersionServer(_ version: String, healthy: Bool = true, tag: String) async throws -> String {
        var context = TarArchive()
        context.addFile(
            "Dockerfile", contents: Data("FROM \(Self.baseImage)\nCOPY www /www\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n".utf8))
        context.addFile("www/index.html", contents: Data(version.utf8))
        if healthy { context.addFile("www/health", contents: Data("ok".utf8)) }
        return try await engine.buildImage(context: context.archive, tag: tag)
    }

    /// Pushes a new version server under `reference` to its registry as another machine would,
    /// leaving this host's tag where it was: only the registry knows about the new digest.
    public func publish(_ version: String, healthy: Bool = true, reference: String) async throws {
        let previous = try? await engine.inspectImage(reference).id
        try await buildVersionServer(version, healthy: healthy, tag: reference)
        try await engine.pushImage(reference)
        if let previous { try await engine.tagImage(previous, as: reference) }
    }

    /// A web service running `image` with an HTTP healthcheck and the given update order, and a
    /// client on the same network to ask it.
    public static func versionServerManifests(image: String, order: String = "stop-first") -> String {
        """
        kind: Stack
        name: {{stack}}
        ---
        kind: Service
        name: web
        image: \(image)
        init: true
        stop_grace_period: 1s
        healthcheck: {test: ["CMD", "timeout", "1", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"], interval: 200ms, retries: 3}
        update: {order: \(order), deadline: 15s}
        ---
        kind: Service
        name: client
        image: \(baseImage)
        init: true
        command: ["sleep", "3600"]
        """
    }
}

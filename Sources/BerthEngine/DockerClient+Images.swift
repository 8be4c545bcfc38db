import AsyncHTTPClient
public import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Image calls. Pulls, builds and imports stream their progress to `progress` as it arrives.
extension DockerClient {
    public typealias Progress = @Sendable (ProgressMessage) -> Void

    /// Inspects a local image by reference or id; throws `.notFound` when it is not on the host.
    public func inspectImage(_ reference: String) async throws -> ImageDetails {
        try await call(.get, "/images/\(reference)/json")
    }

    /// Pulls `repository:tag` (or `repository@digest`).
    public func pullImage(_ reference: String, progress: Progress? = nil) async throws {
        let (repository, tag) = ImageReference.split(reference)
        let response = try await send(
            .post, "/images/create", query: [("fromImage", repository), ("tag", tag)], timeout: .hours(1))
        try await drain(response.body, within: .hours(1), "pull \(reference)", progress: progress)
    }

    /// The digest of the manifest `reference` names in its registry now, without pulling
    /// (`GET /distribution/…/json`): how `--pull` tells whether a tag moved. Podman has no such
    /// endpoint (404); `Observer.registryDigests` asks it another way.
    public func registryDigest(_ reference: String) async throws -> String {
        let answer: DistributionInspect = try await call(.get, "/distribution/\(reference)/json", timeout: .seconds(30))
        return answer.descriptor.digest
    }

    /// Pushes `repository:tag` to its registry (tests and demos fill the local registry this way).
    public func pushImage(_ reference: String, progress: Progress? = nil) async throws {
        let (repository, tag) = ImageReference.split(reference)
        // The Engine requires the header even for registries without authentication.
        let noAuth = Data("{}".utf8).base64EncodedString()
        let response = try await send(
            .post, "/images/\(repository)/push", query: [("tag", tag)], headers: [("X-Registry-Auth", noAuth)], timeout: .hours(1))
        try await drain(response.body, within: .hours(1), "push \(reference)", progress: progress)
    }

    /// Gives the image `source` (a reference or id) the name `target` (`docker tag`).
    public func tagImage(_ source: String, as target: String) async throws {
        let (repository, tag) = ImageReference.split(target)
        try await perform(.post, "/images/\(source)/tag", query: [("repo", repository), ("tag", tag)])
    }

    /// Builds an image from a tar build context and returns the new image id.
    public func buildImage(
        context: Data, tag: String, dockerfile: String = "Dockerfile", target: String? = nil, buildArgs: [String: String] = [:],
        labels: [String: String] = [:], progress: Progress? = nil
    ) async throws -> String {
        let args = buildArgs.isEmpty ? nil : String(decoding: try JSONEncoder().encode(buildArgs), as: UTF8.self)
        let labelJSON = labels.isEmpty ? nil : String(decoding: try JSONEncoder().encode(labels), as: UTF8.self)
        let response = try await send(
            .post, "/build",
            query: [("t", tag), ("dockerfile", dockerfile), ("target", target), ("buildargs", args), ("labels", labelJSON), ("rm", "true")],
            body: .tar(context), timeout: .hours(1))
        let imageID = NIOLockedValueBox<String?>(nil)
        try await drain(response.body, within: .hours(1), "build \(tag)") { message in
            if let id = message.aux?.id { imageID.withLockedValue { $0 = id } }
            progress?(message)
        }
        if let id = imageID.withLockedValue({ $0 }) { return id }
        return try await inspectImage(tag).id
    }

    /// Creates an image from a root filesystem tar (`docker import`) and returns its id.
    public func importImage(rootfs: Data, repository: String, tag: String, progress: Progress? = nil) async throws
        -> String
    {
        let response = try await send(
            .post, "/images/create", query: [("fromSrc", "-"), ("repo", repository), ("tag", tag)],
            body: .tar(rootfs), timeout: .minutes(10))
        try await drain(response.body, within: .minutes(10), "import \(repository):\(tag)", progress: progress)
        return try await inspectImage("\(repository):\(tag)").id
    }

    public func removeImage(_ reference: String, force: Bool = false) async throws {
        try await perform(.delete, "/images/\(reference)", query: [("force", String(force))])
    }

    /// Reads a progress stream to its end within `timeout`, throwing the first `error` message.
    func drain(_ body: HTTPClientResponse.Body, within timeout: TimeAmount, _ what: String, progress: Progress?) async throws {
        try await Deadline.within(timeout, what) {
            for try await message in JSONLines<ProgressMessage>(body: body) {
                if let error = message.error { throw EngineError.stream(error) }
                progress?(message)
            }
        }
    }
}

/// Splits image references the way the Engine's pull parameters want them.
public enum ImageReference {
    /// `registry:5000/app:1.2` → (`registry:5000/app`, `1.2`); no tag → `latest`; a digest stays whole.
    public static func split(_ reference: String) -> (repository: String, tag: String?) {
        if reference.unicodeScalars.contains("@") { return (reference, nil) }
        let lastSlash = reference.lastIndex(of: "/") ?? reference.startIndex
        if let colon = reference[lastSlash...].lastIndex(of: ":") {
            return (String(reference[..<colon]), String(reference[reference.index(after: colon)...]))
        }
        return (reference, "latest")
    }
}

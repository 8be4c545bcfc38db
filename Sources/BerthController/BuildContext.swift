import BerthEngine
import BerthModel
import Foundation

/// A build context as sent to the Engine: a deterministic tar of the directory (sorted entries,
/// zero times), so its digest changes exactly when a file, mode or link in it changes.
/// An inline Dockerfile travels in the tar; the stage and image labels, which are not files, join
/// the digest, so changing any of them builds again.
enum BuildContext {
    static func archive(_ build: BuildSpec) throws -> (data: Data, digest: String) {
        var archive = TarArchive()
        try archive.addTree(at: URL(fileURLWithPath: build.context))
        if let inline = build.dockerfileInline { archive.addFile(BuildSpec.inlineDockerfileName, contents: Data(inline.utf8)) }
        let data = archive.archive
        let hashed = build.recipe.map { data + Data($0.utf8) } ?? data
        return (data, String(Digest.sha256Hex(hashed).prefix(32)))
    }
}

import BerthEngine
import BerthModel
import Foundation

/// A build context as sent to the Engine: a deterministic tar of the directory (sorted entries,
/// zero times), so its digest changes exactly when a file, mode or link in it changes.
enum BuildContext {
    static func archive(_ directory: String) throws -> (data: Data, digest: String) {
        var archive = TarArchive()
        try archive.addTree(at: URL(fileURLWithPath: directory))
        let data = archive.archive
        return (data, String(Digest.sha256Hex(data).prefix(32)))
    }
}

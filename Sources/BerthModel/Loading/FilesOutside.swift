import Foundation

/// Env and secret files a stack may read: those inside its own directory, and those under a
/// directory the stack lists on purpose (`read_outside`). A manifest from somewhere else must not
/// be able to read, say, `/etc/shadow` into a container's environment.
struct FilesOutside {
    let directory: String
    let allowed: [String]

    init(directory: String, allowed: [String]) {
        self.directory = Self.normalized(directory)
        self.allowed = allowed.map { Self.normalized(MountParser.absolute($0, directory: directory)) }
    }

    /// Nil when `path` may be read; otherwise why not.
    func refusal(_ path: String) -> String? {
        let absolute = Self.normalized(MountParser.absolute(path, directory: directory))
        if ([directory] + allowed).contains(where: { Self.isInside(absolute, $0) }) { return nil }
        return "'\(path)' is outside the stack directory; list its directory under read_outside to let the stack read it"
    }

    static func normalized(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    static func isInside(_ path: String, _ directory: String) -> Bool {
        path == directory || path.hasPrefix(directory.hasSuffix("/") ? directory : directory + "/")
    }
}

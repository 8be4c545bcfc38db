import Foundation

/// Reads the text files a stack is made of (manifests, Compose files, env and secret files)
/// with limits and plain reasons: only regular files (a FIFO would block the read for ever), at
/// most 16 MiB, UTF-8 only. The system's own error text never reaches the user.
enum TextFile {
    static let maximumBytes = 16 << 20

    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    static func read(_ path: String) throws(Unreadable) -> String {
        guard let text = String(validating: try bytes(path), as: UTF8.self) else { throw Unreadable(description: "not UTF-8 text") }
        return text
    }

    /// The file's bytes, with the same limits (encrypted files are not text).
    static func bytes(_ path: String) throws(Unreadable) -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            switch errno {
            case ELOOP: throw Unreadable(description: "a loop of symbolic links")
            case ENOENT: throw Unreadable(description: "no such file")
            case EACCES: throw Unreadable(description: "permission denied")
            case ENOTDIR: throw Unreadable(description: "a part of its path is not a directory")
            default: throw Unreadable(description: "cannot be read (errno \(errno))")
            }
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw Unreadable(description: "a directory, not a file")
        case S_IFIFO: throw Unreadable(description: "a FIFO (named pipe), not a regular file")
        default: throw Unreadable(description: "not a regular file (a socket or a device)")
        }
        guard Int(info.st_size) <= maximumBytes else {
            throw Unreadable(description: "\(Int(info.st_size) >> 20) MiB; Berth reads such files up to \(maximumBytes >> 20) MiB")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw Unreadable(description: "cannot be read") }
        guard data.count <= maximumBytes else { throw Unreadable(description: "grew past \(maximumBytes >> 20) MiB while being read") }
        return [UInt8](data)
    }
}

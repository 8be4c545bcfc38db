public import Foundation

/// Writes POSIX ustar archives: build contexts for `POST /build` and root filesystems for imports.
///
/// No tar library is among the packages this project can use; the format's subset needed here
/// (regular files, directories, symlinks, long names via the ustar prefix field) is small.
public struct TarArchive: Sendable {
    public private(set) var data = Data()

    public init() {}

    public mutating func addDirectory(_ path: String, mode: Int = 0o755) {
        appendHeader(path: path.hasSuffix("/") ? path : path + "/", size: 0, mode: mode, type: "5", link: "")
    }

    public mutating func addFile(_ path: String, contents: Data, mode: Int = 0o644, uid: Int = 0, gid: Int = 0) {
        appendHeader(path: path, size: contents.count, mode: mode, type: "0", link: "", uid: uid, gid: gid)
        data.append(contents)
        let padding = (512 - contents.count % 512) % 512
        data.append(Data(count: padding))
    }

    public mutating func addSymlink(_ path: String, target: String) {
        appendHeader(path: path, size: 0, mode: 0o777, type: "2", link: target)
    }

    /// Adds every file below `directory` (following the tree, keeping modes and symlinks).
    public mutating func addTree(at directory: URL, prefix: String = "") throws {
        let fm = FileManager.default
        let entries = try fm.contentsOfDirectory(atPath: directory.path).sorted()
        for entry in entries {
            let url = directory.appendingPathComponent(entry)
            let name = prefix.isEmpty ? entry : prefix + "/" + entry
            let attributes = try fm.attributesOfItem(atPath: url.path)
            let mode = (attributes[.posixPermissions] as? Int) ?? 0o644
            switch attributes[.type] as? FileAttributeType {
            case .typeDirectory?:
                addDirectory(name, mode: mode)
                try addTree(at: url, prefix: name)
            case .typeSymbolicLink?:
                addSymlink(name, target: try fm.destinationOfSymbolicLink(atPath: url.path))
            default:
                addFile(name, contents: try Data(contentsOf: url), mode: mode)
            }
        }
    }

    /// The archive with its two closing zero blocks.
    public var archive: Data { data + Data(count: 1024) }

    private mutating func appendHeader(path: String, size: Int, mode: Int, type: Character, link: String, uid: Int = 0, gid: Int = 0) {
        var header = [UInt8](repeating: 0, count: 512)
        var name = path
        var prefix = ""
        if name.utf8.count > 100, let split = splitLongPath(path) {
            (prefix, name) = split
        }
        func put(_ string: String, at offset: Int, length: Int) {
            for (index, byte) in string.utf8.prefix(length).enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int, at offset: Int, length: Int) {
            put(String(String(value, radix: 8).suffix(length - 1)).leftPadded(to: length - 1), at: offset, length: length - 1)
        }
        put(name, at: 0, length: 100)
        octal(mode, at: 100, length: 8)
        octal(uid, at: 108, length: 8)
        octal(gid, at: 116, length: 8)
        octal(size, at: 124, length: 12)
        octal(0, at: 136, length: 12)
        put("        ", at: 148, length: 8)
        header[156] = type.asciiValue ?? 48
        put(link, at: 157, length: 100)
        put("ustar", at: 257, length: 6)
        put("00", at: 263, length: 2)
        put(prefix, at: 345, length: 155)
        let checksum = header.reduce(0) { $0 + Int($1) }
        put(String(checksum, radix: 8).leftPadded(to: 6), at: 148, length: 6)
        header[154] = 0
        header[155] = 32
        data.append(contentsOf: header)
    }

    private func splitLongPath(_ path: String) -> (String, String)? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        for index in (1..<parts.count).reversed() {
            let prefix = parts[..<index].joined(separator: "/")
            let name = parts[index...].joined(separator: "/")
            if prefix.utf8.count <= 155 && name.utf8.count <= 100 { return (prefix, name) }
        }
        return nil
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}

import Foundation

/// Parses Compose's short port syntax: `80`, `8080:80`, `127.0.0.1:8080:80`, each with optional `/udp`.
enum PortParser {
    enum Failure: Error { case invalid(String), outOfRange(Int) }

    static func parse(_ text: String) throws(Failure) -> PortSpec {
        var body = text
        var proto = "tcp"
        if let slash = text.lastIndex(of: "/") {
            proto = String(text[text.index(after: slash)...])
            body = String(text[..<slash])
            guard ["tcp", "udp", "sctp"].contains(proto) else {
                throw .invalid("unknown protocol '\(proto)' in '\(text)'; expected tcp, udp or sctp")
            }
        }
        // An IPv6 host address is written in brackets: `[::1]:8080:80`.
        var parts: [String]
        if body.hasPrefix("["), let close = body.firstIndex(of: "]") {
            let rest = body[body.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .invalid("'\(text)' is not a port mapping such as [::1]:8080:80") }
            parts = [String(body[body.index(after: body.startIndex)..<close])]
            parts += rest.dropFirst().split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        } else {
            parts = body.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        }
        switch parts.count {
        case 1: return PortSpec(target: try number(parts[0], text), published: nil, hostIP: "", protocol: proto)
        case 2: return PortSpec(target: try number(parts[1], text), published: try published(parts[0], text), hostIP: "", protocol: proto)
        case 3: return PortSpec(target: try number(parts[2], text), published: try published(parts[1], text), hostIP: parts[0], protocol: proto)
        default: throw .invalid("'\(text)' is not a port mapping such as 8080:80, 127.0.0.1:8080:80/tcp or [::1]:8080:80")
        }
    }

    /// An empty host port (`127.0.0.1::80`) lets the Engine choose one, as in Compose.
    static func published(_ text: String, _ whole: String) throws(Failure) -> Int? {
        text.isEmpty ? nil : try number(text, whole)
    }

    static func long(target: String, published: String?, hostIP: String?, protocol proto: String?) throws(Failure) -> PortSpec {
        PortSpec(
            target: try number(target, target), published: try published.map { (p) throws(Failure) in try number(p, p) },
            hostIP: hostIP ?? "", protocol: proto ?? "tcp")
    }

    static func number(_ text: String, _ whole: String) throws(Failure) -> Int {
        guard let value = Int(text) else {
            if text.unicodeScalars.contains("-") { throw .invalid("port ranges such as '\(whole)' are not supported; list each port") }
            throw .invalid("'\(text)' in '\(whole)' is not a port number")
        }
        guard (1...65535).contains(value) else { throw .outOfRange(value) }
        return value
    }
}

/// Parses Compose's short volume syntax: `name:/path[:ro]`, `./dir:/path`, `/abs:/path`, `/path`.
enum MountParser {
    /// The named volume a mount refers to, if it refers to one.
    static func namedVolume(_ mount: MountManifest) -> String? {
        switch mount {
        case .short(let text):
            let parts = text.split(separator: ":").map(String.init)
            // A Windows path is refused by the resolver with its own message, not taken for a volume name.
            guard parts.count >= 2, let source = parts.first, !isPath(source), !WindowsPath.isWindows(text) else { return nil }
            return source
        case .long(let type, let source, _, _):
            return type == "volume" ? source : nil
        }
    }

    static func isPath(_ source: String) -> Bool {
        source.hasPrefix("/") || source.hasPrefix(".") || source.hasPrefix("~")
    }

    /// - Parameters:
    ///   - volumeName: maps a manifest volume name to its Engine name.
    ///   - directory: the stack directory, for relative bind mounts.
    /// Modes a short mount may end with. `cached`, `delegated` and `consistent` tune Docker
    /// Desktop's file sharing and mean nothing on Linux; `z`/`Z` relabel for SELinux.
    static let modes: Set<Substring> = ["ro", "rw", "z", "Z", "cached", "delegated", "consistent"]

    static func parse(_ text: String, directory: String, volumeName: (String) -> String) -> MountSpec? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard !parts.contains(where: \.isEmpty) else { return nil }
        switch parts.count {
        case 1: return MountSpec(kind: .volume, source: nil, target: parts[0], readOnly: false)
        case 2, 3:
            let readOnly = parts.count == 3 && parts[2].split(separator: ",").contains("ro")
            if parts.count == 3 && !parts[2].split(separator: ",").allSatisfy({ modes.contains($0) }) { return nil }
            return make(source: parts[0], target: parts[1], readOnly: readOnly, directory: directory, volumeName: volumeName)
        default: return nil
        }
    }

    /// A short mount's bind: a missing host directory is created, as `docker run -v` and Compose do.
    static func make(source: String, target rawTarget: String, readOnly: Bool, directory: String, volumeName: (String) -> String) -> MountSpec {
        let target = cleanTarget(rawTarget)
        if isPath(source) {
            var spec = MountSpec(kind: .bind, source: absolute(source, directory: directory), target: target, readOnly: readOnly)
            spec.createHostPath = true
            return spec
        }
        return MountSpec(kind: .volume, source: volumeName(source), target: target, readOnly: readOnly)
    }

    /// A container path without a trailing `/`, as Compose and the Engine keep it.
    static func cleanTarget(_ path: String) -> String {
        path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    static func absolute(_ path: String, directory: String) -> String {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardizedFileURL.path }
        if path.hasPrefix("~") { return NSString(string: path).expandingTildeInPath }
        return URL(fileURLWithPath: directory).appendingPathComponent(path).standardizedFileURL.path
    }
}

/// Windows paths (`C:\\data`, `C:/data`, `\\\\server\\share`, `.\\data`): on a Linux host they would become a
/// relative path under the project directory, or a volume name. Refused instead.
enum WindowsPath {
    static func isWindows(_ path: String) -> Bool {
        let chars = Array(path)
        if chars.count >= 3, chars[0].isLetter, chars[0].isASCII, chars[1] == ":", chars[2] == "\\" || chars[2] == "/" { return true }
        return path.hasPrefix("\\") || path.hasPrefix(".\\") || path.hasPrefix("..\\")
    }

    static func message(_ path: String) -> String {
        "'\(path)' is a Windows path; on a Linux host give a Linux path (relative to the project directory, or absolute)"
    }
}

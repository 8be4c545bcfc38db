import Crypto
public import Foundation

/// SHA-256 helpers: spec hashes, manifest digests, secret fingerprints.
public enum Digest {
    public static func sha256Hex(_ text: String) -> String { sha256Hex(Data(text.utf8)) }

    public static func sha256Hex(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// A digest of a set of files that does not depend on the order they were read in.
    public static func files(_ files: [String: String]) -> String {
        var data = Data()
        for path in files.keys.sorted() {
            data.append(Data(path.utf8))
            data.append(0)
            data.append(Data(files[path]!.utf8))
            data.append(0)
        }
        return sha256Hex(data)
    }
}

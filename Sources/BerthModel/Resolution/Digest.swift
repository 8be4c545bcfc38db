import Crypto
public import Foundation

/// SHA-256 helpers: spec hashes, manifest digests, secret fingerprints.
public enum Digest {
    public static func sha256Hex(_ text: String) -> String { sha256Hex(Data(text.utf8)) }

    public static func sha256Hex(_ data: Data) -> String {
        hex(SHA256.hash(data: data))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Lower-case hex by table: `String(format:)` per byte costs more than the hash itself.
    static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var utf8: [UInt8] = []
        utf8.reserveCapacity(64)
        for byte in bytes {
            utf8.append(hexDigits[Int(byte >> 4)])
            utf8.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: utf8, as: UTF8.self)
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

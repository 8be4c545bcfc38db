/// Bech32 (BIP 173), the encoding of age's keys: `age1…` recipients and `AGE-SECRET-KEY-1…`
/// identities. Age keeps the checksum but not BIP 173's 90-character limit.
enum Bech32 {
    private static let alphabet = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let values: [UInt8: UInt8] = Dictionary(uniqueKeysWithValues: alphabet.enumerated().map { ($1, UInt8($0)) })

    /// - Returns: the human-readable part (lowercase) and the data bytes, or nil when `text` is
    ///   not valid Bech32 (bad character, mixed case, wrong checksum, padding bits set).
    static func decode(_ text: String) -> (prefix: String, data: [UInt8])? {
        guard text == text.lowercased() || text == text.uppercased() else { return nil }
        let lower = Array(text.lowercased().utf8)
        guard let separator = lower.lastIndex(of: UInt8(ascii: "1")), separator > 0, lower.count - separator > 6 else { return nil }
        let prefix = Array(lower[..<separator])
        guard prefix.allSatisfy({ $0 >= 33 && $0 <= 126 }) else { return nil }
        var groups: [UInt8] = []
        for character in lower[(separator + 1)...] {
            guard let value = values[character] else { return nil }
            groups.append(value)
        }
        guard polymod(expand(prefix) + groups) == 1 else { return nil }
        guard let data = regroup(Array(groups.dropLast(6)), from: 5, to: 8, pad: false) else { return nil }
        return (String(decoding: prefix, as: UTF8.self), data)
    }

    /// Lowercase Bech32 of `data` under `prefix`.
    static func encode(prefix: String, data: [UInt8]) -> String {
        let hrp = Array(prefix.lowercased().utf8)
        let groups = regroup(data, from: 8, to: 5, pad: true) ?? []
        let check = polymod(expand(hrp) + groups + [0, 0, 0, 0, 0, 0]) ^ 1
        let checksum = (0..<6).map { UInt8((check >> (5 * (5 - $0))) & 31) }
        return String(decoding: hrp + [UInt8(ascii: "1")] + (groups + checksum).map { alphabet[Int($0)] }, as: UTF8.self)
    }

    private static func polymod(_ values: [UInt8]) -> UInt32 {
        let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]
        var check: UInt32 = 1
        for value in values {
            let top = check >> 25
            check = (check & 0x1ff_ffff) << 5 ^ UInt32(value)
            for bit in 0..<5 where (top >> bit) & 1 == 1 { check ^= generator[bit] }
        }
        return check
    }

    private static func expand(_ prefix: [UInt8]) -> [UInt8] {
        prefix.map { $0 >> 5 } + [0] + prefix.map { $0 & 31 }
    }

    /// Regroups bits, e.g. bytes into 5-bit groups; nil when leftover bits are not zero padding.
    private static func regroup(_ data: [UInt8], from: Int, to: Int, pad: Bool) -> [UInt8]? {
        var accumulator = 0
        var bits = 0
        var result: [UInt8] = []
        let mask = (1 << to) - 1
        for value in data {
            accumulator = (accumulator << from) | Int(value)
            bits += from
            while bits >= to {
                bits -= to
                result.append(UInt8((accumulator >> bits) & mask))
            }
        }
        if pad {
            if bits > 0 { result.append(UInt8((accumulator << (to - bits)) & mask)) }
        } else if bits >= from || (accumulator << (to - bits)) & mask != 0 {
            return nil
        }
        return result
    }
}

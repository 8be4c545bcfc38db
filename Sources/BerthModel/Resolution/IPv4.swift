/// Just enough IPv4 arithmetic to check subnets and gateways.
enum IPv4 {
    struct CIDR {
        let base: UInt32
        let prefix: Int
        var mask: UInt32 { prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix) }
        func contains(_ address: UInt32) -> Bool { address & mask == base & mask }
    }

    /// The address Docker's default IPAM driver gives a network's gateway when none is pinned:
    /// the subnet's first host address (`10.255.254.0/24` → `10.255.254.1`).
    static func defaultGateway(ofSubnet subnet: String) -> String? {
        guard let cidr = parseCIDR(subnet), cidr.prefix < 31 else { return nil }
        let first = (cidr.base & cidr.mask) + 1
        return [24, 16, 8, 0].map { String(first >> UInt32($0) & 0xff) }.joined(separator: ".")
    }

    static func parse(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard let octet = UInt8(part) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        return value
    }

    static func parseCIDR(_ text: String) -> CIDR? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let base = parse(String(parts[0])), let prefix = Int(parts[1]), (0...32).contains(prefix) else { return nil }
        return CIDR(base: base, prefix: prefix)
    }
}

import Yams

/// A bound on how large a YAML document may become through its aliases.
///
/// An alias lets a few lines stand for an exponential number of values ("billion laughs": ten
/// anchors of ten references each are 10⁹ values). Yams shares an aliased node instead of copying
/// it, so parsing stays small; every later walk of the tree, though, visits it once per reference.
/// A document is counted first, stopping at the limit, and refused when it passes it.
enum ExpansionLimit {
    /// Far above any real stack or Compose file (a 5,000-line file has some 15,000 values).
    static let maximumValues = 200_000

    /// The node at which `root`, with its aliases expanded, passes `limit` values; nil within it.
    static func firstBeyond(_ root: Node, limit: Int = maximumValues) -> Node? {
        var count = 0
        var pending = [root]
        while let node = pending.popLast() {
            count += 1
            if count > limit { return node }
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    pending.append(key)
                    pending.append(value)
                }
            case .sequence(let sequence): pending.append(contentsOf: sequence)
            default: break
            }
        }
        return nil
    }

    static let message =
        "this document expands to more than \(maximumValues) values through YAML aliases (anchors referenced within anchors); refused"
}

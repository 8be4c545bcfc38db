public import BerthModel

/// Where the rounds of `watch` (and the commands) read the stack they converge to: files on
/// disk (`StackSource`), or commits of a followed Git repository (`GitFollower`).
public protocol StackFeed: Sendable {
    /// A name to log under while the stack cannot be read.
    var fallbackName: String { get }
    /// Where it comes from, for messages.
    var description: String { get }
    /// The stack to converge to now. `current` is what the last round used, kept when nothing
    /// changed; `reload` says a file changed.
    /// - Throws: `ManifestErrors` or `InvalidCommit` when the manifests do not load, or why the
    ///   stack cannot be read at all.
    func stack(current: LoadedStack?, reload: Bool) async throws -> LoadedStack
    /// Takes in how a round that reconciled `stack` ended. Returns true when the feed now wants
    /// another stack at once (a commit held back after its rollout failed).
    func reconciled(_ report: ReconcileReport, stack: LoadedStack) async -> Bool
    /// `stack` loaded but did not resolve (say, a port that is not a number). Returns the error
    /// to report, and whether rounds go back to the stack used before.
    func rejected(_ stack: LoadedStack, _ errors: ManifestErrors) async -> (error: any Error, keepPrevious: Bool)
}

extension StackSource: StackFeed {
    public func stack(current: LoadedStack?, reload: Bool) async throws -> LoadedStack {
        if let current, !reload { return current }
        return try load()
    }

    public func reconciled(_ report: ReconcileReport, stack: LoadedStack) async -> Bool { false }

    /// An edit that does not resolve is reported on every round until it is fixed, as before.
    public func rejected(_ stack: LoadedStack, _ errors: ManifestErrors) async -> (error: any Error, keepPrevious: Bool) { (errors, false) }
}

public import BerthStore

/// Which commit of a followed ref the host runs: the ref's head, unless that very commit is
/// held back (its rollout failed, or `rollback --to-commit` went back from it). A hold lasts
/// until the ref moves: a newer commit, or a force-push to another one, is applied again.
public enum CommitChoice: Equatable, Sendable {
    /// Run the head.
    case head(String)
    /// Run `commit` instead of the head, which is held.
    case held(GitHoldRecord)
    /// Run the head: the ref moved past the held commit, so the hold is over.
    case holdEnded(head: String, GitHoldRecord)

    public init(head: String, hold: GitHoldRecord?) {
        guard let hold else {
            self = .head(head)
            return
        }
        self = hold.heldCommit == head ? .held(hold) : .holdEnded(head: head, hold)
    }

    /// The commit to apply.
    public var commit: String {
        switch self {
        case .head(let head), .holdEnded(let head, _): head
        case .held(let hold): hold.applyCommit
        }
    }
}

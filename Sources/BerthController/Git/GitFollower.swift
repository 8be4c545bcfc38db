public import BerthModel
public import BerthStore
import Foundation
public import Logging

/// A stack kept in a Git repository: the ref is fetched every `interval` (or at once when the
/// webhook says so), and rounds converge to the commit it points at, unless that commit is held
/// back (`CommitChoice`). A head whose manifests do not load changes nothing: it is reported
/// once, and the host stays on the last commit that loaded until the ref moves.
public actor GitFollower: StackFeed {
    public let repository: GitRepository
    /// A branch, a tag, or `HEAD` (the remote's default branch).
    public let ref: String
    /// The stack's directory in the repository; empty for its root.
    public let path: String
    public let interval: Duration
    /// With an allowed_signers file, only commits with an SSH signature by one of its keys are applied.
    public let allowedSigners: String?
    let store: ReconcileStore
    let metrics: Metrics?
    let logger: Logger

    /// The commit the ref pointed at when last fetched.
    public private(set) var head: String?
    /// Fetches failed in a row.
    private var failures = 0
    /// The stack at the head, read once per commit.
    private var atHead: LoadedStack?
    /// A head whose manifests did not load: not read again until the ref moves.
    private var invalid: InvalidCommit?
    private nonisolated let kicks: AsyncStream<Void>
    private nonisolated let kick: AsyncStream<Void>.Continuation

    public nonisolated let fallbackName: String
    public nonisolated let description: String

    public init(
        repository: GitRepository, ref: String, path: String, interval: Duration, allowedSigners: String? = nil, store: ReconcileStore,
        metrics: Metrics? = nil, logger: Logger = Logger(label: "berth.git")
    ) {
        self.allowedSigners = allowedSigners
        self.repository = repository
        self.ref = ref
        self.path = path
        self.interval = interval
        self.store = store
        self.metrics = metrics
        self.logger = logger
        (kicks, kick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        fallbackName = path.isEmpty ? repository.remote.name : URL(fileURLWithPath: path).lastPathComponent
        description = "\(repository.remote.url) \(ref)\(path.isEmpty ? "" : " path \(path)")"
    }

    // MARK: Fetching

    /// Fetches the ref now.
    /// - Returns: the commit it points at.
    @discardableResult
    public func fetch() async throws -> String {
        do {
            let commit = try await repository.fetch(ref)
            (head, failures) = (commit, 0)
            await metrics?.recordGitFetch(succeeded: true)
            return commit
        } catch {
            failures += 1
            await metrics?.recordGitFetch(succeeded: false)
            throw GitError(description: "cannot fetch \(ref) from \(repository.remote.url): \(error)")
        }
    }

    /// Asks for a fetch now (the webhook): the next poll does not wait for the interval.
    public nonisolated func poll() { kick.yield() }

    /// Fetches every `interval`, and whenever `poll()` asks; a new head becomes a trigger. A
    /// repository that cannot be reached is retried with growing delays (1 s, 2 s, … up to the
    /// interval) while the host stays as it is.
    public func run(into queue: TriggerQueue) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: await self.nextWait()) } catch { return }
                    self.poll()
                }
            }
            var seen = head
            for await _ in kicks {
                do {
                    let commit = try await fetch()
                    if commit != seen {
                        seen = commit
                        await queue.push(Trigger(.git, "\(GitOrigin.short(commit)) on \(ref)"))
                    }
                } catch {
                    logger.warning("\(error); retrying in \(nextWait())")
                }
            }
            group.cancelAll()
        }
    }

    private func nextWait() -> Duration {
        failures == 0 ? interval : min(interval, Backoff(base: .seconds(1), cap: interval).delay(attempt: failures))
    }

    // MARK: The stack

    public func stack(current: LoadedStack?, reload: Bool) async throws -> LoadedStack {
        let head: String
        if let known = self.head { head = known } else { head = try await fetch() }
        // The head's manifests, read once; a head that does not load is reported once, here.
        if invalid?.origin.commit != head && atHead?.origin?.commit != head {
            do {
                atHead = try await load(commit: head)
                invalid = nil
                await metrics?.setGitInvalid(nil)
            } catch let error as InvalidCommit {
                invalid = error
                await metrics?.setGitInvalid(error.origin)
                throw error
            }
        }
        let headStack = invalid?.origin.commit == head ? nil : atHead
        let before = current?.origin?.commit == head ? nil : current
        let fallback = headStack == nil && before == nil ? try? await lastApplied() : nil
        let name = headStack?.name ?? before?.name ?? fallback?.name
        switch CommitChoice(head: head, hold: try name.flatMap { try store.gitHold(stack: $0) }) {
        case .held(let hold):
            if let current, current.origin?.commit == hold.applyCommit { return current }
            return try await load(commit: try await repository.fetch(commit: hold.applyCommit))
        case .holdEnded(_, let hold):
            try store.deleteGitHold(stack: name ?? "")
            logger.info("\(ref) moved to \(GitOrigin.short(head)): the hold on \(GitOrigin.short(hold.heldCommit)) is over")
        case .head:
            break
        }
        // The head, unless its manifests are invalid: then what ran before stays.
        if let stack = headStack ?? before ?? fallback, stack.origin?.commit != head || headStack != nil { return stack }
        throw invalid ?? GitError(description: "no commit of \(description) can be applied")
    }

    /// The stack at the commit last applied from this repository and path, read from the local
    /// copy: where `watch` starts while the repository cannot be reached.
    public func lastApplied() async throws -> LoadedStack? {
        guard let origin = try store.lastAppliedCommit(repository: repository.remote.url, path: path) else { return nil }
        return try await load(commit: repository.resolve(origin.commit))
    }

    /// Ends the hold on the head, if there is one: the next stack is the head again.
    public func releaseHold() async throws {
        let head: String
        if let known = self.head { head = known } else { head = try await fetch() }
        let stack = try await load(commit: head)
        try store.deleteGitHold(stack: stack.name)
    }

    /// The stack as `commit` has it.
    /// - Throws: `InvalidCommit` when its manifests do not load.
    public func load(commit: String) async throws -> LoadedStack {
        let origin = GitOrigin(repository: repository.remote.url, ref: ref, path: path, commit: commit)
        if let allowedSigners {
            do {
                try await repository.verify(commit, allowedSigners: allowedSigners)
            } catch {
                throw InvalidCommit(origin: origin, problem: "not signed by a key in \(allowedSigners): \(error)")
            }
        }
        let tree = try await repository.checkout(commit)
        let directory = path.isEmpty ? tree : tree + "/" + path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw InvalidCommit(origin: origin, errors: ManifestErrors([.unreadable(path, "no such directory in commit \(GitOrigin.short(commit))")]))
        }
        do {
            var stack = try StackSource.inDirectory(directory).load()
            stack.origin = origin
            stack.watched = WatchedFiles(directories: [], names: [], anyManifest: false)
            return stack
        } catch {
            throw InvalidCommit(origin: origin, errors: error.relocated(from: tree, to: ""))
        }
    }

    /// A commit whose manifests load but do not resolve is invalid like one that does not load:
    /// reported once, and rounds go on with what the host ran before until the ref moves.
    public func rejected(_ stack: LoadedStack, _ errors: ManifestErrors) async -> (error: any Error, keepPrevious: Bool) {
        guard let origin = stack.origin else { return (errors, false) }
        let error = InvalidCommit(origin: origin, errors: errors.relocated(from: repository.tree(of: origin.commit), to: ""))
        if origin.commit == head {
            invalid = error
            await metrics?.setGitInvalid(origin)
        }
        return (error, true)
    }

    /// Holds the head back when its rollout failed its health gate, so the host goes back to the
    /// last good commit until the ref moves.
    public func reconciled(_ report: ReconcileReport, stack: LoadedStack) async -> Bool {
        await metrics?.setGitCommit(stack.origin)
        guard let origin = stack.origin, origin.commit == head,
            !report.rollback.isEmpty || report.rollouts.contains(where: { $0.outcome == .failed })
        else { return false }
        guard let good = try? store.lastGoodCommit(stack: stack.name, repository: origin.repository, excluding: origin.commit) else {
            logger.warning("commit \(GitOrigin.short(origin.commit)) failed its rollout, and no earlier commit of \(origin.repository) converged")
            return false
        }
        let reason = "its rollout failed its health gate in reconcile #\(report.reconcileID ?? 0)"
        try? store.saveGitHold(GitHoldRecord(heldCommit: origin.commit, applyCommit: good, reason: reason), stack: stack.name)
        logger.warning("holding commit \(GitOrigin.short(origin.commit)) back (\(reason)); going back to \(GitOrigin.short(good)) until \(ref) moves")
        return true
    }
}

/// A commit nothing is applied from: its manifests do not load, or it is not signed by an
/// allowed key.
public struct InvalidCommit: Error, CustomStringConvertible {
    public let origin: GitOrigin
    /// What is wrong, one problem per line.
    public let problems: [String]

    public init(origin: GitOrigin, errors: ManifestErrors) {
        self.origin = origin
        self.problems = errors.errors.map(\.description)
    }

    public init(origin: GitOrigin, problem: String) {
        self.origin = origin
        self.problems = [problem]
    }

    public var description: String {
        "commit \(origin.commit) (\(origin.ref) of \(origin.repository)\(origin.path.isEmpty ? "" : ", path \(origin.path)")):\n"
            + problems.joined(separator: "\n")
    }
}

extension GitOrigin {
    /// `1a2b3c4d5e6f`: as many hex digits as people read.
    public static func short(_ commit: String) -> String { String(commit.prefix(12)) }
}

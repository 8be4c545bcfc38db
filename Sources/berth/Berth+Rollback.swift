import ArgumentParser
import BerthController
import BerthEngine
import BerthModel
import BerthStore
import Foundation

extension Berth {
    /// Puts one service back on an earlier healthy revision.
    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract:
                "Run an earlier healthy revision (spec and image) of a service, from the SQLite log; or an earlier commit of a followed repository.",
            discussion: """
                Without --to, the newest healthy revision other than the one running now; with --to, the one a \
                healthy rollout brought up to that reconcile (see `berth history`). The service stays on it \
                until its manifests or the image behind its tag change, or `apply --retry-failed`. \
                Secret values are never logged: they come from the current environment.

                With --git URL --to-commit SHA, the whole stack goes back to that commit's manifests; the ref's \
                current commit is held back (a `watch --git` on the same state file keeps the host on SHA) until \
                the ref moves to another commit, or `apply --git URL --retry-failed`.
                """)

        @OptionGroup var stack: StackOptions
        @Argument(help: "The service to roll back (with -f Compose files or the current directory's stack, SERVICE alone or --service).")
        var service: String?
        @Option(name: .customLong("service"), help: "The service to roll back, when the stack is given with -f.")
        var serviceOption: String?
        @Option(name: .customLong("to"), help: "Roll back to the revision running as of this reconcile id.")
        var reconcileID: Int64?
        @Option(
            name: .customLong("to-commit"),
            help: "With --git: apply this earlier commit of the repository (full id, or an abbreviation Berth fetched before).")
        var commit: String?
        @OptionGroup var git: GitOptions
        @OptionGroup var common: CommonOptions
        @OptionGroup var progress: ProgressOptions
        @Option(help: "Seconds to wait for another Berth process acting on this stack before giving up.")
        var lockTimeout = 120

        /// The stack and the service: `rollback web` in a stack's directory names the service, as
        /// the other service verbs take it.
        private var target: (source: StackSource, service: String?) {
            if let named = service ?? serviceOption { return (stack.source.source, named) }
            guard let word = stack.source.directory else { return (stack.source.source, nil) }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: word, isDirectory: &isDirectory) && isDirectory.boolValue { return (stack.source.source, nil) }
            return (stack.source.compose.source(directory: nil), word)
        }

        func validate() throws {
            if let commit {
                if git.url == nil { throw ValidationError("--to-commit goes with --git URL: the repository the commit is in") }
                if reconcileID != nil || serviceOption != nil {
                    throw ValidationError("--to-commit rolls back the whole stack: no --to or --service")
                }
                if commit.count < 4 || commit.count > 40 || !commit.allSatisfy(\.isHexDigit) {
                    throw ValidationError("--to-commit takes a commit id (4 to 40 hex digits), not '\(commit)'")
                }
                return
            }
            if git.url != nil { throw ValidationError("rollback with --git goes back to a commit: give --to-commit SHA") }
            if target.service == nil { throw ValidationError("name the service to roll back") }
        }

        func run() async throws {
            if let commit { return try await rollBack(to: commit) }
            let (source, named) = target
            let loaded = try load(source)
            let name = named ?? ""
            try checkServices([name], in: loaded)
            let options = stack.reconcileOptions
            let report = try await withSession(common, stack: loaded.name, lockTimeout: .seconds(lockTimeout)) { session in
                do {
                    return try await Reconciler(engine: session.engine, store: session.store).rollback(
                        loaded, service: name, to: reconcileID, options, onEvent: progress.printer(json: common.json))
                } catch let error as ManifestErrors {
                    throw ManifestFailure(errors: error)
                } catch let error as RollbackError {
                    throw CommandFailure(error.description)
                }
            }
            if common.json {
                try printJSON(ReportJSON(report: report))
            } else {
                Apply.summarize(report)
            }
            if !report.outcome.isConverged { throw ExitCode.failure }
        }

        /// Applies `commit` of the followed repository and holds the ref's head back.
        private func rollBack(to commit: String) async throws {
            let store = try common.openStore()
            guard let follower = try git.follower(statePath: common.statePath, store: store) else { return }
            let (head, loaded): (String, LoadedStack)
            do {
                head = try await follower.fetch()
                loaded = try await follower.load(commit: try await follower.repository.fetch(commit: commit))
            } catch let error as InvalidCommit {
                throw invalidCommitFailure(error)
            } catch let error as GitError {
                throw CommandFailure("berth: \(error)")
            }
            let target = loaded.origin?.commit ?? commit
            let options = stack.reconcileOptions
            let report = try await withSession(common, stack: loaded.name, lockTimeout: .seconds(lockTimeout)) { session in
                do {
                    let report = try await Reconciler(engine: session.engine, store: session.store).apply(
                        loaded, options, .rollback("to commit \(GitOrigin.short(target))"), onEvent: progress.printer(json: common.json))
                    if report.outcome.isConverged && report.rollback.isEmpty {
                        if target == head {
                            try session.store.deleteGitHold(stack: loaded.name)
                        } else {
                            try session.store.saveGitHold(
                                GitHoldRecord(
                                    heldCommit: head, applyCommit: target, reason: "berth rollback --to-commit \(GitOrigin.short(target))"),
                                stack: loaded.name)
                        }
                    }
                    return report
                } catch let error as ManifestErrors {
                    throw await manifestFailure(error, in: loaded, from: follower)
                }
            }
            if common.json {
                try printJSON(ReportJSON(report: report))
            } else {
                Apply.summarize(report)
                if report.outcome.isConverged && target != head {
                    print(
                        "\(loaded.name) runs commit \(GitOrigin.short(target)); \(git.ref) at \(GitOrigin.short(head)) is held back until it moves (or apply --git … --retry-failed)"
                    )
                }
            }
            if !report.outcome.isConverged || !report.rollback.isEmpty { throw ExitCode.failure }
        }
    }
}

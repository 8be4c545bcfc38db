import ArgumentParser
import BerthController
import BerthEngine
import BerthModel
import Foundation

extension Berth {
    /// Puts one service back on an earlier healthy revision.
    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "Run an earlier healthy revision (spec and image) of a service, from the SQLite log.",
            discussion: """
                Without --to, the newest healthy revision other than the one running now; with --to, the one a \
                healthy rollout brought up to that reconcile (see `berth history`). The service stays on it \
                until its manifests or the image behind its tag change, or `apply --retry-failed`. \
                Secret values are never logged: they come from the current environment.
                """)

        @OptionGroup var stack: StackOptions
        @Argument(help: "The service to roll back (with -f Compose files or the current directory's stack, SERVICE alone or --service).")
        var service: String?
        @Option(name: .customLong("service"), help: "The service to roll back, when the stack is given with -f.")
        var serviceOption: String?
        @Option(name: .customLong("to"), help: "Roll back to the revision running as of this reconcile id.")
        var reconcileID: Int64?
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
            if target.service == nil { throw ValidationError("name the service to roll back") }
        }

        func run() async throws {
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
    }
}

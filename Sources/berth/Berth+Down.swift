import ArgumentParser
import BerthController
import BerthModel
import Foundation

extension Berth {
    /// Removes a stack from the host.
    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "down",
            abstract: "Remove a stack's containers and networks; named volumes only with --volumes.",
            discussion:
                "Only what carries the stack's berth.stack label is touched. DIR may be a stack directory or, when the directory is gone, the stack's name; a Compose project is named by its -f files, the compose.yaml of the current directory, or -p NAME alone."
        )

        @OptionGroup var source: SourceOptions
        @OptionGroup var common: CommonOptions
        @OptionGroup var progress: ProgressOptions
        @Flag(name: [.short, .long], help: "Also remove the stack's named volumes and the data in them.")
        var volumes = false

        func run() async throws {
            let name: String
            if let directory = source.directory, !FileManager.default.fileExists(atPath: directory) {
                name = directory  // the stack's name, its directory gone
            } else if let project = source.compose.projectName, case .directory = source.source {
                name = project  // -p NAME alone, as `docker compose -p NAME down`
            } else {
                name = (try? source.source.load().name) ?? source.source.fallbackName
            }
            let report = try await withSession(common, stack: name, lockTimeout: .seconds(120)) { session in
                try await Reconciler(engine: session.engine, store: session.store).down(
                    stack: name, removeVolumes: volumes, onEvent: progress.printer(json: common.json))
            }
            if common.json {
                try printJSON(ReportJSON(report: report))
            } else {
                print(
                    "\(name): \(report.plan.steps.isEmpty ? "nothing to remove" : "\(report.outcome.rawValue), \(report.plan.changeCount) change(s)")"
                )
            }
            if !report.outcome.isConverged { throw ExitCode.failure }
        }
    }
}

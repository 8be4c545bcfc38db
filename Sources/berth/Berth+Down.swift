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
                "Only what carries the stack's berth.stack label is touched. DIR may be a stack directory or, when the directory is gone, the stack's name; a Compose project is named by -f files or -p."
        )

        @OptionGroup var source: SourceOptions
        @OptionGroup var common: CommonOptions
        @Flag(help: "Also remove the stack's named volumes and the data in them.")
        var volumes = false

        func run() async throws {
            let name: String
            if let directory = source.directory, !FileManager.default.fileExists(atPath: directory) {
                name = directory  // the stack's name, its directory gone
            } else {
                name = (try? source.source.load().name) ?? source.source.fallbackName
            }
            let report = try await withSession(common, stack: name, lockTimeout: .seconds(120)) { session in
                try await Reconciler(engine: session.engine, store: session.store).down(
                    stack: name, removeVolumes: volumes, onEvent: Output.progressPrinter(json: common.json))
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

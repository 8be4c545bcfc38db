import ArgumentParser
import Foundation

/// `berth`: converge a Docker host to declarative manifests, and say why.
///
/// Each subcommand names itself (`commandName:`): deriving the name from the type costs a runtime
/// conformance scan of the whole binary at every start, a few milliseconds of every no-op `apply`.
@main
struct Berth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "Converge a Docker host to declarative manifests, and log every reconcile.",
        discussion: """
            A stack is a directory of YAML manifests (kinds: Stack, Service, Environment, Connection, \
            Network, Volume). Berth resolves it for a profile set and an environment, compares it with \
            what the Docker Engine has, and creates, recreates or removes containers and networks \
            until they match. Every apply is logged in SQLite (see --state).
            """,
        version: "0.1.0",
        groupedSubcommands: [
            CommandGroup(name: "Converge", subcommands: [Validate.self, Render.self, Plan.self, Apply.self, Watch.self, Down.self]),
            CommandGroup(name: "Look inside", subcommands: [Status.self, Ps.self, Logs.self, Exec.self, History.self, Probe.self]),
            CommandGroup(name: "Operate", subcommands: [Stop.self, Start.self, Restart.self, Rollback.self, Adopt.self]),
            CommandGroup(name: "Adopt Berth", subcommands: [Import.self, Engine.self, Secrets.self]),
        ]
    )

    /// ArgumentParser's own entry point, plus a "did you mean" for a mistyped command or option.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            var command = try parseAsRoot(arguments)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if let message = UsageHint.message(for: error, arguments: arguments) {
                Console.error("Error: \(message)\n")
                Foundation.exit(exitCode(for: error).rawValue)
            }
            exit(withError: error)
        }
    }
}

import ArgumentParser

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
        subcommands: [
            Validate.self, Render.self, Plan.self, Apply.self, Watch.self, Down.self, Status.self, History.self, Rollback.self, Adopt.self,
            Import.self,
            Engine.self,
        ]
    )
}

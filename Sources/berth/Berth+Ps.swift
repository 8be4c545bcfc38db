import ArgumentParser
import BerthEngine
import BerthModel
import Foundation

extension Berth {
    /// The stack's containers, as `docker compose ps` lists a project's.
    struct Ps: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ps",
            abstract: "List the stack's containers: service, state, health, ports, uptime, image.",
            discussion:
                "Running containers only, unless --all. The stack is the current directory unless the first argument is a directory or -f is given."
        )

        @OptionGroup var target: ServiceTargetOptions
        @Flag(help: "Print one JSON document instead of human output.")
        var json = false
        @Flag(name: [.short, .long], help: "Also list containers that are not running.")
        var all = false

        struct Result: Encodable {
            let stack: String
            let containers: [ContainerRow]
        }

        func run() async throws {
            let (stack, services) = try target.load()
            let rows = try await withEngine { engine in
                try await ContainerRow.rows(
                    of: try await StackContainers.list(engine, stack: stack.name, services: services).filter { all || $0.isUp }, engine)
            }
            if json { return try printJSON(Result(stack: stack.name, containers: rows)) }
            guard !rows.isEmpty else {
                print("stack \(stack.name): no \(all ? "" : "running ")containers\(all ? "" : " (--all lists stopped ones)")")
                return
            }
            let table: [[String]] =
                [["SERVICE", "CONTAINER", "STATE", "HEALTH", "UPTIME", "PORTS", "IMAGE"]]
                + rows.map { row in
                    [
                        row.service, row.container, row.state, row.health ?? "-", row.uptime, row.portList, row.image,
                    ]
                }
            for line in Output.columns(table) { print(line) }
        }
    }
}

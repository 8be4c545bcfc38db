import ArgumentParser
import BerthEngine
import Foundation

extension Berth {
    /// A command inside a service's running container, as `docker compose exec` runs one.
    struct Exec: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "exec",
            abstract: "Run a command in a service's running container: berth exec [STACK_DIRECTORY] SERVICE -- COMMAND…",
            discussion: """
                Input, output and the exit status are the command's. With a terminal on stdin, the command gets \
                a pseudo-terminal too (-T turns that off, e.g. for output meant for a pipe).
                """
        )

        @OptionGroup var files: ServiceFileOptions
        @Argument(
            parsing: .captureForPassthrough,
            help: "[STACK_DIRECTORY] SERVICE [--] COMMAND…: where, and the command with its arguments (options for berth go before SERVICE).")
        var words: [String] = []
        @Flag(name: [.customShort("T"), .customLong("no-tty")], help: "No pseudo-terminal, even at a terminal.")
        var noTTY = false
        @Flag(name: .customLong("no-stdin"), help: "Do not pass stdin to the command.")
        var noStdin = false
        @Option(name: [.short, .long], help: "Run as this user (name or uid[:gid]).")
        var user: String?
        @Option(name: [.short, .long], help: "Run in this directory inside the container.")
        var workdir: String?
        @Option(name: [.short, .customLong("env")], help: "Set a variable for the command: KEY=VALUE (repeatable).")
        var environment: [String] = []

        /// The stack and service words, and the command: split at `--` when given, else after the
        /// service (and the directory before it, when the first word is one).
        private var split: (target: ServiceTarget, command: [String]) {
            if let terminator = words.firstIndex(of: "--") {
                return (ServiceTarget(words: Array(words[..<terminator]), files: files), Array(words[(terminator + 1)...]))
            }
            let withDirectory = ServiceTarget(words: Array(words.prefix(2)), files: files)
            let targetCount = withDirectory.services.count < min(2, words.count) ? 2 : 1
            return (ServiceTarget(words: Array(words.prefix(targetCount)), files: files), Array(words.dropFirst(targetCount)))
        }

        func validate() throws {
            // The words after the service are the command's own: only before it is --help ours.
            if let help = words.firstIndex(where: { $0 == "--help" || $0 == "-h" }), help < (words.firstIndex(of: "--") ?? min(words.count, 2)) {
                throw CleanExit.helpRequest(self)
            }
            if split.target.services.isEmpty { throw ValidationError("name the service, e.g. berth exec web -- sh") }
            if split.command.isEmpty { throw ValidationError("give the command after the service, e.g. berth exec web -- sh") }
            for entry in environment where !entry.contains("=") || entry.hasPrefix("=") {
                throw ValidationError("--env takes KEY=VALUE, not '\(entry)'")
            }
        }

        func run() async throws {
            let (target, command) = split
            let (stack, services) = try target.load()
            guard services.count == 1, let service = services.first else {
                throw CommandFailure("name one service before --, not \(services.count): \(services.joined(separator: " "))")
            }
            let code = try await withEngine { engine in
                let container = try StackContainers.main(
                    of: service, in: try await StackContainers.list(engine, stack: stack.name, services: [service]), stack: stack.name)
                guard container.state == "running" else {
                    throw CommandFailure(
                        "service \(service)'s container \(container.name) is \(container.state), not running; `berth start \(service)` starts it")
                }
                let tty = !noTTY && !noStdin && isatty(STDIN_FILENO) == 1
                return try await engine.execAttached(
                    AttachedExec(command: command, tty: tty, stdin: !noStdin, user: user, workingDir: workdir, environment: environment),
                    in: container.id)
            }
            if code != 0 { throw ExitCode(Int32(truncatingIfNeeded: code)) }
        }
    }
}

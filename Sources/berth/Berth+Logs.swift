import ArgumentParser
import BerthController
import BerthEngine
import BerthModel
import Foundation

extension Berth {
    /// The stack's output, as `docker compose logs` shows a project's.
    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "logs",
            abstract: "Show the output of the stack's containers (all services, or those named), each line prefixed with its service.",
            discussion:
                "The stack is the current directory unless the first argument is a directory or -f is given. With --json, one JSON object per line."
        )

        @OptionGroup var target: ServiceTargetOptions
        @Flag(help: "Print one JSON object per line instead of human output.")
        var json = false
        @Flag(name: [.customShort("f"), .long], help: "Keep following new output.")
        var follow = false
        @Option(help: "Only output since then: a duration back from now (30s, 10m, 2h, 1h30m), an RFC 3339 time, or Unix seconds.")
        var since: String?
        @Option(help: "Only the last N lines of each container (or `all`).")
        var tail: String?
        @Flag(name: [.short, .long], help: "Show the Engine's timestamp of each line.")
        var timestamps = false
        @Flag(help: "Leave out the service prefix.")
        var noPrefix = false

        func validate() throws {
            if let tail, tail != "all", Int(tail).map({ $0 < 0 }) ?? true {
                throw ValidationError("--tail takes a number of lines or `all`, not '\(tail)'")
            }
            if let since, LogSince.timestamp(since, now: Date()) == nil {
                throw ValidationError("--since takes a duration (10m), an RFC 3339 time or Unix seconds, not '\(since)'")
            }
        }

        struct Line: Encodable {
            var schemaVersion = jsonSchemaVersion
            let service: String
            let container: String
            let stream: String
            let text: String
        }

        func run() async throws {
            let (stack, services) = try target.load()
            let options = DockerClient.LogOptions(
                follow: follow, since: since.flatMap { LogSince.timestamp($0, now: Date()) }, tail: tail, timestamps: timestamps)
            do {
                try await show(stack: stack, services: services, options)
            } catch is ReaderGone {
                return  // as `docker compose logs | head` ends
            }
        }

        private func show(stack: LoadedStack, services: [String], _ options: DockerClient.LogOptions) async throws {
            try await withEngine { engine in
                let containers = try await StackContainers.list(engine, stack: stack.name, services: services)
                guard !containers.isEmpty else {
                    throw CommandFailure(
                        "stack \(stack.name) has no containers\(services.isEmpty ? "" : " for \(services.joined(separator: ", "))"); `berth apply` creates them"
                    )
                }
                let width = containers.map { ($0.labels[Resolver.Label.service] ?? $0.name).count }.max() ?? 0
                let colours = Colour.enabled(for: STDOUT_FILENO)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, container) in containers.enumerated() {
                        let service = container.labels[Resolver.Label.service] ?? container.name
                        let prefix =
                            noPrefix ? "" : Colour.paint(service.padding(toLength: width, withPad: " ", startingAt: 0) + " | ", index, colours)
                        group.addTask {
                            let tty = try await engine.inspectContainer(container.id).config.tty ?? false
                            var lines = LineSplitter()
                            let emit = { (stream: OutputChunk.Stream, text: String) in
                                if json {
                                    let line = Line(
                                        service: service, container: container.name, stream: stream == .stderr ? "stderr" : "stdout", text: text)
                                    try Self.write(jsonLine(line))
                                } else {
                                    try Self.write(prefix + text + "\n")
                                }
                            }
                            for try await chunk in engine.logs(container.id, tty: tty, options) {
                                for text in lines.push(chunk) { try emit(chunk.stream, text) }
                            }
                            for (stream, text) in lines.rest() { try emit(stream, text) }
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }

        /// One `write(2)` per line, so lines of different containers do not interleave.
        /// - Throws: `ReaderGone` when nobody reads any more (`berth logs -f | head`).
        static func write(_ text: String) throws {
            guard Console.write(text) else { throw ReaderGone() }
        }

        struct ReaderGone: Error {}
    }
}

/// Splits a container's output into lines, per stream; a line may arrive in several chunks.
struct LineSplitter {
    private var partial: [OutputChunk.Stream: [UInt8]] = [:]

    mutating func push(_ chunk: OutputChunk) -> [String] {
        var buffer = partial[chunk.stream, default: []] + chunk.bytes
        var lines: [String] = []
        while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
            var line = buffer[..<newline]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            lines.append(String(decoding: line, as: UTF8.self))
            buffer.removeSubrange(...newline)
        }
        partial[chunk.stream] = buffer
        return lines
    }

    /// What is left without a final newline.
    mutating func rest() -> [(OutputChunk.Stream, String)] {
        defer { partial = [:] }
        return partial.filter { !$0.value.isEmpty }.sorted { $0.key == .stdout && $1.key == .stderr }.map {
            ($0.key, String(decoding: $0.value, as: UTF8.self))
        }
    }
}

/// `--since` as the Engine takes it (Unix seconds with a fraction).
enum LogSince {
    static func timestamp(_ value: String, now: Date) -> String? {
        if Double(value) != nil { return value }
        if let date = StackContainers.date(value) { return DockerClient.timestamp(date) }
        guard let seconds = duration(value) else { return nil }
        return DockerClient.timestamp(now.addingTimeInterval(-seconds))
    }

    /// `1h30m`, `45s`, `2d`, `500ms`: a sum of number-unit pairs.
    static func duration(_ text: String) -> Double? {
        let units: [String: Double] = ["ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400]
        var total = 0.0
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            guard let number = Double(digits), let scale = units[String(unit)] else { return nil }
            total += number * scale
        }
        return total
    }
}

import BerthTesting
import Foundation
import Testing

/// Hand-written bad manifests and Compose files through `berth apply`: each is refused with its
/// file:line:column, field and message, and changes nothing. The apply runs with
/// `BERTH_CRASH_AFTER_WRITES=1`, so a single Engine write would kill it instead of exiting 1.
@Suite struct BadInputTests {
    static let header = "kind: Stack\nname: {{stack}}\n---\n"

    /// (file name, text, expected error line)
    static let corpus: [(String, String, String)] = [
        (
            "stack.yaml", header + "kind: Service\nname: web\nimage: [unclosed\n",
            "stack.yaml:7:1: YAML syntax error: while parsing a flow sequence, did not find expected ',' or ']'"
        ),
        (
            "stack.yaml", header + "kind: Service\nname: web\n",
            "stack.yaml:4:1: web.image: required field 'image' is missing"
        ),
        (
            "stack.yaml", header + "kind: Service\nname: web\nimage: app\nports: [\"70000:80\"]\n",
            "stack.yaml:7:9: web.ports[0]: port 70000 is out of range 1...65535"
        ),
        (
            "stack.yaml", header + "kind: Service\nname: a\nimage: app\ndepends_on: [b]\n---\nkind: Service\nname: b\nimage: app\ndepends_on: [a]\n",
            "stack.yaml:7:13: a.depends_on: dependency cycle: a → b → a"
        ),
        (
            "stack.yaml", header + "kind: Service\nname: web\nimage: app\nhealthcheck: {test: [CMD, \"true\"], interval: 5 parsecs}\n",
            "stack.yaml:7:46: web.healthcheck.interval: expected a duration such as 10s, 1m30s or 500ms, found '5 parsecs'"
        ),
        (
            "stack.yaml", header + "kind: Service\nname: web\nimage: app\nrestart: sometimes\n",
            "stack.yaml:7:10: web.restart: unknown restart policy 'sometimes'"
        ),
        (
            "stack.yaml",
            header + "kind: Environment\nname: prod\nsecrets: {DB_PASSWORD: {file: missing.txt}}\n---\nkind: Service\nname: web\nimage: app\n"
                + "environment: {P: \"${DB_PASSWORD}\"}\n",
            "stack.yaml:6:24: prod.secrets.DB_PASSWORD: cannot read secret file 'missing.txt'"
        ),
        (
            "stack.yaml", header + "kind: Service\nname: web\nimage: app\n\tports: []\n",
            "stack.yaml:7:1: YAML syntax error: while scanning a plain scalar, found a tab character that violates indentation"
        ),
        (
            "stack.yaml", header + "kind: Service\nname: Web Server\nimage: app\n",
            "stack.yaml:5:7: name: 'Web Server' is not a valid name"
        ),
        (
            "stack.yaml", header + "kind: Service\nname: web\nimage: app\nvolumes: [\"data:/data\"]\n",
            "stack.yaml:7:11: web.volumes[0]: unknown volume 'data'; declare it with 'kind: Volume'"
        ),
        (
            "stack.yaml", header + "kind: Sevice\nname: web\nimage: app\n",
            "stack.yaml:4:7: kind: unknown kind 'Sevice' (did you mean 'Service'?)"
        ),
        (
            "stack.yaml", "kind: Stack\nname: {{stack}}\nprofiles: [a]\ndefault_profiles: [b]\n---\nkind: Service\nname: web\nimage: app\n",
            "stack.yaml:4:19: default_profiles: unknown profile 'b'"
        ),
        // Exponential YAML aliases ("billion laughs") are answered at once, not expanded.
        (
            "stack.yaml",
            (0..<9).map { i in "k\(i): &a\(i) [" + Array(repeating: i == 0 ? "x" : "*a\(i - 1)", count: 9).joined(separator: ", ") + "]" }
                .joined(separator: "\n") + "\n",
            "stack.yaml:1:25: this document expands to more than 200000 values through YAML aliases"
        ),
        // Env and secret files outside the stack (or project) directory need read_outside.
        (
            "stack.yaml", header + "kind: Environment\nname: prod\nsecrets: {P: {file: /etc/hostname}}\n---\nkind: Service\nname: web\nimage: app\n",
            "stack.yaml:6:21: prod.secrets.P: '/etc/hostname' is outside the stack directory; list its directory under read_outside"
        ),
        (
            "compose.yaml", "services:\n  web:\n    image: app\n    env_file: /etc/hostname\n",
            "compose.yaml:4:15: web.env_file[0]: '/etc/hostname' is outside the project directory"
        ),
        // A duplicate key is reported where it is written the second time.
        (
            "stack.yaml", header + "kind: Service\nname: web\nimage: a\nimage: b\n",
            "stack.yaml:7:1: image: key 'image' appears twice in this mapping"
        ),
        (
            "compose.yaml", "services:\n  web:\n    image: a\n    image: b\n",
            "compose.yaml:4:5: key 'image' appears twice in this mapping"
        ),
        (
            "compose.yaml", "services:\n  web:\n    image: app\n    ports: [\"abc\"]\n",
            "compose.yaml:4:13: web.ports[0]: 'abc' in 'abc' is not a port number"
        ),
        (
            "compose.yaml", "services:\n  web:\n    image: app\n    env_file: nope.env\n",
            "compose.yaml:4:15: web.env_file[0]: cannot read env file 'nope.env'"
        ),
        (
            "compose.yaml", "services:\n  web:\n    image: ${TAG:?set TAG to the release}\n",
            "compose.yaml:3:12: web.image: TAG: set TAG to the release"
        ),
        (
            "compose.yaml", "services:\n  web:\n    image: app\n    depends_on: [db]\n",
            "compose.yaml:4:18: web.depends_on[0]: unknown service 'db' (did you mean 'web'?)"
        ),
        (
            "compose.yaml", "services:\n  web:\n    image: app\n    healthcheck: {test: [CMD, \"true\"], retries: many}\n",
            "compose.yaml:4:49: web.healthcheck.retries: expected a whole number, found 'many'"
        ),
    ]

    @Test func everyBadInputIsRefusedWithItsPlaceAndChangesNothing() async throws {
        try await TestStack.with("bad") { stack in
            var environment = stack.berthEnvironment
            environment["BERTH_CRASH_AFTER_WRITES"] = "1"
            environment["TAG"] = nil
            for (index, (file, text, expected)) in Self.corpus.enumerated() {
                for old in try FileManager.default.contentsOfDirectory(atPath: stack.directory.path) where old != "state.db" {
                    try stack.remove(old)
                }
                try stack.write(file, text)
                let arguments =
                    file == "compose.yaml"
                    ? ["apply", "-f", stack.directory.appendingPathComponent(file).path, "-p", stack.name]
                    : ["apply", stack.directory.path]
                let result = try await Command.run(BerthBinary.path, arguments, environment: environment)
                #expect(result.status == 1, "case \(index): exit \(result.status) \(result.stderr)")
                #expect(result.stderr.contains(expected), "case \(index): \(result.stderr)")
                #expect(result.stderr.contains("nothing was changed"), "case \(index)")
            }
            #expect(try await stack.containers().isEmpty)
            #expect(try await stack.engine.listNetworks(labels: ["berth.stack=\(stack.name)"]).isEmpty)
            #expect(try await stack.engine.listVolumes(labels: ["berth.stack=\(stack.name)"]).isEmpty)
        }
    }
}

/// Files that are not plain UTF-8 text are named with a plain reason, and a FIFO never blocks.
@Suite struct UnreadableFileTests {
    @Test func fifoSymlinkLoopAndNonUTF8AreNamed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-unreadable-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "kind: Stack\nname: u\n".write(to: directory.appendingPathComponent("stack.yaml"), atomically: true, encoding: .utf8)
        #expect(mkfifo(directory.appendingPathComponent("pipe.yaml").path, 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: directory.appendingPathComponent("a.yaml").path, withDestinationPath: "b.yaml")
        try FileManager.default.createSymbolicLink(atPath: directory.appendingPathComponent("b.yaml").path, withDestinationPath: "a.yaml")
        try Data([0xff, 0xfe, 0x00]).write(to: directory.appendingPathComponent("binary.yaml"))

        let result = try await Command.run(BerthBinary.path, ["validate", directory.path])
        #expect(result.status == 1)
        for line in [
            "a.yaml:1:1: cannot read: a loop of symbolic links", "binary.yaml:1:1: cannot read: not UTF-8 text",
            "pipe.yaml:1:1: cannot read: a FIFO (named pipe), not a regular file",
        ] {
            #expect(result.stderr.contains(line), "\(result.stderr)")
        }
    }
}

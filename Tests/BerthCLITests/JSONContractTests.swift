import BerthTesting
import Foundation
import Testing

/// Every command's `--json` against its schema in docs/json/: the names, types and versions a
/// script may rely on. Run on a real stack so each document has real content in it.
@Suite struct JSONContractTests {
    static let schemas = BerthBinary.repository.appendingPathComponent("docs/json")

    /// The violations of `text` (one document, or one per line) against `schema`.
    func violations(_ text: String, _ schema: String, lines: Bool = false) throws -> [String] {
        let contract = try JSONSchema(contentsOf: Self.schemas.appendingPathComponent("\(schema).schema.json"))
        let documents = lines ? text.split(separator: "\n").map(String.init) : [text]
        #expect(!documents.isEmpty && !text.isEmpty, "\(schema): no output")
        return documents.flatMap { document in
            guard let value = try? JSONSerialization.jsonObject(with: Data(document.utf8)) else {
                return ["\(schema): not JSON: \(document.prefix(300).debugDescription)"]
            }
            return contract.violations(of: value).map { "\(schema): \($0)" }
        }
    }

    @Test func everyCommandsJSONMatchesItsSchema() async throws {
        try await TestStack.with("js") { stack in
            let manifests = { (message: String) in
                """
                kind: Stack
                name: {{stack}}
                ---
                kind: Volume
                name: data
                ---
                kind: Service
                name: web
                image: \(TestStack.baseImage)
                init: true
                command: [sh, -c, "echo \(message); exec sleep 600"]
                ports: ["127.0.0.1:\(Int.random(in: 20000...40000)):80"]
                volumes: ["data:/data"]
                healthcheck: {test: [CMD, "true"], interval: 300ms}

                """
            }
            try stack.write("stack.yaml", manifests("one"))
            let directory = stack.directory.path
            var found: [String] = []
            func check(_ arguments: [String], _ schema: String, lines: Bool = false, stderr: Bool = false) async throws {
                let result = try await stack.berth(arguments)
                found += try violations(stderr ? result.stderr : result.stdout, schema, lines: lines)
            }
            try await check(["validate", directory, "--json"], "validate")
            try await check(["render", directory, "--json"], "render")
            try await check(["plan", directory, "--json"], "report")
            let applied = try await stack.berth(["apply", directory, "--json", "--progress", "json"])
            found += try violations(applied.stdout, "report") + violations(applied.stderr, "progress-event", lines: true)
            try await check(["status", directory, "--json"], "status")
            try await check(["ps", directory, "--json"], "ps")
            try await check(["logs", directory, "--json"], "logs-line", lines: true)
            try await check(["restart", directory, "--json", "-t", "1"], "lifecycle")
            try await check(["stop", directory, "--json", "-t", "1"], "lifecycle")
            try await check(["status", directory, "--json"], "status")
            try await check(["start", directory, "--json"], "lifecycle")
            try await check(["adopt", "volume", "\(stack.name)_data", directory, "--json"], "adopt")
            try stack.write("stack.yaml", manifests("two"))
            #expect(try await stack.berth(["apply", directory]).status == 0)
            try await check(["rollback", directory, "web", "--json"], "report")
            try await check(["history", "--stack", stack.name, "--json"], "history")
            try await check(["engine", "--json"], "engine")
            try await check(["probe", "http://127.0.0.1:1/readyz", "--json"], "probe")
            try await check(["secrets", "keygen", "-o", directory + "/id.key", "--json"], "secrets-keygen")
            let recipient = try #require(
                try String(contentsOfFile: directory + "/id.key", encoding: .utf8).split(separator: " ").last?.split(separator: "\n").first)
            try await check(["secrets", "encrypt", "--recipient", String(recipient), "--json"], "secrets-encrypt")
            try await check(["secrets", "encrypt", "--recipient", String(recipient), "-o", directory + "/x.age", "--json"], "secrets-encrypt")
            var environment = stack.berthEnvironment
            environment["EDITOR"] = "true"
            environment["BERTH_AGE_IDENTITY"] = directory + "/id.key"
            let edited = try await Command.run(
                BerthBinary.path, ["secrets", "edit", "--recipient", String(recipient), directory + "/x.age", "--json"], environment: environment)
            found += try violations(edited.stdout, "secrets-edit")

            let watch = Process()
            watch.executableURL = URL(fileURLWithPath: BerthBinary.path)
            watch.arguments = ["watch", directory, "--json", "--resync", "1"]
            watch.environment = stack.berthEnvironment
            let output = Pipe()
            watch.standardOutput = output
            watch.standardError = FileHandle.nullDevice
            try watch.run()
            try await Task.sleep(for: .seconds(3))
            watch.terminate()
            watch.waitUntilExit()
            found += try violations(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self), "watch-round", lines: true)

            try await check(["down", directory, "--json"], "report")
            try await check(["history", "--prune", "--keep", "1", "--json"], "history")
            #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
        }
    }

    /// The checker itself finds what is wrong: a contract test that cannot fail proves nothing.
    @Test func theSchemaCheckerRejectsWhatBreaksTheContract() throws {
        let good =
            #"{"schemaVersion": 1, "stack": "s", "containers": [{"service": "web", "container": "c", "id": "1", "image": "i", "state": "running", "ports": [], "status": "Up"}]}"#
        #expect(try violations(good, "ps").isEmpty)
        for (broken, expected) in [
            (good.replacingOccurrences(of: #""schemaVersion": 1"#, with: #""schemaVersion": 2"#), "$.schemaVersion"),
            (good.replacingOccurrences(of: #""ports": []"#, with: #""ports": "none""#), "$.containers[0].ports"),
            (good.replacingOccurrences(of: #""stack": "s", "#, with: ""), "missing stack"),
            (good.replacingOccurrences(of: #""stack": "s""#, with: #""stack": "s", "extra": true"#), "extra is not in the schema"),
            (good.replacingOccurrences(of: #""id": "1""#, with: #""id": 1"#), "$.containers[0].id: 1 is not string"),
        ] {
            #expect(try violations(broken, "ps").contains { $0.contains(expected) }, "\(expected)")
        }
    }
}

import BerthController
import BerthEngine
import BerthModel
import BerthTesting
import Foundation
import Testing

/// A copy of manifests/compose-shop (the seed's Compose project) applied as it is, on the real dockerd.
@Suite struct ComposeConvergeTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Copies the project with the test's own container names and no host ports.
    func copyProject(to stack: TestStack) throws {
        try FileManager.default.removeItem(at: stack.directory)
        try FileManager.default.copyItem(at: Self.repository.appendingPathComponent("manifests/compose-shop"), to: stack.directory)
        for file in ["docker-compose.yml", "docker-compose.external-db.yml"] {
            let url = stack.directory.appendingPathComponent(file)
            let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            let kept = lines.filter { !$0.hasPrefix("    ports:") && !$0.hasPrefix("      - 127.0.0.1:") && !$0.hasPrefix("      - \"127.0.0.1:") }
            let text = kept.joined(separator: "\n")
                .replacingOccurrences(of: "db_instance", with: "\(stack.name)-db")
                .replacingOccurrences(of: "container_name: SERVICE_B", with: "container_name: \(stack.name)-b")
                .replacingOccurrences(of: "container_name: SERVICE_D", with: "container_name: \(stack.name)-d")
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
    }

    func source(_ stack: TestStack, _ file: String) -> StackSource {
        .compose(ComposeOptions(files: [stack.directory.appendingPathComponent(file).path], projectName: stack.name))
    }

    func ids(_ stack: TestStack) async throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try await stack.containers().map { ($0.labels["berth.service"] ?? $0.name, $0.id) })
    }

    @Test func appliesConvergesAndSwitchesVariant() async throws {
        try await TestStack.with("c") { stack in
            try copyProject(to: stack)
            var environment = ProcessInfo.processInfo.environment
            environment["DB_HOST"] = "\(stack.name)-outside-db"
            let options = ReconcileOptions(processEnvironment: environment)
            let reconciler = try stack.reconciler()
            let base = try source(stack, "docker-compose.yml").load(environment: environment)

            let first = try await reconciler.apply(base, options)
            #expect(first.outcome == .changed)
            let before = try await ids(stack)
            #expect(before.keys.sorted() == ["SERVICE_B", "SERVICE_D", "database", "frontend"])
            #expect(try await stack.containers().allSatisfy { $0.state == "running" })

            // Converged: nothing to do, and a second apply writes nothing.
            #expect(try await reconciler.preview(base, options).plan.changeCount == 0)
            let again = try await reconciler.apply(base, options)
            #expect(again.outcome == .converged)

            // The external-db variant: the database goes (its volume stays), the two consumers are
            // re-pointed, the frontend is left alone.
            let variant = try source(stack, "docker-compose.external-db.yml").load(environment: environment)
            let switched = try await reconciler.apply(variant, options)
            #expect(switched.outcome == .changed)
            let after = try await ids(stack)
            #expect(after.keys.sorted() == ["SERVICE_B", "SERVICE_D", "frontend"])
            #expect(after["frontend"] == before["frontend"])
            #expect(after["SERVICE_B"] != before["SERVICE_B"])
            #expect(after["SERVICE_D"] != before["SERVICE_D"])
            let b = try await stack.engine.inspectContainer(try #require(after["SERVICE_B"]))
            #expect(b.config.env?.contains("DB_HOST=\(stack.name)-outside-db") == true)
            let volumes = try await stack.engine.listVolumes(labels: ["berth.stack=\(stack.name)"])
            #expect(volumes.map(\.name) == ["\(stack.name)_sf1_db_storage"])
            #expect(try await reconciler.preview(variant, options).plan.changeCount == 0)

            // Imported as native manifests, the same host is already in sync in the same variant.
            let variants = [
                ComposeImport.Variant(name: "internal-db", project: try load(stack, "docker-compose.yml", environment)),
                ComposeImport.Variant(name: "external-db", project: try load(stack, "docker-compose.external-db.yml", environment)),
            ]
            let output = stack.directory.appendingPathComponent("native").path
            let result = try ComposeImport.convert(variants, outputDirectory: output)
            let (files, problems) = ComposeImport.check(result, variants: variants, environment: environment)
            #expect(problems.isEmpty, "\(problems)")
            try FileManager.default.createDirectory(atPath: output + "/secrets", withIntermediateDirectories: true)
            for (name, text) in files { try text.write(toFile: output + "/" + name, atomically: true, encoding: .utf8) }
            for (name, text) in result.secretFiles { try text.write(toFile: output + "/" + name, atomically: true, encoding: .utf8) }
            let native = try StackLoader.load(directory: output)
            var nativeOptions = options
            nativeOptions.profiles = ["external-db"]
            #expect(try await reconciler.preview(native, nativeOptions).plan.changeCount == 0)
        }
    }

    func load(_ stack: TestStack, _ file: String, _ environment: [String: String]) throws -> ComposeProject {
        try ComposeLoader.load(
            ComposeOptions(files: [stack.directory.appendingPathComponent(file).path], projectName: stack.name), environment: environment
        ) { try? String(contentsOfFile: $0, encoding: .utf8) }
    }

    @Test func invalidComposeChangesNothing() async throws {
        try await TestStack.with("c") { stack in
            try stack.write("compose.yaml", "services:\n  web:\n    image: \(TestStack.baseImage)\n    ports: [\"${PORT:?set PORT}:80\"]\n")
            let error = #expect(throws: ManifestErrors.self) { try source(stack, "compose.yaml").load(environment: [:]) }
            #expect(error?.description.contains("compose.yaml:4:13: web.ports[0]: PORT: set PORT") == true, "\(String(describing: error))")
            #expect(try await stack.containers().isEmpty)
        }
    }
}

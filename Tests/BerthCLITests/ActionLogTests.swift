import BerthTesting
import Foundation
import Testing

/// The log keeps what happened even when the process does not end well: actions are logged as
/// they start and as they end, and a reconcile cut short is marked `interrupted` by the next one.
@Suite struct ActionLogTests {
    /// `history --json`, the fields this test reads.
    struct History: Decodable {
        struct Reconcile: Decodable {
            struct Step: Decodable {
                let action: String
                let outcome: String
            }
            let id: Int64
            let outcome: String
            let trigger: String
            let steps: [Step]
        }
        let reconciles: [Reconcile]
    }

    @Test func applyKilledMidwayIsLoggedAndMarkedInterrupted() async throws {
        try await TestStack.with("al") { stack in
            try stack.write(
                "stack.yaml",
                "kind: Stack\nname: {{stack}}\n---\nkind: Service\nname: web\nimage: \(TestStack.baseImage)\ninit: true\ncommand: [sleep, \"600\"]\n")
            let environment = stack.berthEnvironment
            var killing = environment
            killing["BERTH_CRASH_AFTER_WRITES"] = "2"  // after the network and the container are created
            let killed = try await Command.run(BerthBinary.path, ["apply", stack.directory.path], environment: killing)
            #expect(killed.status == 9, "SIGKILL expected: \(killed.stderr)")

            let history = { () async throws -> [History.Reconcile] in
                let result = try await Command.run(BerthBinary.path, ["history", "--stack", stack.name, "--json"], environment: environment)
                let decoder = JSONDecoder()
                decoder.dateDecodingStrategy = .iso8601
                return try decoder.decode(History.self, from: Data(result.stdout.utf8)).reconciles
            }
            let cut = try #require(try await history().first)
            #expect(cut.outcome == "running")
            #expect(cut.steps.map { "\($0.action) \($0.outcome)" } == ["create-network ok", "create running"], "\(cut.steps)")

            let next = try await Command.run(BerthBinary.path, ["apply", stack.directory.path], environment: environment)
            #expect(next.status == 0, "\(next.stderr)")
            let after = try await history()
            let marked = try #require(after.first { $0.id == cut.id })
            #expect(marked.outcome == "interrupted")
            #expect(marked.steps.map { "\($0.action) \($0.outcome)" } == ["create-network ok", "create interrupted"])
            #expect(after.first?.outcome == "changed")
        }
    }
}

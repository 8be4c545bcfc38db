import BerthTesting
import Foundation
import Testing

/// The log keeps what happened even when the process does not end well: actions are logged as
/// they start and as they end, and a reconcile cut short is marked `interrupted` by the next one.
@Suite struct ActionLogTests {
    struct History: Decodable {
        struct Reconcile: Decodable {
            let id: Int64
            let outcome: String
            let trigger: String
        }
        struct Action: Decodable {
            let kind: String
            let outcome: String
        }
        let reconcile: Reconcile
        let actions: [Action]
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

            let history = { () async throws -> [History] in
                let result = try await Command.run(BerthBinary.path, ["history", "--stack", stack.name, "--json"], environment: environment)
                let decoder = JSONDecoder()
                decoder.dateDecodingStrategy = .iso8601
                return try decoder.decode([History].self, from: Data(result.stdout.utf8))
            }
            let cut = try #require(try await history().first)
            #expect(cut.reconcile.outcome == "running")
            #expect(cut.actions.map { "\($0.kind) \($0.outcome)" } == ["create-network ok", "create running"], "\(cut.actions)")

            let next = try await Command.run(BerthBinary.path, ["apply", stack.directory.path], environment: environment)
            #expect(next.status == 0, "\(next.stderr)")
            let after = try await history()
            let marked = try #require(after.first { $0.reconcile.id == cut.reconcile.id })
            #expect(marked.reconcile.outcome == "interrupted")
            #expect(marked.actions.map { "\($0.kind) \($0.outcome)" } == ["create-network ok", "create interrupted"])
            #expect(after.first?.reconcile.outcome == "changed")
        }
    }
}

import BerthTesting
import Foundation
import Testing

/// `apply --pull` and `plan --pull` as users run them (the release binary), against images in
/// the local registry on 127.0.0.1:5000. The release build of 6.3.1 crashed here (docs/toolchain.md).
@Suite struct PullCommandTests {
    @Test func pullOfMovedTagsRecreatesTheirServices() async throws {
        try await TestStack.with("pull") { stack in
            let references = ["web", "api"].map { "127.0.0.1:5000/\(stack.name)/\($0):stable" }
            defer {
                Task { [engine = stack.engine] in for reference in references { try? await engine.removeImage(reference, force: true) } }
            }
            for reference in references {
                try await stack.publish("v1", reference: reference)
                try await stack.engine.removeImage(reference, force: true)
            }
            let compose = stack.directory.appendingPathComponent("docker-compose.yml")
            try stack.write(
                "docker-compose.yml",
                "services:\n" + zip(["web", "api"], references).map { "  \($0):\n    image: \($1)\n    init: true\n" }.joined())
            let project = ["-f", compose.path, "-p", stack.name]

            let first = try await stack.berth(["apply"] + project)
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            let before = try await stack.containers().map(\.id)

            for reference in references { try await stack.publish("v2", reference: reference) }
            let plan = try await stack.berth(["plan"] + project + ["--pull", "--detailed-exitcode"])
            #expect(plan.status == 2, "\(plan.stdout)\(plan.stderr)")
            for reference in references { #expect(plan.stdout.contains("pull-image image \(reference) (registry has sha256:"), "\(plan.stdout)") }

            let pulled = try await stack.berth(["apply"] + project + ["--pull", "--json"])
            #expect(pulled.status == 0, "\(pulled.stdout)\(pulled.stderr)")
            let after = try await stack.containers()
            #expect(after.count == 2)
            #expect(Set(after.map(\.id)).isDisjoint(with: before), "both services recreated on the new digest")
            let again = try await stack.berth(["apply"] + project + ["--pull"])
            #expect(again.status == 0)
            #expect(again.stdout.contains("already converged"), "\(again.stdout)")
        }
    }
}

import BerthTesting
import Foundation
import Testing

/// A volume someone else made on a name the stack wants: never mounted silently, mounted once
/// adopted on purpose, and the adoption is in the log.
@Suite struct AdoptTests {
    @Test func foreignVolumeIsRefusedUntilAdopted() async throws {
        // Removed after the stack's containers are (a volume in use cannot be): no label says it is the stack's.
        let volume = try await TestStack.with("ad") { stack in
            let volume = "\(stack.name)_data"
            _ = try await Command.docker("volume", "create", volume)
            try stack.write(
                "stack.yaml",
                """
                kind: Stack
                name: {{stack}}
                ---
                kind: Service
                name: app
                image: \(TestStack.baseImage)
                init: true
                command: [sleep, "600"]
                volumes: ["data:/data"]
                ---
                kind: Volume
                name: data
                """)

            let refused = try await stack.berth(["apply", stack.directory.path])
            #expect(refused.status == 1)
            #expect(refused.stdout.contains("conflict volume \(volume): exists but was not made by stack \(stack.name)"), "\(refused.stdout)")
            #expect(try await stack.containers().isEmpty, "nothing mounts the foreign volume")

            let adopted = try await stack.berth(["adopt", "volume", volume, stack.directory.path])
            #expect(adopted.status == 0, "\(adopted.stderr)")
            #expect(adopted.stdout.contains("volume \(volume) adopted"))
            let again = try await stack.berth(["adopt", "volume", volume, stack.directory.path])
            #expect(again.stdout.contains("is the stack's already"))
            let unknown = try await stack.berth(["adopt", "volume", "\(stack.name)_other", stack.directory.path])
            #expect(unknown.status == 1 && unknown.stderr.contains("has no volume named"), "\(unknown.stderr)")

            let applied = try await stack.berth(["apply", stack.directory.path])
            #expect(applied.status == 0, "\(applied.stdout)\n\(applied.stderr)")
            let container = try #require(try await stack.containers().first)
            let details = try await stack.engine.inspectContainer(container.id)
            #expect(details.mounts.contains { $0.name == volume })

            let history = try await stack.berth(["history", "--stack", stack.name, "--json"])
            #expect(history.stdout.contains("\"trigger\" : \"adopt\""))
            #expect(history.stdout.contains("adopt-volume"))
            return volume
        }
        _ = try? await Command.docker("volume", "rm", volume)
    }
}

import BerthTesting
import Foundation
import Testing

/// deploy/Dockerfile as an operator uses it: Berth in a container, the host's Engine through the
/// mounted socket, manifests mounted at the same path, state in a volume.
@Suite struct DeployImageTests {
    @Test func containerizedBerthConvergesTheHost() async throws {
        try await TestStack.with("dep") { stack in
            let tag = "berth-test/berth:\(stack.name)"
            let built = try await Command.run(
                CLITests.repository.appendingPathComponent("deploy/build-image").path, ["--binary", BerthBinary.path, "--tag", tag])
            try #require(built.status == 0, "\(built.stderr)")
            let state = "\(stack.name)-state"
            do {
                try stack.write(
                    "stack.yaml",
                    "kind: Stack\nname: {{stack}}\n---\nkind: Service\nname: web\nimage: \(TestStack.baseImage)\ninit: true\ncommand: [sleep, \"600\"]\n"
                )
                let directory = stack.directory.path
                func berth(_ arguments: String...) async throws -> CommandResult {
                    try await Command.run(
                        "docker",
                        [
                            "run", "--rm", "-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", "\(directory):\(directory):ro", "-v",
                            "\(state):/var/lib/berth", tag,
                        ]
                            + arguments)
                }
                // Healthy means ready, asked by Berth itself (the image has no curl).
                let health = try await Command.docker("image", "inspect", "-f", "{{json .Config.Healthcheck}}", tag)
                #expect(health.contains(#"["CMD","/usr/local/bin/berth","probe","http://127.0.0.1:9464/readyz"]"#), "\(health)")
                let apply = try await berth("apply", directory)
                #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
                #expect(try await stack.containers().map(\.state) == ["running"])
                let again = try await berth("apply", directory, "--json")
                #expect(again.stdout.contains("\"outcome\" : \"in-sync\""), "\(again.stdout)")
                let history = try await berth("history", "--stack", stack.name)
                #expect(history.stdout.contains("#2 ") && history.stdout.contains("#1 "), "\(history.stdout)")
            } catch {
                _ = try? await Command.docker("volume", "rm", "-f", state)
                _ = try? await Command.docker("rmi", tag)
                throw error
            }
            _ = try? await Command.docker("volume", "rm", "-f", state)
            _ = try? await Command.docker("rmi", tag)
        }
    }

    /// The unit file is one systemd accepts as written (keys, sections, sandboxing options).
    @Test func systemdUnitVerifies() async throws {
        let unit = try String(contentsOf: CLITests.repository.appendingPathComponent("deploy/berth.service"), encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/local/bin/berth watch"))
        #expect(unit.contains("Restart=on-failure"))
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("berth-unit-\(UInt32.random(in: 0...UInt32.max))/berth.service")
        try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: copy.deletingLastPathComponent()) }
        try unit.replacingOccurrences(of: "/usr/local/bin/berth", with: BerthBinary.path).write(to: copy, atomically: true, encoding: .utf8)
        let verify = try await Command.run("systemd-analyze", ["verify", copy.path])
        #expect(verify.status == 0 && verify.stderr.isEmpty && verify.stdout.isEmpty, "\(verify.stdout)\(verify.stderr)")
    }
}

import BerthTesting
import Foundation
import Testing

/// A secret's value goes into the container and nowhere else: not stdout or stderr of any
/// command (human or `--json`), not the watch log, not the SQLite file or its WAL. The Engine
/// socket path is not printed either. The same for a secret kept age-encrypted (made by Debian's
/// `age`), which Berth decrypts in memory.
@Suite struct SecretLeakTests {
    @Test func secretValuesAndTheSocketPathAppearNowhere() async throws {
        try await TestStack.with("s") { stack in
            let secret = "s3cr3t-\(UInt32.random(in: 100_000...999_999))-value"
            let sealed = "s34l3d-\(UInt32.random(in: 100_000...999_999))-value"
            func manifests(_ mode: String) -> String {
                """
                kind: Stack
                name: {{stack}}
                default_environment: prod
                ---
                kind: Environment
                name: prod
                variables: {MODE: \(mode)}
                secrets: {API_TOKEN: {file: token.txt}, DB_PASS: {age: db.age}}
                ---
                kind: Service
                name: web
                image: \(TestStack.baseImage)
                init: true
                command: [sh, -c, "echo token is $$API_TOKEN $$DB_PASS; exec sleep 600"]
                environment: {API_TOKEN: "${API_TOKEN}", DB_PASS: "${DB_PASS}", MODE: "${MODE}", URL: "https://user:${API_TOKEN}@example.invalid/"}
                hooks: [{name: show, command: [sh, -c, "echo hook sees $$API_TOKEN $$DB_PASS"]}]
                """
            }
            try stack.write("token.txt", secret + "\n")
            let identity = stack.directory.appendingPathComponent("host.key").path
            #expect(try await Command.run("age-keygen", ["-o", identity]).status == 0)
            let recipient = try await Command.run("age-keygen", ["-y", identity]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try stack.write("db.age", try await Command.run("age", ["-a", "-r", recipient], stdin: Data(sealed.utf8)).stdout)
            try stack.write("stack.yaml", manifests("one"))
            var environment = stack.berthEnvironment
            environment["DOCKER_HOST"] = "unix:///var/run/docker.sock"
            environment["BERTH_AGE_IDENTITY"] = identity
            let directory = stack.directory.path
            var outputs: [String] = []
            for json in [false, true] {
                let flag = json ? ["--json"] : []
                try stack.write("stack.yaml", manifests(json ? "two" : "one"))
                for command in [["plan", directory], ["apply", directory], ["status", directory], ["render", directory], ["history"]] {
                    let result = try await Command.run(BerthBinary.path, command + flag, environment: environment)
                    #expect(result.status == 0, "\(command): \(result.stderr)")
                    outputs.append(result.stdout + result.stderr)
                }
            }
            // The container did get the value (so the test would see a leak if there were one).
            let env = try await Command.docker("inspect", "-f", "{{json .Config.Env}}", "\(stack.name)-web")
            #expect(env.contains(secret) && env.contains(sealed))

            // watch repairs a removed container and logs what it did.
            let watch = Process()
            watch.executableURL = URL(fileURLWithPath: BerthBinary.path)
            watch.arguments = ["watch", directory, "--resync", "1"]
            watch.environment = environment
            #expect(watch.environment?["BERTH_AGE_IDENTITY"] != nil)
            let log = stack.directory.appendingPathComponent("watch.log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            watch.standardOutput = handle
            watch.standardError = handle
            try watch.run()
            try await Task.sleep(for: .seconds(2))
            _ = try await Command.docker("rm", "-f", "\(stack.name)-web")
            for _ in 0..<600 where (try? await stack.containers().first?.state) != "running" { try await Task.sleep(for: .milliseconds(100)) }
            try await Task.sleep(for: .seconds(1))
            watch.terminate()
            watch.waitUntilExit()
            try handle.close()
            let watched = try String(contentsOf: log, encoding: .utf8)
            try ProcessCrashed.check(watch, command: "berth watch", output: watched)
            #expect(watched.contains("create container \(stack.name)-web"), "\(watched)")
            outputs.append(watched)

            let everything = outputs.joined(separator: "\n")
            #expect(everything.contains("API_TOKEN"))
            #expect(!everything.contains(secret) && !everything.contains(sealed))
            #expect(!everything.contains("docker.sock"))
            for suffix in ["", "-wal", "-shm"] {
                guard let bytes = FileManager.default.contents(atPath: stack.statePath + suffix) else { continue }
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "state\(suffix) holds the secret")
                #expect(bytes.range(of: Data(sealed.utf8)) == nil, "state\(suffix) holds the decrypted secret")
            }
        }
    }
}

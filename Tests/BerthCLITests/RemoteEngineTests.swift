import BerthTesting
import Foundation
import Testing

/// `DOCKER_HOST=tcp://…` with `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`, against a second
/// dockerd on 127.0.0.1 that only accepts clients holding a certificate from the test's own CA.
@Suite struct RemoteEngineTests {
    @Test func appliesOverTLSWithClientCertificates() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-tls-\(UInt32.random(in: 0...UInt32.max))")
        let script = CLITests.repository.appendingPathComponent("scripts/tls-engine").path
        let up = try await Command.run(script, ["up", root.path])
        do {
            try #require(up.status == 0, "\(up.stderr)")
            try await applyAndRefuse(port: up.stdout.trimmingCharacters(in: .whitespacesAndNewlines), root: root)
        } catch {
            _ = try? await Command.run(script, ["down", root.path])
            throw error
        }
        _ = try await Command.run(script, ["down", root.path])
    }

    func applyAndRefuse(port: String, root: URL) async throws {
        let certs = root.appendingPathComponent("certs").path

        var remote = ProcessInfo.processInfo.environment
        remote["DOCKER_HOST"] = "tcp://127.0.0.1:\(port)"
        remote["DOCKER_TLS_VERIFY"] = "1"
        remote["DOCKER_CERT_PATH"] = certs
        remote["BERTH_STATE"] = root.appendingPathComponent("state.db").path
        let archive = root.appendingPathComponent("base.tar").path
        _ = try await Command.docker("save", "-o", archive, TestStack.baseImage)
        let loaded = try await Command.run("docker", ["load", "-i", archive], environment: remote)
        try #require(loaded.status == 0, "\(loaded.stderr)")

        let stack = "tls\(UInt16.random(in: 0...UInt16.max))"
        let manifests = root.appendingPathComponent("manifests")
        try FileManager.default.createDirectory(at: manifests, withIntermediateDirectories: true)
        try """
        kind: Stack
        name: \(stack)
        ---
        kind: Volume
        name: data
        ---
        kind: Service
        name: web
        image: \(TestStack.baseImage)
        init: true
        command: [httpd, -f, -p, "80", -h, /data]
        volumes: ["data:/data"]
        """.write(to: manifests.appendingPathComponent("stack.yaml"), atomically: true, encoding: .utf8)

        let apply = try await Command.run(BerthBinary.path, ["apply", manifests.path], environment: remote)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(apply.stdout.contains("create container \(stack)-web"))
        let remotePS = try await Command.run(
            "docker", ["ps", "--filter", "label=berth.stack=\(stack)", "--format", "{{.Names}}"], environment: remote)
        #expect(remotePS.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(stack)-web")
        #expect(try await Command.docker("ps", "-a", "--filter", "label=berth.stack=\(stack)", "-q").isEmpty)
        let again = try await Command.run(BerthBinary.path, ["apply", manifests.path, "--json"], environment: remote)
        #expect(again.status == 0)
        #expect(again.stdout.contains("\"outcome\" : \"in-sync\""), "\(again.stdout)")

        // Without the client certificate, with a CA that did not sign the Engine's certificate,
        // or without TLS at all, nothing is done; messages name the file's role, never the path.
        let lonely = root.appendingPathComponent("ca-only")
        try FileManager.default.createDirectory(at: lonely, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: certs + "/ca.pem", toPath: lonely.appendingPathComponent("ca.pem").path)
        let strange = root.appendingPathComponent("wrong-ca")
        try FileManager.default.createDirectory(at: strange, withIntermediateDirectories: true)
        for file in ["cert.pem", "key.pem"] {
            try FileManager.default.copyItem(atPath: certs + "/" + file, toPath: strange.appendingPathComponent(file).path)
        }
        try FileManager.default.copyItem(atPath: certs + "/cert.pem", toPath: strange.appendingPathComponent("ca.pem").path)
        var plain = remote
        plain["DOCKER_TLS_VERIFY"] = nil
        let key = try String(contentsOfFile: certs + "/key.pem", encoding: .utf8)
        let cases: [(String?, [String: String], String)] = [
            (lonely.path, remote, "the client certificate (cert.pem in DOCKER_CERT_PATH) cannot be read"),
            (strange.path, remote, "cannot reach the Docker Engine"),
            (nil, plain, "Client sent an HTTP request to an HTTPS server"),
        ]
        for (path, base, message) in cases {
            var environment = base
            if let path { environment["DOCKER_CERT_PATH"] = path }
            let refused = try await Command.run(BerthBinary.path, ["apply", manifests.path], environment: environment)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains(message), "\(refused.stderr)")
            for output in [refused.stdout, refused.stderr] {
                #expect(!output.contains(root.path))
                #expect(!output.contains(key.split(separator: "\n")[1]))
            }
        }
        let down = try await Command.run(BerthBinary.path, ["down", manifests.path], environment: remote)
        #expect(down.status == 0, "\(down.stderr)")
    }
}

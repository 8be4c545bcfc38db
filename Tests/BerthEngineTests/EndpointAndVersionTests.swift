import BerthEngine
import Testing

@Suite struct EndpointAndVersionTests {
    @Test func dockerHostParsing() throws {
        #expect(try EngineEndpoint.fromEnvironment([:]) == .unixSocket(path: "/var/run/docker.sock"))
        #expect(try EngineEndpoint.fromEnvironment(["DOCKER_HOST": "unix:///tmp/d.sock"]) == .unixSocket(path: "/tmp/d.sock"))
        #expect(try EngineEndpoint.fromEnvironment(["DOCKER_HOST": "tcp://127.0.0.1:2375"]) == .tcp(host: "127.0.0.1", port: 2375, tls: nil))
        let tls = try EngineEndpoint.fromEnvironment(["DOCKER_HOST": "tcp://127.0.0.1", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs"])
        #expect(
            tls
                == .tcp(
                    host: "127.0.0.1", port: 2376,
                    tls: .init(caCertificate: "/certs/ca.pem", certificate: "/certs/cert.pem", privateKey: "/certs/key.pem")))
        #expect(!tls.description.contains("/certs"))
        #expect(throws: EngineError.self) { try EngineEndpoint.fromEnvironment(["DOCKER_HOST": "ssh://host"]) }
    }

    @Test(arguments: [("1.41", "1.41"), ("1.43", "1.43"), ("1.50", "1.50"), ("1.55", "1.55"), ("1.56", "1.55")])
    func negotiation(_ server: String, _ expected: String) throws {
        let version = try DockerClient.negotiate(server: EngineVersion(version: "x", apiVersion: server, minAPIVersion: "1.12"))
        #expect(version.description == expected)
    }

    @Test func refusesOldEngines() {
        #expect(throws: EngineError.self) {
            try DockerClient.negotiate(server: EngineVersion(version: "19.03", apiVersion: "1.40", minAPIVersion: "1.12"))
        }
    }

    /// Docker 29.0 speaks 1.44 to 1.52, 29.6 up to 1.55: Berth uses each one's highest. An Engine
    /// that has dropped every version Berth speaks is refused.
    @Test func newerEngines() throws {
        #expect(try DockerClient.negotiate(server: EngineVersion(version: "29.0.4", apiVersion: "1.52", minAPIVersion: "1.44")).description == "1.52")
        #expect(try DockerClient.negotiate(server: EngineVersion(version: "29.6.0", apiVersion: "1.55", minAPIVersion: "1.40")).description == "1.55")
        #expect(throws: EngineError.self) {
            try DockerClient.negotiate(server: EngineVersion(version: "31.0", apiVersion: "1.60", minAPIVersion: "1.56"))
        }
    }

    @Test func imageReferences() {
        #expect(ImageReference.split("app") == ("app", "latest"))
        #expect(ImageReference.split("127.0.0.1:5000/app:2") == ("127.0.0.1:5000/app", "2"))
        #expect(ImageReference.split("127.0.0.1:5000/app") == ("127.0.0.1:5000/app", "latest"))
        #expect(ImageReference.split("app@sha256:abc") == ("app@sha256:abc", nil))
    }
}

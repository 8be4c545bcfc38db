import BerthModel
import Foundation
import Testing

/// Native manifests and Compose files read the service fields they share through one reader:
/// the same fields give the same container, and a check on one is a check on the other.
@Suite struct ServiceFieldsTests {
    /// The same service, written once in each dialect (the fields both have, in both forms).
    static let fields = [
        "build: {context: ./app, dockerfile: Containerfile, args: {V: \"1\"}}",
        "command: [serve, --port, \"80\"]",
        "entrypoint: /bin/entry",
        "hostname: web-host",
        "ports: [\"127.0.0.1:8080:80\", {target: 443, published: 8443, protocol: tcp}]",
        "volumes: [\"data:/data\", {type: bind, source: /srv/static, target: /static, read_only: true}]",
        "networks: {front: {aliases: [www], ipv4_address: 10.9.0.10}}",
        "healthcheck: {test: [CMD, \"true\"], interval: 2s, timeout: 1s, start_period: 3s, retries: 4}",
        "restart: on-failure:3",
        "depends_on: {db: {condition: service_healthy}}",
        "labels: {tier: front}",
        "init: true",
        "stop_grace_period: 15s",
        "user: \"1000\"",
        "working_dir: /srv",
    ]

    static func native(_ fields: [String], gateway: String = "") -> String {
        """
        kind: Stack
        name: p
        ---
        kind: Service
        name: web
        container_name: p-web-1
        image: app:1
        \(fields.joined(separator: "\n"))
        ---
        kind: Service
        name: db
        container_name: p-db-1
        image: db:1
        healthcheck: {test: [CMD, "true"]}
        ---
        kind: Volume
        name: data
        engine_name: p_data
        ---
        kind: Network
        name: front
        engine_name: p_front
        ipam: {subnet: 10.9.0.0/24\(gateway)}
        """
    }

    static func compose(_ fields: [String], gateway: String = "") -> String {
        """
        services:
          web:
            image: app:1
        \(fields.map { "    " + $0 }.joined(separator: "\n"))
          db:
            image: db:1
            healthcheck: {test: [CMD, "true"]}
        volumes: {data: {}}
        networks: {front: {ipam: {config: [{subnet: 10.9.0.0/24\(gateway)}]}}}
        """
    }

    static func both(_ fields: [String]) throws -> (native: DesiredState, compose: DesiredState) {
        let native = try Fixtures.inline(["s.yaml": native(fields)])
        let project = try ComposeTests.load(["compose.yaml": compose(fields)], projectName: "p")
        return (native, try ComposeTests.resolve(project))
    }

    @Test func sharedFieldsGiveTheSameContainer() throws {
        let (native, compose) = try Self.both(Self.fields)
        var fromNative = try #require(native.container("web"))
        var fromCompose = try #require(compose.container("web"))
        // Only where the stacks were read from differs: Compose resolves a relative build
        // context against its project directory, native manifests against theirs.
        fromNative.build?.context = ""
        fromCompose.build?.context = ""
        #expect(fromNative == fromCompose)
        #expect(fromNative.restart == .onFailure(maxRetries: 3))
        #expect(fromNative.dependsOn.map(\.condition) == [.healthy])
    }

    /// A check written once applies to both: a gateway outside its subnet is refused in each.
    @Test func gatewayOutsideItsSubnetIsRefusedInBoth() throws {
        let (_, errors) = ManifestParser.parse(files: ["s.yaml": Self.native([], gateway: ", gateway: 10.8.0.1")], directory: "/stacks/p")
        #expect(errors.contains { $0.description.contains("gateway 10.8.0.1 is outside subnet 10.9.0.0/24") }, "\(errors)")
        let message = ComposeTests.loadError(["compose.yaml": Self.compose([], gateway: ", gateway: 10.8.0.1")])
        #expect(message.contains("gateway 10.8.0.1 is outside subnet 10.9.0.0/24"), "\(message)")
    }

    /// `test: [NONE]` and `disable: true` mean the same in both dialects, with the same hash.
    @Test func aDisabledHealthcheckIsOneValue() throws {
        for form in ["healthcheck: {disable: true}", "healthcheck: {test: [NONE], interval: 5s}"] {
            let (native, compose) = try Self.both([form])
            #expect(native.container("web")?.healthcheck == .disabled, "\(form)")
            #expect(compose.container("web")?.healthcheck == .disabled, "\(form)")
            #expect(native.container("web")?.specHash == compose.container("web")?.specHash)
        }
    }
}

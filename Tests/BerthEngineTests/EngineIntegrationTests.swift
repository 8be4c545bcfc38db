import BerthEngine
import BerthTesting
import Foundation
import Testing

/// Runs `body` with a connected client and a unique label; removes everything carrying the label
/// afterwards, also when the body fails.
func withEngine(_ body: (DockerClient, String) async throws -> Void) async throws {
    let client = try await DockerClient.connect()
    let tag = "e" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    let label = ["berth.test=\(tag)"]
    func cleanup() async {
        for container in (try? await client.listContainers(labels: label, all: true)) ?? [] {
            try? await client.removeContainer(container.id, force: true, volumes: true)
        }
        for network in (try? await client.listNetworks(labels: label)) ?? [] { try? await client.removeNetwork(network.id) }
        for volume in (try? await client.listVolumes(labels: label)) ?? [] { try? await client.removeVolume(volume.name, force: true) }
    }
    do {
        try await body(client, tag)
        await cleanup()
        try await client.shutdown()
    } catch {
        await cleanup()
        try? await client.shutdown()
        throw error
    }
}

/// Creates and starts a labelled container that just sleeps; returns its id.
func startSleeper(_ client: DockerClient, tag: String, name: String) async throws -> String {
    var request = ContainerCreateRequest(image: TestStack.baseImage)
    request.cmd = ["sleep", "60"]
    request.labels = ["berth.test": tag]
    let id = try await client.createContainer(name: name, request)
    try await client.startContainer(id)
    return id
}

/// A loopback port nothing listens on right now.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

@Suite(.serialized) struct EngineIntegrationTests {
    @Test func negotiatesTheHighestCommonVersion() async throws {
        try await withEngine { client, _ in
            if client.engineVersion.hasPrefix("20.10") { #expect(client.apiVersion == APIVersion(1, 41)) }
            #expect(client.apiVersion >= DockerClient.minimumAPIVersion)
            #expect(client.apiVersion <= DockerClient.maximumAPIVersion)
        }
    }

    @Test func containerLifecycleWithEverythingAReconcilerSets() async throws {
        try await withEngine { client, tag in
            let labels = ["berth.test": tag]
            let network = "\(tag)-net"
            _ = try await client.createNetwork(NetworkCreateRequest(name: network, driver: "bridge", internal: false, labels: labels, ipam: nil))
            let volume = "\(tag)-data"
            try await client.createVolume(name: volume, labels: labels)
            let port = freePort()

            var request = ContainerCreateRequest(image: TestStack.baseImage)
            request.cmd = ["sh", "-c", "echo \"$GREETING\" > /www/index.html && echo kept > /data/file && exec httpd -f -p 80 -h /www"]
            request.env = ["GREETING=hello from berth"]
            request.labels = labels.merging(["berth.service": "web"]) { a, _ in a }
            request.exposedPorts = ["80/tcp": .init()]
            request.hostConfig.portBindings = ["80/tcp": [PortBinding(hostIp: "127.0.0.1", hostPort: String(port))]]
            request.hostConfig.restartPolicy = RestartPolicy(name: "unless-stopped")
            request.hostConfig.mounts = [.init(type: "volume", source: volume, target: "/data", readOnly: false)]
            request.hostConfig.initProcess = true
            request.hostConfig.networkMode = network
            request.networkingConfig = .init(endpointsConfig: [network: EndpointRequest(aliases: ["web-alias"])])
            let id = try await client.createContainer(name: "\(tag)-web", request)
            try await client.startContainer(id)
            try await client.startContainer(id)  // starting a running container is not an error

            let details = try await client.inspectContainer(id)
            #expect(details.state.running)
            #expect(details.name == "/\(tag)-web")
            #expect(details.config.labels?["berth.service"] == "web")
            #expect(details.config.env?.contains("GREETING=hello from berth") == true)
            #expect(details.hostConfig.restartPolicy?.name == "unless-stopped")
            #expect(details.hostConfig.portBindings?["80/tcp"]?.first?.hostPort == String(port))
            #expect(details.mounts.first?.name == volume)
            #expect(details.networkSettings.networks[network]?.aliases?.contains("web-alias") == true)

            // Reachable on the published loopback port and, by alias, from its network.
            var body = ""
            for _ in 0..<300 {
                let result = try await Command.run("busybox", ["wget", "-q", "-O", "-", "http://127.0.0.1:\(port)/"])
                if result.status == 0 { body = result.stdout; break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(body == "hello from berth\n")
            var probe = ContainerCreateRequest(image: TestStack.baseImage)
            probe.cmd = ["sleep", "30"]
            probe.labels = labels
            probe.hostConfig.networkMode = network
            let probeID = try await client.createContainer(name: "\(tag)-probe", probe)
            try await client.startContainer(probeID)
            let fetched = try await client.exec(["timeout", "5", "wget", "-q", "-O", "-", "http://web-alias/"], in: probeID)
            #expect(fetched.exitCode == 0)
            #expect(fetched.stdout == "hello from berth\n")
            try await client.killContainer(probeID)
            #expect(try await client.waitContainer(probeID).statusCode == 137)

            try await client.stopContainer(id, timeout: 5)
            #expect(try await client.inspectContainer(id).state.running == false)
            try await client.renameContainer(id, to: "\(tag)-renamed")
            #expect(try await client.listContainers(labels: ["berth.test=\(tag)", "berth.service=web"]).first?.name == "\(tag)-renamed")
            try await client.removeContainer(id)
            #expect(try await client.listVolumes(labels: ["berth.test=\(tag)"]).map(\.name) == [volume])
        }
    }

    @Test func networkWithPinnedSubnetReportsItsGateway() async throws {
        try await withEngine { client, tag in
            let ipam = NetworkDetails.IPAM(config: [IPAMConfig(subnet: "10.255.250.0/24", gateway: "10.255.250.1")])
            let id = try await client.createNetwork(
                NetworkCreateRequest(name: "\(tag)-pinned", driver: "bridge", internal: false, labels: ["berth.test": tag], ipam: ipam))
            let details = try await client.inspectNetwork(id)
            #expect(details.ipam.config?.first?.subnet == "10.255.250.0/24")
            #expect(details.ipam.config?.first?.gateway == "10.255.250.1")
            #expect(details.labels["berth.test"] == tag)
            #expect(try await client.listNetworks(labels: ["berth.test=\(tag)"]).map(\.name) == ["\(tag)-pinned"])
        }
    }

    @Test func eventStreamDeliversDestroyByAnotherClient() async throws {
        try await withEngine { client, tag in
            let id = try await startSleeper(client, tag: tag, name: "\(tag)-doomed")
            // `since` makes the Engine replay from before the removal: no race with subscribing.
            let since = String(Int(Date().timeIntervalSince1970) - 1)
            let events = client.events(filters: ["label": ["berth.test=\(tag)"], "type": ["container"]], since: since)
            let watcher = Task { () -> EngineEvent? in
                for try await event in events where event.action == "destroy" { return event }
                return nil
            }
            try await Command.docker("rm", "-f", id)
            let timeout = Task {
                try await Task.sleep(for: .seconds(60))
                watcher.cancel()
            }
            let event = try await watcher.value
            timeout.cancel()
            #expect(event?.actor.id == id)
            #expect(event?.actor.attributes["name"] == "\(tag)-doomed")
        }
    }

    @Test func cancellingTheConsumerEndsTheEventStream() async throws {
        try await withEngine { client, tag in
            let events = client.events(filters: ["label": ["berth.test=\(tag)"]])
            let consumer = Task { for try await _ in events {} }
            try await Task.sleep(for: .milliseconds(200))
            consumer.cancel()
            _ = await consumer.result  // returns instead of hanging
        }
    }

    @Test func buildsAnImageFromAScratchContext() async throws {
        try await withEngine { client, tag in
            var context = TarArchive()
            context.addFile("Dockerfile", contents: Data("FROM scratch\nCOPY hello.txt /hello.txt\nLABEL berth.test=\(tag)\n".utf8))
            context.addFile("hello.txt", contents: Data("hi\n".utf8))
            let lines = LineBox()
            let id = try await client.buildImage(context: context.archive, tag: "berth-test/\(tag):1") { message in
                if let line = message.stream { lines.append(line) }
            }
            defer { Task { try? await client.removeImage(id, force: true) } }
            let image = try await client.inspectImage("berth-test/\(tag):1")
            #expect(image.id == id)
            #expect(image.labels["berth.test"] == tag)
            #expect(lines.joined.contains("COPY hello.txt"))
        }
    }

    @Test func importsARootFilesystem() async throws {
        try await withEngine { client, tag in
            var rootfs = TarArchive()
            rootfs.addDirectory("etc")
            rootfs.addFile("etc/motd", contents: Data("imported\n".utf8))
            let id = try await client.importImage(rootfs: rootfs.archive, repository: "berth-test/\(tag)-import", tag: "1")
            #expect(try await client.inspectImage("berth-test/\(tag)-import:1").id == id)
            try await client.removeImage(id, force: true)
        }
    }

    @Test func errorsCarryTheStatusAsATypedCase() async throws {
        try await withEngine { client, tag in
            do {
                _ = try await client.inspectContainer("\(tag)-does-not-exist")
                Issue.record("expected 404")
            } catch let error as EngineError {
                #expect(error.is(.notFound))
                #expect(error.status == 404)
                #expect(error.message.contains("No such container"))
            }
            var request = ContainerCreateRequest(image: TestStack.baseImage)
            request.labels = ["berth.test": tag]
            _ = try await client.createContainer(name: "\(tag)-taken", request)
            do {
                _ = try await client.createContainer(name: "\(tag)-taken", request)
                Issue.record("expected 409")
            } catch let error as EngineError {
                #expect(error.is(.conflict))
                #expect(error.message.contains("already in use"))
            }
        }
    }

    @Test func execReportsExitCodeAndOutput() async throws {
        try await withEngine { client, tag in
            let id = try await startSleeper(client, tag: tag, name: "\(tag)-exec")
            let result = try await client.exec(["sh", "-c", "echo out; echo err >&2; exit 3"], in: id)
            #expect(result == ExecResult(exitCode: 3, stdout: "out\n", stderr: "err\n"))
        }
    }
}

/// Collects stream lines from a `@Sendable` progress callback.
final class LineBox: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var joined: String { lock.lock(); defer { lock.unlock() }; return lines.joined() }
}

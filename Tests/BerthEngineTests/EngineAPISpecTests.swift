import BerthEngine
import BerthTesting
import Foundation
import Testing

/// Berth's decoders, and the decisions built on them, over the Engine's published specification of
/// every API version Berth negotiates (Fixtures/engine-api/v1.NN.json, made by
/// scripts/engine-api-spec from moby's swagger files) and over answers of the real Engines here
/// (Fixtures/engine-api/captured, made by scripts/engine-api-capture).
@Suite struct EngineAPISpecTests {
    static let directory = BerthBinary.repository.appendingPathComponent("Tests/BerthEngineTests/Fixtures/engine-api")
    static let versions = (DockerClient.minimumAPIVersion.minor...DockerClient.maximumAPIVersion.minor).map { "1.\($0)" }

    /// One version's schemas and examples.
    struct Spec {
        let version: String
        let schema: JSONSchema
        let document: [String: Any]

        init(_ version: String) throws {
            let url = EngineAPISpecTests.directory.appendingPathComponent("v\(version).json")
            self.version = version
            schema = try JSONSchema(contentsOf: url)
            document = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        }

        func example(_ name: String) -> Any { (document["examples"] as? [String: Any])?[name] ?? NSNull() }

        /// Whether the version's `definition` has `property`, as the spec says.
        func defines(_ definition: String, _ property: String) -> Bool {
            let definitions = document["$defs"] as? [String: Any]
            return ((definitions?[definition] as? [String: Any])?["properties"] as? [String: Any])?[property] != nil
        }

        /// `value` conforms to the response or request `name`; closed: no key the version lacks.
        func expectConforms(_ value: Any, _ name: String, closed: Bool = true, _ location: SourceLocation = #_sourceLocation) {
            let violations = schema.violations(of: value, definition: name, closed: closed)
            #expect(violations.isEmpty, "v\(version) \(name): \(violations.prefix(8))", sourceLocation: location)
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ value: Any) throws -> T {
        try JSONDecoder().decode(type, from: JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]))
    }

    static func patched(_ value: Any, _ change: (inout [String: Any]) -> Void) -> [String: Any] {
        var object = value as? [String: Any] ?? [:]
        change(&object)
        return object
    }

    /// The spec's example of every answer Berth reads decodes, and keeps what the example says.
    @Test(arguments: versions) func examplesOfEveryAnswerDecode(version: String) throws {
        let spec = try Spec(version)
        let answers = (spec.document["examples"] as? [String: Any])?.keys.sorted() ?? []
        #expect(answers.count == 15, "every answer Berth reads has an example")
        for name in answers { spec.expectConforms(spec.example(name), "response:" + name) }
        // Answers read by internal types: the fields they decode are still there.
        for name in ["containerCreate", "networkCreate", "execCreate"] {
            #expect((spec.example(name) as? [String: Any])?["Id"] is String, "v\(version) \(name).Id")
        }
        #expect(((spec.example("distributionInspect") as? [String: Any])?["Descriptor"] as? [String: Any])?["digest"] is String)
        #expect((spec.example("volumeList") as? [String: Any])?["Volumes"] is [Any])
        #expect(try Self.decode(WaitResponse.self, spec.example("containerWait")).statusCode == 0)
        _ = try Self.decode(ExecDetails.self, spec.example("execInspect"))
        let row = try #require((spec.example("containerList") as? [Any])?.first as? [String: Any])
        let summary = try Self.decode(ContainerSummary.self, row)
        #expect(summary.id == row["Id"] as? String && summary.imageID == row["ImageID"] as? String)
        #expect(summary.labels == row["Labels"] as? [String: String])
        #expect(summary.state == row["State"] as? String)

        let inspect = spec.example("containerInspect") as? [String: Any] ?? [:]
        let details = try Self.decode(ContainerDetails.self, inspect)
        #expect(details.id == inspect["Id"] as? String && details.image == inspect["Image"] as? String)
        #expect(details.state.running == (inspect["State"] as? [String: Any])?["Running"] as? Bool)

        let image = spec.example("imageInspect") as? [String: Any] ?? [:]
        let imageDetails = try Self.decode(ImageDetails.self, image)
        #expect(imageDetails.id == image["Id"] as? String && imageDetails.repoDigests == image["RepoDigests"] as? [String])

        let network = try Self.decode(NetworkDetails.self, spec.example("networkInspect"))
        #expect(network.name == (spec.example("networkInspect") as? [String: Any])?["Name"] as? String)
        #expect(try Self.decode([NetworkDetails].self, spec.example("networkList")).count == (spec.example("networkList") as? [Any])?.count)
        #expect(try Self.decode(VolumeDetails.self, spec.example("volumeInspect")).name.isEmpty == false)

        let event = try Self.decode(EngineEvent.self, spec.example("event"))
        #expect(event.type == "container" && !event.action.isEmpty && !event.actor.id.isEmpty)

        let version = try Self.decode(EngineVersion.self, spec.example("version"))
        #expect(APIVersion(version.apiVersion) != nil)
    }

    /// Health in the container list: the structured `Health` where the version has it (1.52 on),
    /// the `Status` text before. The structured field wins over a text worded otherwise.
    @Test(arguments: versions) func healthInTheListAsTheVersionGivesIt(version: String) throws {
        let spec = try Spec(version)
        let structured = spec.defines("ContainerSummary", "Health")
        #expect(structured == (APIVersion(version)! >= APIVersion(1, 52)), "the spec adds Health to the list in 1.52")
        let base = try #require((spec.example("containerList") as? [Any])?.first)
        // (status text, structured health, what Berth reads)
        let cases: [(String, String?, String?)] = [
            ("Up 3 minutes (healthy)", "healthy", "healthy"),
            ("Up 3 minutes (unhealthy)", "unhealthy", "unhealthy"),
            ("Up 2 seconds (health: starting)", "starting", "starting"),
            ("Up 3 minutes", "none", nil),
            ("Exited (0) 2 minutes ago", "none", nil),
            // An Engine that words the text otherwise: only the structured field tells.
            ("En marche depuis 3 minutes (en mauvaise santé)", "unhealthy", structured ? "unhealthy" : nil),
        ]
        for (text, health, expected) in cases {
            let row = Self.patched(base) { row in
                row["Status"] = text
                row["Health"] = structured ? health.map { ["Status": $0, "FailingStreak": 0] } : nil
            }
            spec.expectConforms([row], "response:containerList")
            #expect(try Self.decode(ContainerSummary.self, row).health == expected, "v\(version): \(text)")
        }
    }

    /// A container create body with every field Berth can send uses only fields the version
    /// defines, with the types it defines; so does a network create body.
    @Test(arguments: versions) func requestsUseOnlyWhatTheVersionDefines(version: String) throws {
        let spec = try Spec(version)
        let api = try #require(APIVersion(version))
        let request = Self.everyField()
        #expect(Self.unsetFields(request).isEmpty, "set every field here, so that the check covers it: \(Self.unsetFields(request))")
        let body = try JSONSerialization.jsonObject(with: JSONEncoder().encode(request))
        spec.expectConforms(body, "request:containerCreate")
        var unknown = body as? [String: Any] ?? [:]
        unknown["HostConfig"] = Self.patched(unknown["HostConfig"] ?? [:]) { $0["NoSuchField"] = 1 }
        #expect(!spec.schema.violations(of: unknown, definition: "request:containerCreate", closed: true).isEmpty, "a field the spec lacks is seen")

        let network = NetworkCreateRequest(
            name: "shop_default", driver: "bridge", internal: true, labels: ["berth.stack": "shop"],
            ipam: .init(config: [IPAMConfig(subnet: "10.5.0.0/24", gateway: "10.5.0.1")])
        ).forAPI(api)
        let networkBody = try JSONSerialization.jsonObject(with: JSONEncoder().encode(network)) as? [String: Any] ?? [:]
        spec.expectConforms(networkBody, "request:networkCreate")
        // Deprecated in 1.44, where a duplicate name always fails: sent only before.
        #expect((networkBody["CheckDuplicate"] != nil) == (api < APIVersion(1, 44)))
    }

    /// The answers of the real Engines here conform to the spec of the version they were asked
    /// at (the spec leaves objects open: Engines add fields) and decode.
    @Test func answersOfRealEnginesConformAndDecode() throws {
        let captured = Self.directory.appendingPathComponent("captured")
        let files = try FileManager.default.contentsOfDirectory(atPath: captured.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(files.contains { $0.hasPrefix("docker-") } && files.contains { $0.hasPrefix("podman-") })
        for file in files {
            let document = try JSONSerialization.jsonObject(with: Data(contentsOf: captured.appendingPathComponent(file))) as? [String: Any] ?? [:]
            let spec = try Spec(try #require(document["api"] as? String))
            let answers = document["answers"] as? [String: Any] ?? [:]
            for (name, answer) in answers where name != "events" {
                let violations = spec.schema.violations(of: answer, definition: "response:" + name)
                #expect(violations.isEmpty || Self.knownDeviations[file]?[name] == violations, "\(file) \(name): \(violations)")
            }
            let list = try Self.decode([ContainerSummary].self, answers["containerList"] ?? [])
            let details = try Self.decode(ContainerDetails.self, answers["containerInspect"] ?? [:])
            #expect(list.map(\.id) == [details.id], "\(file)")
            #expect(details.state.health?.status == "healthy", "\(file): the capture waits for healthy")
            #expect(list.first?.health == "healthy" || file.hasPrefix("podman-"), "\(file): Docker's list says health; Podman's only by filter")
            let image = try Self.decode(ImageDetails.self, answers["imageInspect"] ?? [:])
            #expect(list.first?.imageID == image.id, "\(file): the list's ImageID is the image's Id")
            _ = try Self.decode(NetworkDetails.self, answers["networkInspect"] ?? [:])
            _ = try Self.decode(VolumeDetails.self, answers["volumeInspect"] ?? [:])
            _ = try Self.decode(ExecDetails.self, answers["execInspect"] ?? [:])
            _ = try Self.decode(EngineVersion.self, answers["version"] ?? [:])
            let events = try Self.decode([EngineEvent].self, answers["events"] ?? [])
            for action in ["create", "start", "die"] {
                #expect(events.contains { $0.type == "container" && $0.action == action && $0.actor.id == details.id }, "\(file): \(action)")
            }
            for event in answers["events"] as? [Any] ?? [] {
                let violations = spec.schema.violations(of: event, definition: "response:event")
                #expect(violations.isEmpty || Self.knownDeviations[file]?["event"] == violations, "\(file) event: \(violations)")
            }
        }
    }

    /// Pull, push and build streams: `errorDetail.message`, which API 1.48 keeps while deprecating
    /// the `error` beside it; `error` alone from Engines that send only that.
    @Test func streamErrorsAreReadFromErrorDetail() throws {
        let cases: [(String, String?)] = [
            (#"{"errorDetail":{"message":"manifest unknown: tag 9"},"error":"manifest unknown"}"#, "manifest unknown: tag 9"),
            (#"{"errorDetail":{"message":"denied"}}"#, "denied"),
            (#"{"error":"pull access denied"}"#, "pull access denied"),
            (#"{"errorDetail":{},"error":""}"#, nil),
            (#"{"status":"Pulling fs layer","id":"abc","progressDetail":{}}"#, nil),
        ]
        for (line, expected) in cases {
            #expect(try JSONDecoder().decode(ProgressMessage.self, from: Data(line.utf8)).error == expected, "\(line)")
        }
    }

    /// Where a real Engine's answer breaks its spec, and Berth copes (checked above by decoding).
    static let knownDeviations: [String: [String: [String]]] = [
        // Unset, Docker sends null where the spec says integer; Berth does not read it.
        "docker-20.10.24.json": ["containerInspect": ["$.HostConfig.MemorySwappiness: null is not integer"]],
        // Podman leaves the cgroup namespace mode empty; Berth does not read it.
        "podman-4.3.1.json": ["containerInspect": ["$.HostConfig.CgroupnsMode: \"\" is not one of [\"private\", \"host\"]"]],
    ]

    /// A create body with every field set (the check above proves them all against each version).
    static func everyField() -> ContainerCreateRequest {
        var request = ContainerCreateRequest(image: "shop/web:1")
        request.cmd = ["serve"]
        request.entrypoint = ["/entry"]
        request.env = ["A=1"]
        request.labels = ["berth.stack": "shop"]
        request.hostname = "web"
        request.user = "1000:1000"
        request.workingDir = "/srv"
        request.exposedPorts = ["80/tcp": .init()]
        request.healthcheck = .init(test: ["CMD", "true"], interval: 1_000_000_000, timeout: 1_000_000_000, startPeriod: 0, retries: 3)
        request.stopTimeout = 10
        request.stopSignal = "SIGTERM"
        request.tty = false
        request.openStdin = false
        var host = ContainerCreateRequest.HostConfig()
        host.restartPolicy = RestartPolicy(name: "on-failure", maximumRetryCount: 3)
        host.portBindings = ["80/tcp": [PortBinding(hostIp: "127.0.0.1", hostPort: "8080")]]
        host.mounts = [.init(type: "volume", source: "shop_data", target: "/data", readOnly: false)]
        host.networkMode = "shop_default"
        host.initProcess = true
        host.extraHosts = ["db:10.0.0.5"]
        host.autoRemove = false
        host.binds = ["/srv/shop:/srv:ro"]
        host.capAdd = ["NET_ADMIN"]
        host.capDrop = ["MKNOD"]
        host.sysctls = ["net.core.somaxconn": "1024"]
        host.ipcMode = "private"
        host.memory = 1 << 28
        host.memoryReservation = 1 << 27
        host.nanoCpus = 500_000_000
        host.pidsLimit = 100
        host.volumesFrom = ["shop-data:ro"]
        host.links = ["shop-db:db"]
        host.runtime = "runc"
        host.privileged = false
        host.readonlyRootfs = true
        host.dns = ["10.0.0.2"]
        host.dnsSearch = ["shop.internal"]
        host.dnsOptions = ["ndots:2"]
        host.securityOpt = ["no-new-privileges"]
        host.shmSize = 1 << 26
        host.ulimits = [.init(name: "nofile", soft: 1024, hard: 2048)]
        host.pidMode = "host"
        host.groupAdd = ["audio"]
        host.devices = [.init(pathOnHost: "/dev/fuse", pathInContainer: "/dev/fuse", cgroupPermissions: "rwm")]
        host.oomScoreAdj = 100
        host.cpuShares = 512
        host.memorySwap = 1 << 29
        host.usernsMode = "host"
        host.logConfig = .init(type: "json-file", config: ["max-size": "10m"])
        request.hostConfig = host
        request.networkingConfig = .init(endpointsConfig: [
            "shop_default": EndpointRequest(aliases: ["web"], ipv4Address: "10.5.0.9", links: ["shop-db:db"])
        ])
        return request
    }

    /// The optional stored properties left nil, by path: a field added to the request and not to
    /// `everyField` would go unchecked.
    static func unsetFields(_ value: Any, at path: String = "") -> [String] {
        Mirror(reflecting: value).children.flatMap { child -> [String] in
            let name = path + "." + (child.label ?? "?")
            let inner = Mirror(reflecting: child.value)
            if inner.displayStyle == .optional {
                guard let wrapped = inner.children.first?.value else { return [name] }
                return Mirror(reflecting: wrapped).displayStyle == .struct ? unsetFields(wrapped, at: name) : []
            }
            return inner.displayStyle == .struct ? unsetFields(child.value, at: name) : []
        }
    }
}

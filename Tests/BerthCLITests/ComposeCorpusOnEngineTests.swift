import BerthModel
import BerthTesting
import Foundation
import Testing

/// Projects of the Compose corpus (Tests/ComposeCorpus) applied as they are by the release binary on
/// the real dockerd: every container carries what Docker Compose's own model of the project says
/// (command, environment, init, mounts, ports, stop signal, limits, Engine settings, network mode,
/// volumes from, links, volume driver options, secrets and configs written into it), a second apply
/// changes nothing, `down` removes them. A secret's value reaches no output and not the state file.
/// Their `alpine` is the local busybox image under that name (no registry here). Not part of the
/// Podman pass: Podman reports defaults of its own (stop signal, ulimits) for what was not set.
@Suite(.serialized) struct ComposeCorpusOnEngineTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ComposeCorpus")

    @Test(arguments: [
        "compose-e2e/config_hash", "compose-e2e/ups-deps-stop", "berth-cases/include-env", "berth-cases/extends-file",
        "berth-cases/shared-namespace", "berth-cases/written-files", "berth-cases/host-options",
    ])
    func convergesAsComposeResolvesIt(_ project: String) async throws {
        try await TestStack.with("corpus") { stack in
            try await stack.engine.tagImage(TestStack.baseImage, as: "alpine:latest")
            defer { Task { [engine = stack.engine] in try? await engine.removeImage("berth-case/extends-web:1", force: true) } }
            try FileManager.default.removeItem(at: stack.directory)
            try FileManager.default.copyItem(at: Self.corpus.appendingPathComponent(project), to: stack.directory)
            let model = try Self.model(of: stack)
            let files = try Self.files(of: stack).flatMap { ["-f", $0] }
            let project = files + ["-p", stack.name]

            let first = try await stack.berth(["apply"] + project + ["--json"])
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            let services = try #require(model["services"] as? [String: [String: Any]])
            let containers = try await stack.containers()
            #expect(containers.compactMap { $0.labels["berth.service"] }.sorted() == services.keys.sorted())
            let ids = Dictionary(uniqueKeysWithValues: containers.compactMap { c in c.labels["berth.service"].map { ($0, c.id) } })
            for container in containers {
                let name = try #require(container.labels["berth.service"])
                let inspected = try await Self.inspect(container.id)
                for difference in Self.differences(try #require(services[name]), inspected, ids: ids, services: services) {
                    Issue.record("\(project) \(name): \(difference)")
                }
            }
            for (name, file) in try Self.writtenFiles(model, directory: stack.directory) {
                let id = try #require(ids[name])
                let shown = try await Command.docker("exec", id, "stat", "-c", "%a %u:%g", file.target)
                #expect(shown.trimmingCharacters(in: .whitespacesAndNewlines) == file.stat, "\(name) \(file.target)")
                // Byte for byte: the digest of what the container holds (the docker CLI trims its output).
                let digest = try await Command.docker("exec", id, "sha256sum", file.target).split(separator: " ").first.map(String.init)
                #expect(digest == Digest.sha256Hex(file.content), "\(name) \(file.target)")
                if file.secret {
                    #expect(!first.stdout.contains(file.content) && !first.stderr.contains(file.content))
                    let state = try Data(contentsOf: URL(fileURLWithPath: stack.statePath))
                    #expect(state.range(of: Data(file.content.utf8)) == nil, "the secret is not in the state file")
                }
            }
            for (name, volume) in model["volumes"] as? [String: [String: Any]] ?? [:] {
                guard let options = volume["driver_opts"] as? [String: String] else { continue }
                let engineName = volume["name"] as? String ?? name
                let made = try await stack.engine.listVolumes(labels: ["berth.stack=\(stack.name)"]).first { $0.name.hasSuffix("_\(name)") }
                let inspected = try await Command.docker("volume", "inspect", try #require(made, "\(engineName)").name)
                let details = try JSONSerialization.jsonObject(with: Data(inspected.utf8)) as? [[String: Any]]
                #expect(details?.first?["Options"] as? [String: String] == options)
            }

            let again = try await stack.berth(["plan"] + project + ["--detailed-exitcode"])
            #expect(again.status == 0, "a second plan changes nothing: \(again.stdout)\(again.stderr)")
            // A container another one shares a namespace with, removed by hand, comes back, and so
            // does the sharer, in its new namespace.
            if let (sharer, target) = Self.sharing(services) {
                try await stack.engine.removeContainer(try #require(ids[target]), force: true)
                let repaired = try await stack.berth(["apply"] + project)
                #expect(repaired.status == 0, "\(repaired.stdout)\(repaired.stderr)")
                #expect(repaired.stdout.contains("shares the namespace or volumes of"), "\(repaired.stdout)")
                let now = try await stack.containers()
                let newTarget = try #require(now.first { $0.labels["berth.service"] == target })
                let newSharer = try #require(now.first { $0.labels["berth.service"] == sharer })
                let mode = (try await Self.inspect(newSharer.id)["HostConfig"] as? [String: Any])?["NetworkMode"] as? String
                #expect(mode == "container:\(newTarget.id)")
                #expect(newSharer.state == "running")
            }
            let down = try await stack.berth(["down"] + project)
            #expect(down.status == 0, "\(down.stdout)\(down.stderr)")
            #expect(try await stack.containers().isEmpty)
        }
    }

    /// Compose's model of the copied project, its `{{dir}}` made the copy's directory.
    static func model(of stack: TestStack) throws -> [String: Any] {
        let text = try String(contentsOf: stack.directory.appendingPathComponent("compose.model.json"), encoding: .utf8)
            .replacingOccurrences(of: "{{dir}}", with: stack.directory.path)
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func files(of stack: TestStack) throws -> [String] {
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: stack.directory.appendingPathComponent("corpus.json")))
        let files = try #require((meta as? [String: Any])?["files"] as? [String])
        return files.map { stack.directory.appendingPathComponent($0).path }
    }

    static func inspect(_ id: String) async throws -> [String: Any] {
        let output = try await Command.docker("inspect", id)
        let list = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]]
        return try #require(list?.first)
    }

    /// Per service, the secrets and configs Compose writes into its container (not bind-mounted
    /// files): where, `stat`'s `mode uid:gid`, and the content, an environment source's from `.env`.
    static func writtenFiles(_ model: [String: Any], directory: URL) throws
        -> [(String, (target: String, stat: String, content: String, secret: Bool))]
    {
        let dotenv = (try? String(contentsOf: directory.appendingPathComponent(".env"), encoding: .utf8)) ?? ""
        let variables = Dictionary(
            dotenv.split(separator: "\n").compactMap { line in
                line.firstIndex(of: "=").map { (String(line[..<$0]), String(line[line.index(after: $0)...])) }
            },
            uniquingKeysWith: { _, b in b })
        var found: [(String, (target: String, stat: String, content: String, secret: Bool))] = []
        for (name, service) in model["services"] as? [String: [String: Any]] ?? [:] {
            for kind in ["secrets", "configs"] {
                for use in service[kind] as? [[String: Any]] ?? [] {
                    let source = use["source"] as? String ?? ""
                    let definition = (model[kind] as? [String: [String: Any]])?[source] ?? [:]
                    let content = (definition["content"] as? String) ?? (definition["environment"] as? String).flatMap { variables[$0] }
                    guard let content else { continue }
                    let mode = (use["mode"] as? String).flatMap { Int($0, radix: 8) } ?? 0o444
                    let target = use["target"] as? String ?? (kind == "secrets" ? "/run/secrets/" : "/") + source
                    let stat = "\(String(mode, radix: 8)) \(use["uid"] as? String ?? "0"):\(use["gid"] as? String ?? "0")"
                    found.append((name, (target, stat, content, kind == "secrets")))
                }
            }
        }
        return found
    }

    /// The Engine's host settings against Compose's model of them (those the project sets).
    static func hostSettings(_ service: [String: Any], _ host: [String: Any], _ check: (String, String, String) -> Void) {
        func strings(_ value: Any?) -> String { "\(((value as? [Any]) ?? []).map { "\($0)" }.sorted())" }
        if let runtime = service["runtime"] as? String { check("runtime", runtime, host["Runtime"] as? String ?? "") }
        check("privileged", "\(service["privileged"] as? Bool ?? false)", "\(host["Privileged"] as? Bool ?? false)")
        check("read_only", "\(service["read_only"] as? Bool ?? false)", "\(host["ReadonlyRootfs"] as? Bool ?? false)")
        let hosts = (service["extra_hosts"] as? [String] ?? []).map { $0.replacingOccurrences(of: "=", with: ":") }
        check("extra_hosts", strings(hosts), strings(host["ExtraHosts"]))
        check("dns", strings(service["dns"]), strings(host["Dns"]))
        check("dns_search", strings(service["dns_search"]), strings(host["DnsSearch"]))
        check("dns_opt", strings(service["dns_opt"]), strings(host["DnsOptions"]))
        // The Engine adds `label=disable` to a container in the host's PID or IPC namespace.
        check("security_opt", strings(service["security_opt"]), strings((host["SecurityOpt"] as? [String])?.filter { $0 != "label=disable" }))
        if let shm = service["shm_size"] { check("shm_size", "\(shm)", "\(host["ShmSize"] ?? "")") }
        let ulimits = (service["ulimits"] as? [String: Any] ?? [:]).map { name, value in
            let limits = value as? [String: Any]
            return "\(name) \(limits?["soft"] ?? value) \(limits?["hard"] ?? value)"
        }
        let engineUlimits = (host["Ulimits"] as? [[String: Any]] ?? []).map { "\($0["Name"] ?? "") \($0["Soft"] ?? "") \($0["Hard"] ?? "")" }
        if !ulimits.isEmpty { check("ulimits", "\(ulimits.sorted())", "\(engineUlimits.sorted())") }
        if let pid = service["pid"] as? String { check("pid", pid, host["PidMode"] as? String ?? "") }
        check("group_add", strings(service["group_add"]), strings(host["GroupAdd"]))
        let devices = (service["devices"] as? [[String: Any]] ?? []).map { "\($0["source"] ?? ""):\($0["target"] ?? ""):\($0["permissions"] ?? "")" }
        let engineDevices = (host["Devices"] as? [[String: Any]] ?? []).map {
            "\($0["PathOnHost"] ?? ""):\($0["PathInContainer"] ?? ""):\($0["CgroupPermissions"] ?? "")"
        }
        check("devices", "\(devices.sorted())", "\(engineDevices.sorted())")
        if let oom = service["oom_score_adj"] { check("oom_score_adj", "\(oom)", "\(host["OomScoreAdj"] ?? "")") }
        if let shares = service["cpu_shares"] { check("cpu_shares", "\(shares)", "\(host["CpuShares"] ?? "")") }
        if let userns = service["userns_mode"] as? String { check("userns_mode", userns, host["UsernsMode"] as? String ?? "") }
        if let logging = service["logging"] as? [String: Any] {
            let log = host["LogConfig"] as? [String: Any] ?? [:]
            check("logging.driver", logging["driver"] as? String ?? "", log["Type"] as? String ?? "")
            // Sorted: a dictionary prints in an order that differs from process to process.
            let sorted = { (options: [String: String]?) in "\((options ?? [:]).sorted { $0.key < $1.key })" }
            check("logging.options", sorted(logging["options"] as? [String: String]), sorted(log["Config"] as? [String: String]))
        }
    }

    /// A service that joins another's network namespace, and that other.
    static func sharing(_ services: [String: [String: Any]]) -> (String, String)? {
        for (name, service) in services.sorted(by: { $0.key < $1.key }) {
            if let mode = service["network_mode"] as? String, mode.hasPrefix("service:") { return (name, String(mode.dropFirst(8))) }
        }
        return nil
    }

    /// What the container runs that differs from Compose's model of its service.
    static func differences(_ service: [String: Any], _ container: [String: Any], ids: [String: String], services: [String: [String: Any]])
        -> [String]
    {
        let config = container["Config"] as? [String: Any] ?? [:]
        let host = container["HostConfig"] as? [String: Any] ?? [:]
        var found: [String] = []
        func check(_ field: String, _ expected: String, _ actual: String) {
            if expected != actual { found.append("\(field): Compose \(expected), container \(actual)") }
        }
        if let command = service["command"] as? [String] { check("command", "\(command)", "\(config["Cmd"] as? [String] ?? [])") }
        let env = Set(config["Env"] as? [String] ?? [])
        for (key, value) in service["environment"] as? [String: String] ?? [:] where !env.contains("\(key)=\(value)") {
            found.append("environment: \(key)=\(value) missing")
        }
        let mode = service["network_mode"] as? String
        let expectedMode = mode.map { $0.hasPrefix("service:") ? "container:" + (ids[String($0.dropFirst(8))] ?? "?") : $0 }
        if let expectedMode { check("network_mode", expectedMode, host["NetworkMode"] as? String ?? "") }
        // volumes_from mounts the other service's volumes too, read-only with `:ro`.
        var volumes = service["volumes"] as? [[String: Any]] ?? []
        for entry in service["volumes_from"] as? [String] ?? [] {
            let parts = entry.split(separator: ":").map(String.init)
            for var volume in services[parts[0]]?["volumes"] as? [[String: Any]] ?? [] {
                if parts.last == "ro" { volume["read_only"] = true }
                volumes.append(volume)
            }
        }
        check("init", "\(service["init"] as? Bool ?? false)", "\(host["Init"] as? Bool ?? false)")
        if let signal = service["stop_signal"] as? String { check("stop_signal", signal, config["StopSignal"] as? String ?? "") }
        let mounts = (container["Mounts"] as? [[String: Any]] ?? []).map { mount in
            "\(mount["Type"] ?? ""):\(mount["Type"] as? String == "bind" ? mount["Source"] ?? "" : ""):\(mount["Destination"] ?? ""):\(mount["RW"] as? Bool == false ? "ro" : "rw")"
        }
        let wanted = volumes.map { volume in
            "\(volume["type"] ?? ""):\(volume["type"] as? String == "bind" ? volume["source"] ?? "" : ""):\(volume["target"] ?? ""):\(volume["read_only"] as? Bool == true ? "ro" : "rw")"
        }
        check("volumes", "\(wanted.sorted())", "\(mounts.sorted())")
        let bindings = host["PortBindings"] as? [String: [[String: String]]] ?? [:]
        let published = bindings.flatMap { port, list in list.map { "\($0["HostIp"] ?? ""):\($0["HostPort"] ?? ""):\(port)" } }
        let ports = (service["ports"] as? [[String: Any]] ?? []).map { port in
            "\(port["host_ip"] as? String ?? ""):\(port["published"] as? String ?? ""):\(port["target"] ?? "")/\(port["protocol"] ?? "tcp")"
        }
        check("ports", "\(ports.sorted())", "\(published.sorted())")
        let limits = ((service["deploy"] as? [String: Any])?["resources"] as? [String: Any])?["limits"] as? [String: Any] ?? [:]
        check("memory", limits["memory"] as? String ?? "0", "\(host["Memory"] as? Int ?? 0)")
        hostSettings(service, host, check)
        let endpoints = (container["NetworkSettings"] as? [String: Any])?["Networks"] as? [String: [String: Any]] ?? [:]
        let links = endpoints.values.flatMap { endpoint -> [String] in endpoint["Links"] as? [String] ?? [] }
            .compactMap { $0.split(separator: ":").last.map(String.init) }
        let aliases = (service["links"] as? [String] ?? []).compactMap { $0.split(separator: ":").last.map(String.init) }
        check("links", "\(aliases.sorted())", "\(links.sorted())")
        check("cpus", "\(Int(((limits["cpus"] as? Double) ?? 0) * 1e9))", "\(host["NanoCpus"] as? Int ?? 0)")
        return found
    }
}

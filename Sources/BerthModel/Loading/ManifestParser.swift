import Foundation
import Yams

/// Turns the YAML documents of a stack directory into a `StackManifest`, collecting every error.
///
/// Pure: it receives file names and their text; reading the directory happens in `StackLoader`.
public enum ManifestParser {
    static let kinds = ["Stack", "Service", "Environment", "Connection", "Network", "Volume"]

    /// Parses all documents of all files.
    /// - Parameters:
    ///   - files: file path (as it should appear in errors) → YAML text.
    ///   - directory: the stack directory; its last component names the stack when no `Stack` document does.
    /// - Returns: the stack and every error found (empty when the stack is valid so far).
    public static func parse(files: [String: String], directory: String) -> (StackManifest, [ManifestError]) {
        let defaultName = URL(fileURLWithPath: directory).lastPathComponent
        var stack = StackManifest(name: defaultName, directory: directory)
        stack.sources = files
        var errors: [ManifestError] = []
        var sawStack = false
        for path in files.keys.sorted() {
            let reader = NodeReader(file: path)
            var documents: [Node] = []
            do {
                // The sequence stores a parse error instead of throwing it; surface it.
                var sequence = try Yams.compose_all(yaml: files[path]!)
                while let document = sequence.next() { documents.append(document) }
                if let error = sequence.error { throw error }
            } catch let error as YamlError {
                errors.append(syntaxError(error, file: path))
                continue
            } catch {
                errors.append(ManifestError(.syntax, at: SourceLocation(file: path, line: 1, column: 1), field: nil, "\(error)"))
                continue
            }
            for document in documents {
                DocumentParser(reader: reader).parse(document, into: &stack, sawStack: &sawStack)
            }
            errors += reader.errors
        }
        return (stack, errors)
    }

    static func syntaxError(_ error: YamlError, file: String) -> ManifestError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
            return ManifestError(
                .syntax, at: SourceLocation(file: file, line: mark.line, column: mark.column), field: nil,
                "YAML syntax error: \(what)")
        default:
            return ManifestError(.syntax, at: SourceLocation(file: file, line: 1, column: 1), field: nil, "YAML error: \(error)")
        }
    }
}

/// Reads one document of a known `kind`.
private struct DocumentParser {
    let reader: NodeReader

    func parse(_ document: Node, into stack: inout StackManifest, sawStack: inout Bool) {
        guard case .mapping(let mapping) = document else {
            if document.null == nil {
                reader.fail(.wrongType, document, nil, "expected a document with 'kind:', found \(reader.kind(document))")
            }
            return
        }
        guard let kindNode = mapping["kind"], let kind = kindNode.string else {
            reader.fail(
                .missingField, document, "kind", "required field 'kind' is missing; expected one of: \(ManifestParser.kinds.joined(separator: ", "))")
            return
        }
        switch kind {
        case "Stack":
            if sawStack { reader.fail(.duplicateName, document, "kind", "a stack directory holds one Stack document") }
            sawStack = true
            parseStack(document, into: &stack)
        case "Service": if let value = parseService(document) { stack.services.append(value) }
        case "Environment": if let value = parseEnvironment(document) { stack.environments.append(value) }
        case "Connection": if let value = parseConnection(document) { stack.connections.append(value) }
        case "Network": if let value = parseNetwork(document) { stack.networks.append(value) }
        case "Volume": if let value = parseVolume(document) { stack.volumes.append(value) }
        default:
            let hint = nearest(kind, in: ManifestParser.kinds).map { " (did you mean '\($0)'?)" } ?? ""
            reader.fail(
                .invalidValue, kindNode, "kind", "unknown kind '\(kind)'\(hint); expected one of: \(ManifestParser.kinds.joined(separator: ", "))")
        }
    }

    /// The document's mapping and its name, with locations recorded under the name.
    private func header(_ document: Node, kind: String, allowed: [String]) -> ([String: Node], String, FieldLocations)? {
        // Fields are reported as `name.field`, so read the name before checking the keys.
        let prefix = document.mapping?["name"]?.string ?? ""
        guard let map = reader.mapping(document, prefix, allowed: ["kind", "name"] + allowed) else { return nil }
        guard let nameNode = reader.required(map, "name", kind, in: document), let name = reader.string(nameNode, "name") else {
            return nil
        }
        if !isValidName(name) {
            reader.fail(
                .invalidValue, nameNode, "name",
                "'\(name)' is not a valid name: use letters, digits, '-', '_' and '.', starting with a letter or digit")
        }
        var locations = FieldLocations(document: reader.location(document))
        reader.record(map, prefix: name, into: &locations)
        return (map, name, locations)
    }

    func parseStack(_ document: Node, into stack: inout StackManifest) {
        guard let map = reader.mapping(document, "", allowed: ["kind", "name", "profiles", "default_profiles", "default_environment"]) else { return }
        if let node = map["name"], let name = reader.string(node, "name") { stack.name = name }
        if let node = map["profiles"] { stack.profiles = reader.strings(node, "profiles") ?? [] }
        if let node = map["default_profiles"] { stack.defaultProfiles = reader.strings(node, "default_profiles", allowSingle: true) ?? [] }
        if let node = map["default_environment"] { stack.defaultEnvironment = reader.string(node, "default_environment") }
        for field in ["default_profiles", "default_environment"] {
            if let node = map[field] { stack.stackFieldLocations[field] = reader.location(node) }
        }
    }

    func parseService(_ document: Node) -> ServiceManifest? {
        let allowed = [
            "image", "build", "container_name", "hostname", "command", "entrypoint", "environment", "ports", "volumes",
            "networks", "healthcheck", "restart", "init", "stop_grace_period", "user", "working_dir", "depends_on",
            "profiles", "hooks", "labels", "pull_policy", "update",
        ]
        guard let (map, name, locations) = header(document, kind: "Service", allowed: allowed) else { return nil }
        let image = map["image"].flatMap { reader.string($0, "\(name).image") }
        if image == nil && map["image"] == nil {
            reader.fail(.missingField, document, "\(name).image", "required field 'image' is missing (an image repository, e.g. 'berth-demo/app')")
        }
        var service = ServiceManifest(name: name, image: image ?? "", locations: locations)
        let f = { (key: String) in "\(name).\(key)" }
        if let node = map["build"] { service.build = parseBuild(node, f("build")) }
        if let node = map["container_name"] { service.containerName = reader.string(node, f("container_name")) }
        if let node = map["hostname"] { service.hostname = reader.string(node, f("hostname")) }
        if let node = map["command"] { service.command = reader.command(node, f("command")) }
        if let node = map["entrypoint"] { service.entrypoint = reader.command(node, f("entrypoint")) }
        if let node = map["environment"] { service.environment = environment(node, f("environment")) }
        if let node = map["ports"], let items = reader.sequence(node, f("ports")) {
            service.ports = items.enumerated().compactMap { parsePort($1, "\(f("ports"))[\($0)]") }
        }
        if let node = map["volumes"], let items = reader.sequence(node, f("volumes")) {
            service.volumes = items.enumerated().compactMap { parseMount($1, "\(f("volumes"))[\($0)]") }
        }
        if let node = map["networks"] { service.networks = parseAttachments(node, f("networks")) }
        if let node = map["healthcheck"] { service.healthcheck = parseHealthcheck(node, f("healthcheck")) }
        if let node = map["restart"], let value = reader.string(node, f("restart")) {
            if let restart = Restart(value) {
                service.restart = restart
            } else {
                reader.fail(
                    .invalidValue, node, f("restart"), "unknown restart policy '\(value)'; expected no, always, unless-stopped or on-failure[:N]")
            }
        }
        if let node = map["init"] { service.initProcess = reader.bool(node, f("init")) ?? false }
        if let node = map["stop_grace_period"] { service.stopGracePeriod = reader.duration(node, f("stop_grace_period")) }
        if let node = map["user"] { service.user = reader.string(node, f("user")) }
        if let node = map["working_dir"] { service.workingDir = reader.string(node, f("working_dir")) }
        if let node = map["depends_on"] { service.dependsOn = parseDependencies(node, f("depends_on")) }
        if let node = map["profiles"] { service.profiles = reader.strings(node, f("profiles"), allowSingle: true) ?? [] }
        if let node = map["hooks"] { service.hooks = parseHooks(node, f("hooks")) }
        if let node = map["labels"] { service.labels = reader.stringMap(node, f("labels")) ?? [:] }
        if let node = map["pull_policy"], let value = reader.string(node, f("pull_policy")) {
            if let policy = PullPolicy(rawValue: value) {
                service.pullPolicy = policy
            } else {
                reader.fail(.invalidValue, node, f("pull_policy"), "unknown pull policy '\(value)'; expected missing, always or never")
            }
        }
        if let node = map["update"] { service.update = parseUpdate(node, f("update")) }
        return service
    }

    /// `environment:` as a mapping or as a list of `KEY=VALUE`.
    private func environment(_ node: Node, _ field: String) -> [String: String] {
        if case .sequence = node {
            var result: [String: String] = [:]
            for (index, item) in (reader.strings(node, field) ?? []).enumerated() {
                let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if parts.count == 2 {
                    result[String(parts[0])] = String(parts[1])
                } else {
                    reader.fail(.invalidValue, node, "\(field)[\(index)]", "expected KEY=VALUE, found '\(item)'")
                }
            }
            return result
        }
        return reader.stringMap(node, field) ?? [:]
    }

    private func parseUpdate(_ node: Node, _ field: String) -> UpdateManifest? {
        guard let map = reader.mapping(node, field, allowed: ["order", "deadline"]) else { return nil }
        var update = UpdateManifest()
        if let node = map["order"], let value = reader.string(node, "\(field).order") {
            if let order = UpdateOrder(rawValue: value) {
                update.order = order
            } else {
                reader.fail(.invalidValue, node, "\(field).order", "unknown update order '\(value)'; expected stop-first or start-first")
            }
        }
        if let node = map["deadline"] { update.deadline = reader.duration(node, "\(field).deadline") }
        return update
    }

    private func parseBuild(_ node: Node, _ field: String) -> BuildManifest? {
        if case .scalar(let scalar) = node { return BuildManifest(context: scalar.string) }
        guard let map = reader.mapping(node, field, allowed: ["context", "dockerfile", "args"]) else { return nil }
        guard let contextNode = reader.required(map, "context", field, in: node), let context = reader.string(contextNode, "\(field).context") else {
            return nil
        }
        var build = BuildManifest(context: context)
        if let node = map["dockerfile"] { build.dockerfile = reader.string(node, "\(field).dockerfile") ?? "Dockerfile" }
        if let node = map["args"] { build.args = environment(node, "\(field).args") }
        return build
    }

    private func parsePort(_ node: Node, _ field: String) -> PortManifest? {
        if case .scalar(let scalar) = node { return .short(scalar.string) }
        guard let map = reader.mapping(node, field, allowed: ["target", "published", "host_ip", "protocol"]) else { return nil }
        guard let targetNode = reader.required(map, "target", field, in: node), let target = reader.scalar(targetNode, "\(field).target") else {
            return nil
        }
        return .long(
            target: target, published: map["published"].flatMap { reader.scalar($0, "\(field).published") },
            hostIP: map["host_ip"].flatMap { reader.string($0, "\(field).host_ip") },
            protocol: map["protocol"].flatMap { reader.string($0, "\(field).protocol") })
    }

    private func parseMount(_ node: Node, _ field: String) -> MountManifest? {
        if case .scalar(let scalar) = node { return .short(scalar.string) }
        guard let map = reader.mapping(node, field, allowed: ["type", "source", "target", "read_only"]) else { return nil }
        guard let targetNode = reader.required(map, "target", field, in: node), let target = reader.string(targetNode, "\(field).target") else {
            return nil
        }
        let type = map["type"].flatMap { reader.string($0, "\(field).type") } ?? "volume"
        guard ["volume", "bind", "tmpfs"].contains(type) else {
            reader.fail(.invalidValue, map["type"], "\(field).type", "unknown mount type '\(type)'; expected volume, bind or tmpfs")
            return nil
        }
        return .long(
            type: type, source: map["source"].flatMap { reader.string($0, "\(field).source") }, target: target,
            readOnly: map["read_only"].flatMap { reader.bool($0, "\(field).read_only") } ?? false)
    }

    private func parseAttachments(_ node: Node, _ field: String) -> [NetworkAttachmentManifest] {
        if case .sequence = node {
            return (reader.strings(node, field) ?? []).map { NetworkAttachmentManifest(network: $0) }
        }
        guard let entries = reader.entries(node, field) else { return [] }
        return entries.compactMap { name, value in
            var attachment = NetworkAttachmentManifest(network: name)
            if value.null != nil { return attachment }
            guard let map = reader.mapping(value, "\(field).\(name)", allowed: ["aliases", "ipv4_address"]) else { return nil }
            if let node = map["aliases"] { attachment.aliases = reader.strings(node, "\(field).\(name).aliases") ?? [] }
            if let node = map["ipv4_address"] { attachment.ipv4Address = reader.string(node, "\(field).\(name).ipv4_address") }
            return attachment
        }
    }

    private func parseHealthcheck(_ node: Node, _ field: String) -> HealthcheckManifest? {
        guard let map = reader.mapping(node, field, allowed: ["test", "interval", "timeout", "start_period", "retries", "disable"]) else {
            return nil
        }
        if let node = map["disable"], reader.bool(node, "\(field).disable") == true {
            return .disabled
        }
        guard let testNode = reader.required(map, "test", field, in: node) else { return nil }
        var test: [String]
        if case .scalar(let scalar) = testNode {
            test = ["CMD-SHELL", scalar.string]
        } else {
            test = reader.strings(testNode, "\(field).test") ?? []
            if let first = test.first, !["CMD", "CMD-SHELL", "NONE"].contains(first) { test.insert("CMD", at: 0) }
        }
        var check = HealthcheckManifest(test: test)
        if let node = map["interval"] { check.interval = reader.duration(node, "\(field).interval") }
        if let node = map["timeout"] { check.timeout = reader.duration(node, "\(field).timeout") }
        if let node = map["start_period"] { check.startPeriod = reader.duration(node, "\(field).start_period") }
        if let node = map["retries"] { check.retries = reader.int(node, "\(field).retries", range: 0...1000) }
        return check
    }

    private func parseDependencies(_ node: Node, _ field: String) -> [DependencyManifest] {
        if case .sequence = node {
            return (reader.strings(node, field) ?? []).map { DependencyManifest(service: $0, condition: .started) }
        }
        guard let entries = reader.entries(node, field) else { return [] }
        return entries.compactMap { name, value in
            let path = "\(field).\(name)"
            let conditionNode: Node?
            var required = true
            if case .scalar = value {
                conditionNode = value
            } else {
                let map = reader.mapping(value, path, allowed: ["condition", "required"])
                conditionNode = map?["condition"]
                required = map?["required"].flatMap { reader.bool($0, "\(path).required") } ?? true
            }
            guard let conditionNode else { return DependencyManifest(service: name, condition: .started, required: required) }
            guard let text = reader.string(conditionNode, "\(path).condition") else { return nil }
            let normalized = text.replacingOccurrences(of: "service_", with: "").replacingOccurrences(of: "_successfully", with: "")
            guard let condition = DependencyCondition(rawValue: normalized) else {
                reader.fail(.invalidValue, conditionNode, "\(path).condition", "unknown condition '\(text)'; expected started, healthy or completed")
                return nil
            }
            return DependencyManifest(service: name, condition: condition, required: required)
        }
    }

    private func parseHooks(_ node: Node, _ field: String) -> [HookManifest] {
        guard let items = reader.sequence(node, field) else { return [] }
        return items.enumerated().compactMap { index, item in
            let path = "\(field)[\(index)]"
            guard let map = reader.mapping(item, path, allowed: ["name", "command"]) else { return nil }
            guard let nameNode = reader.required(map, "name", path, in: item), let name = reader.string(nameNode, "\(path).name"),
                let commandNode = reader.required(map, "command", path, in: item), let command = reader.command(commandNode, "\(path).command")
            else { return nil }
            return HookManifest(name: name, command: command)
        }
    }

    func parseEnvironment(_ document: Node) -> EnvironmentManifest? {
        guard
            let (map, name, locations) = header(
                document, kind: "Environment", allowed: ["variables", "env_files", "secrets", "versions", "timezone"])
        else { return nil }
        var environment = EnvironmentManifest(name: name, locations: locations)
        if let node = map["variables"] { environment.variables = self.environment(node, "\(name).variables") }
        if let node = map["env_files"] { environment.envFiles = reader.strings(node, "\(name).env_files", allowSingle: true) ?? [] }
        if let node = map["versions"] { environment.versions = reader.stringMap(node, "\(name).versions") ?? [:] }
        if let node = map["timezone"] { environment.timezone = reader.string(node, "\(name).timezone") }
        if let node = map["secrets"], let entries = reader.entries(node, "\(name).secrets") {
            for (key, value) in entries {
                let path = "\(name).secrets.\(key)"
                guard let source = reader.mapping(value, path, allowed: ["file", "env"]) else { continue }
                if let file = source["file"].flatMap({ reader.string($0, "\(path).file") }) {
                    environment.secrets[key] = .file(file)
                } else if let variable = source["env"].flatMap({ reader.string($0, "\(path).env") }) {
                    environment.secrets[key] = .environment(variable)
                } else {
                    reader.fail(.missingField, value, path, "a secret needs 'file:' (a path) or 'env:' (a variable of Berth's own environment)")
                }
            }
        }
        return environment
    }

    func parseConnection(_ document: Node) -> ConnectionManifest? {
        guard let (map, name, locations) = header(document, kind: "Connection", allowed: ["consumers", "targets", "env"]) else { return nil }
        let consumers = map["consumers"].flatMap { reader.strings($0, "\(name).consumers") } ?? []
        if map["consumers"] == nil {
            reader.fail(.missingField, document, "\(name).consumers", "required field 'consumers' is missing (the services that use this connection)")
        }
        var targets: [String: ConnectionTargetManifest] = [:]
        if let node = reader.required(map, "targets", name, in: document), let entries = reader.entries(node, "\(name).targets") {
            for (profile, value) in entries {
                let path = "\(name).targets.\(profile)"
                guard let target = reader.mapping(value, path, allowed: ["service", "host", "port"]) else { continue }
                let service = target["service"].flatMap { reader.string($0, "\(path).service") }
                let host = target["host"].flatMap { reader.string($0, "\(path).host") }
                if service == nil && host == nil {
                    reader.fail(
                        .invalidValue, value, path,
                        "a target names 'service:' (internal; 'host:' may add the name consumers use, e.g. its container name) or 'host:' (external)")
                    continue
                }
                let port = target["port"].flatMap { reader.scalar($0, "\(path).port") }
                targets[profile] = ConnectionTargetManifest(service: service, host: host, port: port)
            }
        }
        let environment = map["env"].map { self.environment($0, "\(name).env") } ?? [:]
        return ConnectionManifest(name: name, consumers: consumers, targets: targets, environment: environment, locations: locations)
    }

    func parseNetwork(_ document: Node) -> NetworkManifest? {
        guard let (map, name, locations) = header(document, kind: "Network", allowed: ["engine_name", "driver", "internal", "ipam", "external"])
        else { return nil }
        var network = NetworkManifest(name: name, locations: locations)
        if let node = map["engine_name"] { network.engineName = reader.string(node, "\(name).engine_name") }
        if let node = map["driver"] { network.driver = reader.string(node, "\(name).driver") ?? "bridge" }
        if let node = map["internal"] { network.internal = reader.bool(node, "\(name).internal") ?? false }
        if let node = map["external"] { network.external = reader.bool(node, "\(name).external") ?? false }
        if let node = map["ipam"], let ipam = reader.mapping(node, "\(name).ipam", allowed: ["subnet", "gateway"]) {
            if let subnetNode = ipam["subnet"], let subnet = reader.string(subnetNode, "\(name).ipam.subnet") {
                if IPv4.parseCIDR(subnet) == nil {
                    reader.fail(.invalidValue, subnetNode, "\(name).ipam.subnet", "'\(subnet)' is not an IPv4 subnet such as 10.255.254.0/24")
                }
                network.subnet = subnet
            }
            if let gatewayNode = ipam["gateway"], let gateway = reader.string(gatewayNode, "\(name).ipam.gateway") {
                if IPv4.parse(gateway) == nil {
                    reader.fail(.invalidValue, gatewayNode, "\(name).ipam.gateway", "'\(gateway)' is not an IPv4 address")
                } else if let subnet = network.subnet, let cidr = IPv4.parseCIDR(subnet), !cidr.contains(IPv4.parse(gateway)!) {
                    reader.fail(.invalidValue, gatewayNode, "\(name).ipam.gateway", "gateway \(gateway) is outside subnet \(subnet)")
                }
                network.gateway = gateway
            }
        }
        return network
    }

    func parseVolume(_ document: Node) -> VolumeManifest? {
        guard let (map, name, locations) = header(document, kind: "Volume", allowed: ["engine_name", "driver", "external"]) else { return nil }
        var volume = VolumeManifest(name: name, locations: locations)
        if let node = map["engine_name"] { volume.engineName = reader.string(node, "\(name).engine_name") }
        if let node = map["driver"] { volume.driver = reader.string(node, "\(name).driver") ?? "local" }
        if let node = map["external"] { volume.external = reader.bool(node, "\(name).external") ?? false }
        return volume
    }
}

func isValidName(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, CharacterSet.alphanumerics.contains(first) else { return false }
    return name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }
}

import BerthSecrets
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
                errors.append(syntaxError(error, file: path, text: files[path]!))
                continue
            } catch {
                errors.append(ManifestError(.syntax, at: SourceLocation(file: path, line: 1, column: 1), field: nil, "\(error)"))
                continue
            }
            for document in documents {
                if let beyond = ExpansionLimit.firstBeyond(document) {
                    reader.fail(.outOfRange, beyond, nil, ExpansionLimit.message)
                    continue
                }
                DocumentParser(reader: reader).parse(document, into: &stack, sawStack: &sawStack)
            }
            errors += reader.errors
        }
        return (stack, errors)
    }

    /// Where `key` is written again at the column of its first occurrence, below it.
    static func secondOccurrence(of key: String, after first: Mark, in text: String) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard first.line >= 1, first.line <= lines.count else { return nil }
        for index in first.line..<lines.count {
            let line = lines[index]
            let indent = line.prefix { $0 == " " }.count
            if indent + 1 == first.column, line.dropFirst(indent).hasPrefix(key + ":") { return (index + 1, first.column) }
        }
        return nil
    }

    static func syntaxError(_ error: YamlError, file: String, text: String) -> ManifestError {
        switch error {
        case .duplicatedKeysInMapping(let keys, let context):
            // Yams points at the first of the keys; the error belongs to the second.
            let key = keys.sorted().first ?? ""
            let second = secondOccurrence(of: key, after: context.mark, in: text)
            return ManifestError(
                .duplicateName,
                at: SourceLocation(file: file, line: second?.line ?? context.mark.line, column: second?.column ?? context.mark.column),
                field: key, "key '\(key)' appears twice in this mapping")
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
    var fields: ServiceFields<NativeDialect> { ServiceFields(dialect: NativeDialect(reader: reader)) }

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
        let allowed = [
            "kind", "name", "profiles", "default_profiles", "default_environment", "read_outside", "recipients", "notify", "target", "swarm",
        ]
        guard let map = reader.mapping(document, "", allowed: allowed) else { return }
        if let node = map["read_outside"] { stack.readOutside = reader.strings(node, "read_outside", allowSingle: true) ?? [] }
        if let node = map["name"], let name = reader.string(node, "name") { stack.name = name }
        if let node = map["profiles"] { stack.profiles = reader.strings(node, "profiles") ?? [] }
        if let node = map["default_profiles"] { stack.defaultProfiles = reader.strings(node, "default_profiles", allowSingle: true) ?? [] }
        if let node = map["default_environment"] { stack.defaultEnvironment = reader.string(node, "default_environment") }
        if let node = map["recipients"] { stack.recipients = recipients(node, "recipients") }
        if let node = map["notify"] { stack.notifications = notifications(node) }
        if let node = map["target"], let target = target(node, "target") { stack.target = target }
        if let node = map["swarm"] {
            stack.swarm = swarm(node, "swarm")
            stack.stackFieldLocations["swarm"] = reader.location(node)
            for (service, entry) in node.mapping?["deploy"]?.mapping ?? [:] {
                if let service = service.string { stack.stackFieldLocations["swarm.deploy.\(service)"] = reader.location(entry) }
            }
        }
        for field in ["default_profiles", "default_environment", "read_outside"] {
            if let node = map[field] { stack.stackFieldLocations[field] = reader.location(node) }
        }
    }

    func parseService(_ document: Node) -> ServiceManifest? {
        let allowed = [
            "image", "build", "container_name", "hostname", "command", "entrypoint", "environment", "ports", "volumes",
            "networks", "healthcheck", "restart", "init", "stop_grace_period", "user", "working_dir", "depends_on",
            "profiles", "hooks", "labels", "pull_policy", "update", "replicas",
        ]
        guard let (map, name, locations) = header(document, kind: "Service", allowed: allowed) else { return nil }
        let image = map["image"].flatMap { reader.string($0, "\(name).image") }
        if image == nil && map["image"] == nil {
            reader.fail(.missingField, document, "\(name).image", "required field 'image' is missing (an image repository, e.g. 'berth-demo/app')")
        }
        var service = ServiceManifest(name: name, image: image ?? "", locations: locations)
        let f = { (key: String) in "\(name).\(key)" }
        fields.read(map, into: &service)
        if let node = map["container_name"] { service.containerName = reader.string(node, f("container_name")) }
        if let node = map["environment"] { service.environment = fields.keyValues(node, f("environment"), unset: { _ in "" }) }
        if let node = map["hooks"] { service.hooks = parseHooks(node, f("hooks")) }
        if let node = map["pull_policy"], let value = reader.string(node, f("pull_policy")) {
            if let policy = PullPolicy(rawValue: value) {
                service.pullPolicy = policy
            } else {
                reader.fail(.invalidValue, node, f("pull_policy"), "unknown pull policy '\(value)'; expected missing, always or never")
            }
        }
        if let node = map["update"] { service.update = parseUpdate(node, f("update")) }
        if let node = map["replicas"] { service.replicas = fields.int(node, f("replicas"), range: 0...10_000) }
        return service
    }

    private func target(_ node: Node, _ field: String) -> DeployTarget? {
        guard let value = reader.string(node, field) else { return nil }
        guard let target = DeployTarget(rawValue: value) else {
            reader.fail(.invalidValue, node, field, "unknown target '\(value)'; expected engine or swarm")
            return nil
        }
        return target
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
                document, kind: "Environment",
                allowed: ["variables", "env_files", "secrets", "versions", "timezone", "recipients", "target", "swarm"])
        else { return nil }
        var environment = EnvironmentManifest(name: name, locations: locations)
        if let node = map["variables"] { environment.variables = fields.keyValues(node, "\(name).variables", unset: { _ in "" }) }
        if let node = map["env_files"] { environment.envFiles = reader.strings(node, "\(name).env_files", allowSingle: true) ?? [] }
        if let node = map["versions"] { environment.versions = reader.stringMap(node, "\(name).versions") ?? [:] }
        if let node = map["timezone"] { environment.timezone = reader.string(node, "\(name).timezone") }
        if let node = map["recipients"] { environment.recipients = recipients(node, "\(name).recipients") }
        if let node = map["target"] { environment.target = target(node, "\(name).target") }
        if let node = map["swarm"] { environment.swarm = swarm(node, "\(name).swarm") }
        if let node = map["secrets"], let entries = reader.entries(node, "\(name).secrets") {
            for (key, value) in entries {
                let path = "\(name).secrets.\(key)"
                guard let source = reader.mapping(value, path, allowed: ["file", "env", "age", "sops", "key"]) else { continue }
                let given = ["file", "env", "age", "sops"].filter { source[$0] != nil }
                guard given.count == 1, let kind = given.first, let node = source[kind], let text = reader.string(node, "\(path).\(kind)") else {
                    if given.count > 1 {
                        reader.fail(.invalidValue, value, path, "a secret takes one source, not \(given.joined(separator: " and "))")
                    } else if given.isEmpty {
                        reader.fail(
                            .missingField, value, path,
                            "a secret needs 'file:' (a path), 'env:' (a variable of Berth's own environment), 'age:' (an age-encrypted file) or 'sops:' (a SOPS file)"
                        )
                    }
                    continue
                }
                let sopsKey = source["key"].flatMap { reader.string($0, "\(path).key") }
                if let keyNode = source["key"], kind != "sops" {
                    reader.fail(.invalidValue, keyNode, "\(path).key", "'key' picks a value of a SOPS document; it goes with 'sops:'")
                }
                environment.secrets[key] =
                    switch kind {
                    case "file": .file(text)
                    case "env": .environment(text)
                    case "age": .age(text)
                    default: .sops(text, key: sopsKey)
                    }
            }
        }
        return environment
    }

    /// An Environment's `swarm:` block: `secrets: files|environment` and, per service,
    /// `deploy: {SERVICE: {mode: replicated|global, replicas: N, placement: {constraints: […],
    /// preferences: [{spread: DESCRIPTOR}]}}}`, Compose's `deploy:` words.
    func swarm(_ node: Node, _ field: String) -> SwarmManifest? {
        guard let map = reader.mapping(node, field, allowed: ["secrets", "deploy"]) else { return nil }
        var swarm = SwarmManifest()
        if let node = map["secrets"], let value = reader.string(node, "\(field).secrets") {
            if let delivery = SwarmSecretDelivery(rawValue: value) {
                swarm.secrets = delivery
            } else {
                reader.fail(.invalidValue, node, "\(field).secrets", "unknown value '\(value)'; expected files or environment")
            }
        }
        for (service, node) in map["deploy"].flatMap({ reader.entries($0, "\(field).deploy") }) ?? [] {
            let path = "\(field).deploy.\(service)"
            guard let entry = reader.mapping(node, path, allowed: ["mode", "replicas", "placement", "endpoint_mode"]) else { continue }
            swarm.deploy[service] = fields.swarmScheduling(entry, path)
        }
        return swarm
    }

    /// `notify:`: a list of `{webhook|ntfy|slack: URL, secret:, on: [events]}`.
    func notifications(_ node: Node) -> [NotificationManifest] {
        guard let items = reader.sequence(node, "notify") else { return [] }
        let channels = NotificationManifest.Channel.allCases.map(\.rawValue)
        return items.enumerated().compactMap { index, item -> NotificationManifest? in
            let field = "notify[\(index)]"
            guard let map = reader.mapping(item, field, allowed: channels + ["secret", "on"]) else { return nil }
            let given = channels.filter { map[$0] != nil }
            guard given.count == 1, let name = given.first, let channel = NotificationManifest.Channel(rawValue: name), let urlNode = map[name] else {
                reader.fail(.missingField, item, field, "a notification names one channel: \(channels.joined(separator: ", ")) (with its URL)")
                return nil
            }
            guard let url = notificationValue(urlNode, "\(field).\(name)") else { return nil }
            if case .literal(let text) = url, !(text.hasPrefix("http://") || text.hasPrefix("https://")) || URL(string: text)?.host == nil {
                reader.fail(.invalidValue, urlNode, "\(field).\(name)", "'\(text)' is not an http:// or https:// URL")
            }
            var notification = NotificationManifest(channel: channel, url: url, field: field, location: reader.location(item))
            if let secretNode = map["secret"] {
                if channel != .webhook {
                    reader.fail(.invalidValue, secretNode, "\(field).secret", "'secret' signs webhook bodies; \(name) does not take one")
                }
                notification.secret = notificationValue(secretNode, "\(field).secret", literalAllowed: false)
            }
            if let onNode = map["on"], let names = reader.strings(onNode, "\(field).on", allowSingle: true) {
                let known = NotificationManifest.Event.allCases.map(\.rawValue)
                notification.events = names.compactMap { name in
                    guard let event = NotificationManifest.Event(rawValue: name) else {
                        reader.fail(.invalidValue, onNode, "\(field).on", "unknown event '\(name)'; events: \(known.joined(separator: ", "))")
                        return nil
                    }
                    return event
                }
            }
            return notification
        }
    }

    /// A URL or key: written out, or `{env: VAR}` / `{file: PATH}` for one that is a credential.
    func notificationValue(_ node: Node, _ field: String, literalAllowed: Bool = true) -> NotificationManifest.Value? {
        if case .scalar = node {
            guard literalAllowed else {
                reader.fail(.invalidValue, node, field, "a signing key is a secret: give {env: VARIABLE} or {file: PATH}, not the key itself")
                return nil
            }
            return reader.string(node, field).map { .literal($0) }
        }
        guard let map = reader.mapping(node, field, allowed: ["env", "file"]) else { return nil }
        if map.count > 1 {
            reader.fail(.invalidValue, node, field, "give one of {env: VARIABLE} or {file: PATH}, not both")
            return nil
        }
        if let variable = map["env"].flatMap({ reader.string($0, "\(field).env") }) { return .environment(variable) }
        if let file = map["file"].flatMap({ reader.string($0, "\(field).file") }) { return .file(file) }
        reader.fail(.missingField, node, field, "give {env: VARIABLE} or {file: PATH}")
        return nil
    }

    /// A list of age public keys, each checked where it is written.
    func recipients(_ node: Node, _ field: String) -> [String] {
        guard let items = reader.sequence(node, field) else { return [] }
        return items.enumerated().compactMap { index, item in
            guard let text = reader.string(item, "\(field)[\(index)]") else { return nil }
            guard AgeRecipient(text) != nil else {
                let hint = text.hasPrefix("AGE-SECRET-KEY-") ? ": that is a secret key; list its public key (age-keygen -y)" : " (age1…)"
                reader.fail(.invalidValue, item, "\(field)[\(index)]", "not an age public key\(hint)")
                return nil
            }
            return text
        }
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
        let environment = map["env"].map { fields.keyValues($0, "\(name).env", unset: { _ in "" }) } ?? [:]
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
                IPAMCheck.subnet(subnet, subnetNode, "\(name).ipam.subnet", reader)
                network.subnet = subnet
            }
            if let gatewayNode = ipam["gateway"], let gateway = reader.string(gatewayNode, "\(name).ipam.gateway") {
                IPAMCheck.gateway(gateway, subnet: network.subnet, gatewayNode, "\(name).ipam.gateway", reader)
                network.gateway = gateway
            }
        }
        return network
    }

    func parseVolume(_ document: Node) -> VolumeManifest? {
        guard let (map, name, locations) = header(document, kind: "Volume", allowed: ["engine_name", "driver", "driver_opts", "external", "adopt"])
        else {
            return nil
        }
        var volume = VolumeManifest(name: name, locations: locations)
        if let node = map["engine_name"] { volume.engineName = reader.string(node, "\(name).engine_name") }
        if let node = map["driver"] { volume.driver = reader.string(node, "\(name).driver") ?? "local" }
        if let node = map["driver_opts"] { volume.driverOptions = reader.stringMap(node, "\(name).driver_opts") ?? [:] }
        if let node = map["external"] { volume.external = reader.bool(node, "\(name).external") ?? false }
        if let node = map["adopt"] { volume.adopt = reader.bool(node, "\(name).adopt") ?? false }
        return volume
    }
}

func isValidName(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, CharacterSet.alphanumerics.contains(first) else { return false }
    return name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }
}

/// Berth's own manifests: strict keys, and every scalar kept as written (`${…}` resolves later,
/// per profile and environment).
struct NativeDialect: ManifestDialect {
    let reader: NodeReader
    var policies: FieldPolicies { FieldPolicies() }
    func keys(_ node: Node, _ field: String, _ policy: KeyPolicy) -> [String: Node]? { reader.mapping(node, field, allowed: policy.supported) }
    func text(_ node: Node, _ field: String) -> String? { reader.scalar(node, field) }
    func now(_ node: Node, _ field: String) -> String? { reader.scalar(node, field) }
    func unset(_ key: String) -> String? { "" }
    func warn(_ node: Node?, _ field: String, _ message: String) { reader.fail(.unknownKey, node, field, message) }
}

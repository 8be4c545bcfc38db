import Yams

/// Which keys a mapping may hold in one dialect.
struct KeyPolicy {
    var supported: [String]
    /// Keys that do not change what runs: reported as warnings, then ignored.
    var ignored: [String: String] = [:]
    /// Keys Berth does not support and that would change what runs if ignored: errors.
    var unsupported: [String] = []
}

/// One way of writing a service: Berth's own manifests or a Compose file. A dialect decides which
/// keys a mapping may hold and how a scalar becomes text; `ServiceFields` reads every field both
/// share through it, so a field or a check added once works in both.
protocol ManifestDialect {
    var reader: NodeReader { get }
    /// The keys of each nested mapping `ServiceFields` reads.
    var policies: FieldPolicies { get }
    /// A mapping's entries under `policy`, every other key reported.
    func keys(_ node: Node, _ field: String, _ policy: KeyPolicy) -> [String: Node]?
    /// A value kept for `Resolver`, which may still hold `${…}`.
    func text(_ node: Node, _ field: String) -> String?
    /// A value Berth needs while loading: numbers, booleans, durations, policies.
    func now(_ node: Node, _ field: String) -> String?
    /// The value of `KEY:` written without one, in a mapping of variables or build arguments.
    func unset(_ key: String) -> String?
    /// A key that is read but not applied.
    func warn(_ node: Node?, _ field: String, _ message: String)
    /// A command written as one string, split into arguments.
    func words(_ node: Node, _ field: String) -> [String]?
}

extension ManifestDialect {
    /// Split as written; each argument keeps its `${…}` for `Resolver`.
    func words(_ node: Node, _ field: String) -> [String]? { text(node, field).map(ShellWords.split) }
}

/// The keys of the mappings nested in a service, per dialect.
struct FieldPolicies {
    var build = KeyPolicy(supported: ["context", "dockerfile", "args"])
    var port = KeyPolicy(supported: ["target", "published", "host_ip", "protocol"])
    var mount = KeyPolicy(supported: ["type", "source", "target", "read_only"])
    var attachment = KeyPolicy(supported: ["aliases", "ipv4_address"])
    var healthcheck = KeyPolicy(supported: ["test", "interval", "timeout", "start_period", "retries", "disable"])
    var dependency = KeyPolicy(supported: ["condition", "required"])
}

/// Reads the service fields both dialects share, the same way: build, command, entrypoint,
/// hostname, ports, volumes, networks, healthcheck, restart, depends_on, profiles, labels, init,
/// stop_grace_period, user, working_dir.
struct ServiceFields<Dialect: ManifestDialect> {
    let dialect: Dialect
    var reader: NodeReader { dialect.reader }

    /// Reads every shared field present in `map` into `service`.
    func read(_ map: [String: Node], into service: inout ServiceManifest) {
        let name = service.name
        let f = { (key: String) in "\(name).\(key)" }
        if let node = map["build"] { service.build = build(node, f("build")) }
        if let node = map["hostname"] { service.hostname = dialect.text(node, f("hostname")) }
        if let node = map["command"] { service.command = command(node, f("command")) }
        if let node = map["entrypoint"] { service.entrypoint = command(node, f("entrypoint")) }
        if let node = map["ports"], let items = reader.sequence(node, f("ports")) {
            service.ports = items.enumerated().compactMap { port($1, "\(f("ports"))[\($0)]") }
        }
        if let node = map["volumes"], let items = reader.sequence(node, f("volumes")) {
            service.volumes += items.enumerated().compactMap { mount($1, "\(f("volumes"))[\($0)]") }
        }
        if let node = map["networks"] { service.networks = attachments(node, f("networks")) }
        if let node = map["healthcheck"] { service.healthcheck = healthcheck(node, f("healthcheck")) }
        if let node = map["restart"], let value = dialect.now(node, f("restart")) {
            if let restart = Restart(value) {
                service.restart = restart
            } else {
                reader.fail(
                    .invalidValue, node, f("restart"), "unknown restart policy '\(value)'; expected no, always, unless-stopped or on-failure[:N]")
            }
        }
        if let node = map["depends_on"] { service.dependsOn = dependencies(node, f("depends_on")) }
        if let node = map["profiles"] { service.profiles = list(node, f("profiles"), read: dialect.now) }
        if let node = map["labels"] { service.labels = keyValues(node, f("labels"), unset: { _ in "" }) }
        if let node = map["init"] { service.initProcess = bool(node, f("init")) ?? false }
        if let node = map["stop_grace_period"] { service.stopGracePeriod = duration(node, f("stop_grace_period")) }
        if let node = map["user"] { service.user = dialect.text(node, f("user")) }
        if let node = map["working_dir"] { service.workingDir = dialect.text(node, f("working_dir")) }
    }

    // MARK: Values

    func bool(_ node: Node, _ field: String) -> Bool? {
        dialect.now(node, field).flatMap { reader.bool(ComposeMerge.text($0, nil), field, at: node) }
    }

    func duration(_ node: Node, _ field: String) -> Duration? {
        dialect.now(node, field).flatMap { reader.duration(ComposeMerge.text($0, nil), field, at: node) }
    }

    func int(_ node: Node, _ field: String, range: ClosedRange<Int>) -> Int? {
        dialect.now(node, field).flatMap { reader.int(ComposeMerge.text($0, nil), field, range: range, at: node) }
    }

    /// A list, or a single value standing for a list of one (`profiles: internal-db`).
    func list(_ node: Node, _ field: String, read: (Node, String) -> String?) -> [String] {
        if case .scalar = node { return read(node, field).map { [$0] } ?? [] }
        guard let items = reader.sequence(node, field) else { return [] }
        return items.enumerated().compactMap { read($1, "\(field)[\($0)]") }
    }

    /// Variables, build arguments, labels: a mapping, or a list of `KEY=VALUE`.
    func keyValues(_ node: Node, _ field: String, unset: (String) -> String?) -> [String: String] {
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
        guard let entries = reader.entries(node, field) else { return [:] }
        var result: [String: String] = [:]
        for (key, value) in entries {
            if ComposeMerge.isNull(value) || value.null != nil {
                result[key] = unset(key)
            } else if let text = dialect.text(value, reader.join(field, key)) {
                result[key] = text
            }
        }
        return result
    }

    /// A command: a list of arguments, or one string split on spaces (quotes respected).
    func command(_ node: Node, _ field: String) -> [String]? {
        if case .scalar = node { return dialect.words(node, field) }
        guard let items = reader.sequence(node, field) else { return nil }
        return items.enumerated().compactMap { dialect.text($1, "\(field)[\($0)]") }
    }

    // MARK: Nested fields

    func build(_ node: Node, _ field: String) -> BuildManifest? {
        if case .scalar = node { return dialect.text(node, field).map { BuildManifest(context: $0) } }
        guard let map = dialect.keys(node, field, dialect.policies.build) else { return nil }
        var build = BuildManifest(context: map["context"].flatMap { dialect.text($0, "\(field).context") } ?? ".")
        if let node = map["dockerfile"] { build.dockerfile = dialect.text(node, "\(field).dockerfile") ?? "Dockerfile" }
        if let node = map["args"] { build.args = keyValues(node, "\(field).args", unset: dialect.unset) }
        if let node = map["target"] { build.target = dialect.text(node, "\(field).target") }
        if let node = map["dockerfile_inline"] { build.dockerfileInline = dialect.text(node, "\(field).dockerfile_inline") }
        if let node = map["labels"] { build.labels = keyValues(node, "\(field).labels", unset: { _ in "" }) }
        return build
    }

    func port(_ node: Node, _ field: String) -> PortManifest? {
        if case .scalar = node { return dialect.text(node, field).map { .short($0) } }
        guard let map = dialect.keys(node, field, dialect.policies.port) else { return nil }
        guard let targetNode = reader.required(map, "target", field, in: node), let target = dialect.text(targetNode, "\(field).target") else {
            return nil
        }
        return .long(
            target: target, published: map["published"].flatMap { dialect.text($0, "\(field).published") },
            hostIP: map["host_ip"].flatMap { dialect.text($0, "\(field).host_ip") },
            protocol: map["protocol"].flatMap { dialect.text($0, "\(field).protocol") })
    }

    func mount(_ node: Node, _ field: String) -> MountManifest? {
        if case .scalar = node { return dialect.text(node, field).map { .short($0) } }
        guard let map = dialect.keys(node, field, dialect.policies.mount) else { return nil }
        let type = map["type"].flatMap { dialect.now($0, "\(field).type") } ?? "volume"
        guard ["volume", "bind", "tmpfs"].contains(type) else {
            reader.fail(.invalidValue, map["type"], "\(field).type", "unknown mount type '\(type)'; expected volume, bind or tmpfs")
            return nil
        }
        if let bind = map["bind"] {
            _ = dialect.keys(
                bind, "\(field).bind",
                KeyPolicy(supported: [], ignored: ["create_host_path": ""], unsupported: ["propagation", "selinux", "recursive"]))
        }
        if let volume = map["volume"],
            let options = dialect.keys(volume, "\(field).volume", KeyPolicy(supported: ["nocopy"], unsupported: ["subpath"])),
            let nocopy = options["nocopy"], bool(nocopy, "\(field).volume.nocopy") == true
        {
            reader.fail(
                .unknownKey, nocopy, "\(field).volume.nocopy",
                "'nocopy: true' is not supported; ignoring it would copy the image's files into the volume")
        }
        guard let targetNode = reader.required(map, "target", field, in: node), let target = dialect.text(targetNode, "\(field).target") else {
            return nil
        }
        return .long(
            type: type, source: map["source"].flatMap { dialect.text($0, "\(field).source") }, target: target,
            readOnly: map["read_only"].flatMap { bool($0, "\(field).read_only") } ?? false)
    }

    /// `networks:` as a list of names or a mapping of name → options.
    func attachments(_ node: Node, _ field: String) -> [NetworkAttachmentManifest] {
        if case .sequence = node {
            return list(node, field, read: dialect.now).map { NetworkAttachmentManifest(network: $0) }
        }
        guard let entries = reader.entries(node, field) else { return [] }
        return entries.compactMap { name, value in
            var attachment = NetworkAttachmentManifest(network: name)
            if ComposeMerge.isNull(value) || value.null != nil { return attachment }
            guard let map = dialect.keys(value, "\(field).\(name)", dialect.policies.attachment) else { return nil }
            if let node = map["aliases"] { attachment.aliases = list(node, "\(field).\(name).aliases", read: dialect.text) }
            if let node = map["ipv4_address"] { attachment.ipv4Address = dialect.text(node, "\(field).\(name).ipv4_address") }
            return attachment
        }
    }

    /// `disable: true` and `test: [NONE]` both turn the image's healthcheck off.
    func healthcheck(_ node: Node, _ field: String) -> HealthcheckManifest? {
        guard let map = dialect.keys(node, field, dialect.policies.healthcheck) else { return nil }
        if let node = map["disable"], bool(node, "\(field).disable") == true { return .disabled }
        guard let testNode = reader.required(map, "test", field, in: node) else { return nil }
        var test: [String]
        if case .scalar = testNode {
            test = ["CMD-SHELL", dialect.text(testNode, "\(field).test") ?? ""]
        } else {
            test = list(testNode, "\(field).test", read: dialect.text)
            if test == ["NONE"] { return .disabled }
            if let first = test.first, !["CMD", "CMD-SHELL", "NONE"].contains(first) { test.insert("CMD", at: 0) }
        }
        var check = HealthcheckManifest(test: test)
        if let node = map["interval"] { check.interval = duration(node, "\(field).interval") }
        if let node = map["timeout"] { check.timeout = duration(node, "\(field).timeout") }
        if let node = map["start_period"] { check.startPeriod = duration(node, "\(field).start_period") }
        if let node = map["retries"] { check.retries = int(node, "\(field).retries", range: 0...1000) }
        return check
    }

    /// `depends_on:` as a list of services (started) or a mapping of service → condition.
    /// Conditions are read as Compose spells them (`service_healthy`) or short (`healthy`).
    func dependencies(_ node: Node, _ field: String) -> [DependencyManifest] {
        if case .sequence = node {
            return list(node, field, read: dialect.now).map { DependencyManifest(service: $0, condition: .started) }
        }
        guard let entries = reader.entries(node, field) else { return [] }
        return entries.compactMap { name, value in
            let path = "\(field).\(name)"
            var dependency = DependencyManifest(service: name, condition: .started)
            let conditionNode: Node?
            if case .scalar = value {
                conditionNode = value
            } else {
                guard let map = dialect.keys(value, path, dialect.policies.dependency) else { return nil }
                conditionNode = map["condition"]
                if let node = map["required"] { dependency.required = bool(node, "\(path).required") ?? true }
                if let node = map["restart"], bool(node, "\(path).restart") == true {
                    dialect.warn(
                        node, "\(path).restart", "'restart: true' is not applied: Berth recreates a dependent only when its own spec changes")
                }
            }
            guard let conditionNode else { return dependency }
            guard let text = dialect.now(conditionNode, "\(path).condition") else { return nil }
            let short = text.replacingOccurrences(of: "service_", with: "").replacingOccurrences(of: "_successfully", with: "")
            guard let condition = DependencyCondition(rawValue: short) else {
                reader.fail(
                    .invalidValue, conditionNode, "\(path).condition",
                    "unknown condition '\(text)'; expected service_started, service_healthy or service_completed_successfully")
                return nil
            }
            dependency.condition = condition
            return dependency
        }
    }
}

/// A network's IPAM values, checked the same way in both dialects.
enum IPAMCheck {
    static func subnet(_ subnet: String, _ node: Node, _ field: String, _ reader: NodeReader) {
        if IPv4.parseCIDR(subnet) == nil {
            reader.fail(.invalidValue, node, field, "'\(subnet)' is not an IPv4 subnet such as 10.255.254.0/24")
        }
    }

    static func gateway(_ gateway: String, subnet: String?, _ node: Node, _ field: String, _ reader: NodeReader) {
        guard let address = IPv4.parse(gateway) else {
            reader.fail(.invalidValue, node, field, "'\(gateway)' is not an IPv4 address")
            return
        }
        if let subnet, let cidr = IPv4.parseCIDR(subnet), !cidr.contains(address) {
            reader.fail(.invalidValue, node, field, "gateway \(gateway) is outside subnet \(subnet)")
        }
    }
}

import BerthSecrets
import Foundation
import Yams

/// Reads a merged Compose tree into services, networks and volumes.
///
/// Every key is either read, or reported: as an error when ignoring it would change what runs
/// (`privileged`, `cap_add`, `deploy`, …), as a warning when it would not (`expose`, `logging`).
final class ComposeReader {
    let reader: NodeReader
    let project: String
    let directory: String
    let scope: [String: String]
    let read: (String) -> String?
    /// Whether a file is encrypted (age or SOPS), read at the edge.
    var isSealed: (String) -> Bool = { _ in false }
    private(set) var warnings: [ManifestError] = []
    private(set) var filesRead: [String: String] = [:]
    /// Per service, the variables that came from its `env_file`s (and not `environment:`), as read.
    private(set) var envFileValues: [String: [String: String]] = [:]
    private var warnedVariables = Set<String>()
    /// The project's top-level `secrets` and `configs`, which services mount.
    private var files: ComposeFiles?
    /// Directories outside the project directory that `env_file`s may come from (`x-berth.read_outside`).
    private(set) var readOutside: [String] = []
    /// `x-berth.target`: on a swarm, `deploy:` schedules the services and `secrets:`/`configs:`
    /// files become Swarm objects instead of bind mounts (a bind mount is of one node's file).
    private(set) var target: DeployTarget = .engine
    /// The services' `deploy:` scheduling on a swarm, by service.
    var swarmDeploy: [String: SwarmDeployManifest] = [:]

    init(reader: NodeReader, project: String, directory: String, scope: [String: String], read: @escaping (String) -> String?) {
        self.reader = reader
        self.project = project
        self.directory = directory
        self.scope = scope
        self.read = read
    }

    func read(_ root: Node, into stack: inout StackManifest) {
        guard let map = root.mapping else { return }
        if let node = map["x-berth"], let options = checkKeys(node, "x-berth", supported: ["read_outside", "recipients", "target"]) {
            if let node = options["target"], let text = eager(node, "x-berth.target") {
                if let target = DeployTarget(rawValue: text) {
                    self.target = target
                    stack.target = target
                } else {
                    reader.fail(.invalidValue, node, "x-berth.target", "unknown target '\(text)'; expected engine or swarm")
                }
            }
            if let list = options["read_outside"] {
                readOutside = ServiceFields(dialect: self).list(list, "x-berth.read_outside", read: eager)
                stack.readOutside = readOutside
            }
            if let list = options["recipients"] {
                // Public keys only: `berth secrets` encrypts the project's secret files to them.
                for (index, item) in (reader.sequence(list, "x-berth.recipients") ?? []).enumerated() {
                    guard let text = eager(item, "x-berth.recipients[\(index)]") else { continue }
                    if AgeRecipient(text) == nil {
                        reader.fail(.invalidValue, item, "x-berth.recipients[\(index)]", "not an age public key (age1…)")
                    } else {
                        stack.recipients.append(text)
                    }
                }
            }
        }
        files = ComposeFiles(reader: self, root: map)
        if let services = map["services"], let entries = reader.entries(services, "services") {
            for (name, node) in entries { if let service = service(name, node) { stack.services.append(service) } }
            files?.reportUnused()
            if !swarmDeploy.isEmpty {
                var swarm = SwarmManifest()
                swarm.deploy = swarmDeploy
                stack.swarm = swarm
            }
        } else {
            reader.fail(.missingField, root, "services", "a Compose file needs 'services:'")
        }
        if let networks = map["networks"], let entries = reader.entries(networks, "networks") {
            stack.networks = entries.compactMap { network($0, $1) }
        }
        if let volumes = map["volumes"], let entries = reader.entries(volumes, "volumes") {
            stack.volumes = entries.compactMap { volume($0, $1) }
        }
        for key in ["models"] {
            if let node = map[key] {
                warn(node, key, "top-level '\(key)' is not supported by Berth; services that use it are rejected")
            }
        }
    }

    // MARK: Values

    func warn(_ node: Node?, _ field: String, _ message: String) {
        warnings.append(ManifestError(.unknownKey, at: node.map(reader.location), field: field, message))
    }

    /// A string kept with its `${…}` for `Resolver`, checked now so a failure points here.
    func deferred(_ node: Node, _ field: String) -> String? {
        guard let text = reader.scalar(node, field) else { return nil }
        _ = interpolated(text, node, field)
        return text
    }

    /// A value interpolated now: numbers, booleans, durations, names Berth reads while loading.
    func eager(_ node: Node, _ field: String) -> String? {
        reader.scalar(node, field).map { interpolated($0, node, field) }
    }

    /// `text` interpolated with Compose's rules: a failure is reported at `node`, each unset
    /// variable warned about once.
    private func interpolated(_ text: String, _ node: Node, _ field: String) -> String {
        // By scalar: the String overload goes through NSString, ~10 µs a call.
        guard text.unicodeScalars.contains("$") else { return text }
        switch Interpolate.expand(text, scope: scope) {
        case .failure(let error):
            reader.fail(.undefinedVariable, node, field, error.message)
            return text
        case .success(let result):
            for name in result.blanked where warnedVariables.insert(name).inserted {
                warnings.append(
                    ManifestError(.undefinedVariable, at: reader.location(node), field: field, "variable '\(name)' is not set; using an empty string")
                )
            }
            return result.text
        }
    }

    func eagerBool(_ node: Node, _ field: String) -> Bool? {
        guard let text = eager(node, field) else { return nil }
        return reader.bool(ComposeMerge.text(text, nil), field, at: node)
    }

    /// A value as Compose's `KEY` / `KEY:` without a value means it: taken from the shell or `.env`
    /// when set there, otherwise left out.
    func fromScope(_ key: String) -> String? { scope[key] == nil ? nil : "${\(key)}" }

    /// Escapes `$` so `Resolver` takes a value that is already final as written.
    static func literal(_ text: String) -> String { text.replacingOccurrences(of: "$", with: "$$") }

    // MARK: Services

    static let supportedServiceKeys =
        [
            "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "volumes", "tmpfs", "networks", "healthcheck",
            "restart", "depends_on", "profiles", "container_name", "hostname", "labels", "init", "stop_grace_period", "user", "working_dir",
            "pull_policy", "extends", "secrets", "configs",
        ] + runtimeKeys
    /// Keys that do not change what runs; reported, then ignored.
    static let ignoredServiceKeys: [String: String] = [
        "expose": "'expose' only documents ports; containers on a network reach each other on every port",
        "develop": "'develop' (compose watch) is for development loops",
        "platform": "'platform' is not checked; the image's platform is used",
    ]
    /// Compose keys Berth does not support and that change what runs when ignored.
    static let unsupportedServiceKeys = [
        "annotations", "attach", "blkio_config", "cgroup", "cgroup_parent", "cpu_count", "cpu_percent",
        "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpuset", "credential_spec",
        "device_cgroup_rules", "domainname", "external_links", "gpus",
        "isolation", "label_file", "mac_address", "mem_swappiness",
        "oom_kill_disable", "post_start", "pre_stop",
        "scale", "storage_opt",
        "use_api_socket", "uts", "models", "provider",
    ]

    /// Reports keys outside `supported`: unknown keys (with a suggestion) and unsupported ones are
    /// errors, `ignored` ones warnings.
    func checkKeys(_ node: Node, _ field: String, supported: [String], ignored: [String: String] = [:], unsupported: [String] = [])
        -> [String: Node]?
    {
        guard case .mapping(let mapping) = node else {
            reader.fail(.wrongType, node, field, "expected a mapping, found \(reader.kind(node))")
            return nil
        }
        var result: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else { continue }
            let path = reader.join(field, key)
            if supported.contains(key) {
                result[key] = value
            } else if key.hasPrefix("x-") {
                continue
            } else if let reason = ignored[key] {
                warn(keyNode, path, "\(reason.isEmpty ? "'\(key)' is not supported" : reason); ignored")
            } else if unsupported.contains(key) {
                reader.fail(.unknownKey, keyNode, path, "'\(key)' is not supported by Berth; ignoring it would change what runs")
            } else {
                let hint = nearest(key, in: supported + unsupported).map { " (did you mean '\($0)'?)" } ?? ""
                reader.fail(.unknownKey, keyNode, path, "unknown key '\(key)'\(hint)")
            }
        }
        return result
    }

    func service(_ name: String, _ node: Node) -> ServiceManifest? {
        guard
            let map = checkKeys(
                node, name, supported: Self.supportedServiceKeys, ignored: Self.ignoredServiceKeys, unsupported: Self.unsupportedServiceKeys)
        else { return nil }
        var locations = FieldLocations(document: reader.location(node))
        reader.record(map, prefix: name, into: &locations)
        let f = { (key: String) in "\(name).\(key)" }

        var image = map["image"].flatMap { deferred($0, f("image")) }
        if map["build"] != nil {
            if image == nil { image = "\(project)-\(name)" }  // as Compose names built images
        } else if image == nil {
            reader.fail(.missingField, node, f("image"), "a service needs 'image' or 'build'")
        }
        var service = ServiceManifest(name: name, image: image ?? "", locations: locations)
        ServiceFields(dialect: self).read(map, into: &service)
        runtime(map, into: &service)
        service.containerName = map["container_name"].flatMap { deferred($0, f("container_name")) } ?? "\(project)-\(name)-1"
        if let node = map["env_file"] {
            let values = envFiles(node, f("env_file"))
            service.environment = values.mapValues(Self.literal)
            envFileValues[name] = values
        }
        if let node = map["environment"], let entries = reader.entries(node, f("environment")) {
            for (key, value) in entries {
                envFileValues[name]?[key] = nil
                if ComposeMerge.isNull(value) {
                    service.environment[key] = fromScope(key)
                } else if let text = deferred(value, "\(f("environment")).\(key)") {
                    service.environment[key] = text
                }
            }
        }
        if let node = map["tmpfs"], let items = reader.sequence(node, f("tmpfs")) {
            for (index, item) in items.enumerated() {
                guard let path = eager(item, "\(f("tmpfs"))[\(index)]") else { continue }
                if path.unicodeScalars.contains(":") {
                    reader.fail(.invalidValue, item, "\(f("tmpfs"))[\(index)]", "tmpfs options ('\(path)') are not supported; give the path only")
                }
                service.volumes.append(.long(type: "tmpfs", source: nil, target: path, readOnly: false))
            }
        }
        for kind in ComposeFiles.Kind.allCases {
            guard let node = map[kind.rawValue], let uses = files?.uses(kind, node, service: name) else { continue }
            service.volumes += uses.mounts
            service.files += uses.files
            service.sealedFiles += uses.sealed
        }
        if let node = map["pull_policy"], let value = eager(node, f("pull_policy")) {
            switch value {
            case "always", "never", "missing": service.pullPolicy = PullPolicy(rawValue: value)!
            case "if_not_present": service.pullPolicy = .missing
            case "build": warn(node, f("pull_policy"), "'pull_policy: build' is read as 'missing': Berth builds when the build context changes")
            default:
                reader.fail(
                    .invalidValue, node, f("pull_policy"), "unsupported pull policy '\(value)'; expected always, never, missing or if_not_present")
            }
        }
        return service
    }

    /// `env_file` entries, read now and final (not interpolated again): later files win, and
    /// `environment` overrides them all.
    func envFiles(_ node: Node, _ field: String) -> [String: String] {
        guard let items = reader.sequence(node, field) else { return [:] }
        var result: [String: String] = [:]
        var loaded: [String: String] = [:]
        for (index, item) in items.enumerated() {
            let path = "\(field)[\(index)]"
            var fileNode = item
            var required = true
            if case .mapping = item {
                guard let map = reader.mapping(item, path, allowed: ["path", "required", "format"]) else { continue }
                guard let node = reader.required(map, "path", path, in: item) else { continue }
                fileNode = node
                if let node = map["required"] { required = eagerBool(node, "\(path).required") ?? true }
            }
            guard let file = eager(fileNode, path) else { continue }
            if let refusal = FilesOutside(directory: directory, allowed: readOutside).refusal(file) {
                reader.fail(
                    .invalidValue, fileNode, path,
                    refusal.replacingOccurrences(of: "the stack directory", with: "the project directory") + " (x-berth: {read_outside: […]})")
                continue
            }
            let absolute = MountParser.absolute(file, directory: directory)
            guard let text = read(absolute) else {
                if required { reader.fail(.unreadableFile, fileNode, path, "cannot read env file '\(file)' (\(absolute))") }
                continue
            }
            filesRead[absolute] = text
            // As Compose: the project's variables first, then the files read before this one.
            let scope = self.scope
            let earlier = loaded
            let (values, failures) = EnvFile.expand(text) { scope[$0] ?? earlier[$0] }
            for (key, value) in values { loaded[key] = value }
            for (key, value) in values { result[key] = value }
            for failure in failures {
                reader.report(
                    ManifestError(.undefinedVariable, at: SourceLocation(file: absolute, line: failure.line, column: 1), field: nil, failure.message))
            }
        }
        return result
    }

    // MARK: Networks and volumes

    func network(_ name: String, _ node: Node) -> NetworkManifest? {
        var network = NetworkManifest(name: name, locations: FieldLocations(document: reader.location(node)))
        if ComposeMerge.isNull(node) { return network }
        guard
            let map = checkKeys(
                node, "networks.\(name)", supported: ["name", "driver", "internal", "external", "ipam"],
                ignored: ["attachable": "'attachable' applies to Swarm overlays", "labels": "network labels are Berth's own"],
                unsupported: ["driver_opts", "enable_ipv6", "enable_ipv4"])
        else { return nil }
        let f = { (key: String) in "networks.\(name).\(key)" }
        if let node = map["name"] { network.engineName = eager(node, f("name")) }
        if let node = map["driver"] { network.driver = eager(node, f("driver")) ?? "bridge" }
        if let node = map["internal"] { network.internal = eagerBool(node, f("internal")) ?? false }
        if let node = map["external"] {
            network.external = external(node, f("external"), engineName: &network.engineName)
            if network.external && network.engineName == nil { network.engineName = name }
        }
        if let node = map["ipam"], let ipam = checkKeys(node, f("ipam"), supported: ["config", "driver"], unsupported: ["options"]) {
            if let driver = ipam["driver"], let text = eager(driver, f("ipam.driver")), text != "default" {
                reader.fail(.invalidValue, driver, f("ipam.driver"), "IPAM driver '\(text)' is not supported; only 'default'")
            }
            if let config = ipam["config"], let items = reader.sequence(config, f("ipam.config")) {
                if items.count > 1 { reader.fail(.invalidValue, config, f("ipam.config"), "Berth supports one IPAM config (one subnet) per network") }
                if let first = items.first,
                    let entry = checkKeys(first, f("ipam.config[0]"), supported: ["subnet", "gateway"], unsupported: ["ip_range", "aux_addresses"])
                {
                    if let node = entry["subnet"], let subnet = eager(node, f("ipam.config[0].subnet")) {
                        IPAMCheck.subnet(subnet, node, f("ipam.config[0].subnet"), reader)
                        network.subnet = subnet
                    }
                    if let node = entry["gateway"], let gateway = eager(node, f("ipam.config[0].gateway")) {
                        IPAMCheck.gateway(gateway, subnet: network.subnet, node, f("ipam.config[0].gateway"), reader)
                        network.gateway = gateway
                    }
                }
            }
        }
        return network
    }

    func volume(_ name: String, _ node: Node) -> VolumeManifest? {
        var volume = VolumeManifest(name: name, locations: FieldLocations(document: reader.location(node)))
        if ComposeMerge.isNull(node) { return volume }
        guard
            let map = checkKeys(
                node, "volumes.\(name)", supported: ["name", "driver", "driver_opts", "external"],
                ignored: ["labels": "volume labels are Berth's own"])
        else { return nil }
        if let node = map["name"] { volume.engineName = eager(node, "volumes.\(name).name") }
        if let node = map["driver"] { volume.driver = eager(node, "volumes.\(name).driver") ?? "local" }
        if let node = map["driver_opts"], let entries = reader.entries(node, "volumes.\(name).driver_opts") {
            for (key, value) in entries { volume.driverOptions[key] = eager(value, "volumes.\(name).driver_opts.\(key)") }
            // A local bind volume's device is a host path: relative to the project, as Compose reads it.
            if volume.driver == "local", volume.driverOptions["o"] == "bind", let device = volume.driverOptions["device"] {
                if WindowsPath.isWindows(device) {
                    reader.fail(.invalidValue, node, "volumes.\(name).driver_opts.device", WindowsPath.message(device))
                }
                volume.driverOptions["device"] = MountParser.absolute(device, directory: directory)
            }
        }
        if let node = map["external"] {
            volume.external = external(node, "volumes.\(name).external", engineName: &volume.engineName)
            if volume.external && volume.engineName == nil { volume.engineName = name }
        }
        return volume
    }

    /// `external: true`, or the legacy `external: {name: …}`.
    func external(_ node: Node, _ field: String, engineName: inout String?) -> Bool {
        if case .mapping = node {
            if let map = reader.mapping(node, field, allowed: ["name"]), let nameNode = map["name"] {
                engineName = eager(nameNode, "\(field).name")
            }
            return true
        }
        return eagerBool(node, field) ?? false
    }
}

/// Compose's dialect: `x-` keys skipped, keys Compose has that Berth does not apply reported
/// (warnings when ignoring them changes nothing, errors otherwise), `${…}` checked against the
/// project's variables now.
extension ComposeReader: ManifestDialect {
    var policies: FieldPolicies {
        FieldPolicies(
            build: KeyPolicy(
                supported: ["context", "dockerfile", "args", "target", "dockerfile_inline", "labels"],
                ignored: ["cache_from": "", "cache_to": "", "tags": "", "pull": "", "no_cache": ""],
                unsupported: [
                    "network", "secrets", "ssh", "shm_size", "extra_hosts", "isolation", "privileged", "additional_contexts", "entitlements",
                    "ulimits", "platforms",
                ]),
            port: KeyPolicy(
                supported: ["target", "published", "host_ip", "protocol"],
                ignored: ["mode": "'mode' applies to Swarm", "name": "", "app_protocol": ""]),
            mount: KeyPolicy(
                supported: ["type", "source", "target", "read_only", "bind", "volume"],
                ignored: ["consistency": "'consistency' applies to Docker Desktop only"], unsupported: ["tmpfs", "image"]),
            attachment: KeyPolicy(
                supported: ["aliases", "ipv4_address"], ignored: ["priority": "", "gw_priority": ""],
                unsupported: ["ipv6_address", "link_local_ips", "mac_address", "driver_opts"]),
            healthcheck: KeyPolicy(
                supported: ["test", "interval", "timeout", "start_period", "retries", "disable"],
                ignored: ["start_interval": "'start_interval' needs Engine API 1.44; 'interval' applies throughout"]),
            dependency: KeyPolicy(supported: ["condition", "required", "restart"]))
    }

    func keys(_ node: Node, _ field: String, _ policy: KeyPolicy) -> [String: Node]? {
        checkKeys(node, field, supported: policy.supported, ignored: policy.ignored, unsupported: policy.unsupported)
    }

    func text(_ node: Node, _ field: String) -> String? { deferred(node, field) }
    func now(_ node: Node, _ field: String) -> String? { eager(node, field) }
    func unset(_ key: String) -> String? { fromScope(key) }
    /// As Compose: interpolated first, then split, so a variable that is empty leaves no argument
    /// and one holding spaces gives several.
    func words(_ node: Node, _ field: String) -> [String]? { eager(node, field).map { ShellWords.split($0).map(Self.literal) } }
}

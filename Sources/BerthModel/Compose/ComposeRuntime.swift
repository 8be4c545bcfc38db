import Yams

/// Compose's keys for how a container runs (`stop_signal`, `tty`, `cap_add`, `sysctls`, `ipc`,
/// `network_mode`, `volumes_from`, resource limits) and `deploy`, with the single-host meaning `docker compose up` gives them:
/// `deploy.resources` become the container's limits, `deploy.restart_policy` its restart policy,
/// and the Swarm-only parts are said to be ignored.
extension ComposeReader {
    static let runtimeKeys = [
        "stop_signal", "tty", "stdin_open", "cap_add", "cap_drop", "sysctls", "ipc", "mem_limit", "mem_reservation", "cpus", "pids_limit",
        "deploy", "network_mode", "volumes_from", "links", "runtime", "privileged", "read_only", "extra_hosts", "dns", "dns_search", "dns_opt",
        "security_opt", "shm_size", "ulimits", "pid", "group_add", "devices", "oom_score_adj", "cpu_shares", "memswap_limit", "userns_mode",
        "logging",
    ]

    func runtime(_ map: [String: Node], into service: inout ServiceManifest) {
        let name = service.name
        let f = { (key: String) in "\(name).\(key)" }
        var options = RuntimeOptions()
        let fields = ServiceFields(dialect: self)
        if let node = map["stop_signal"] { options.stopSignal = eager(node, f("stop_signal")) }
        if let node = map["tty"] { options.tty = fields.bool(node, f("tty")) ?? false }
        if let node = map["stdin_open"] { options.stdinOpen = fields.bool(node, f("stdin_open")) ?? false }
        if let node = map["cap_add"] { options.capAdd = fields.list(node, f("cap_add"), read: eager) }
        if let node = map["cap_drop"] { options.capDrop = fields.list(node, f("cap_drop"), read: eager) }
        if let node = map["sysctls"] {
            options.sysctls = fields.keyValues(node, f("sysctls"), unset: { _ in "" }).mapValues { value in
                (try? Interpolate.expand(value, scope: scope).get().text) ?? value  // a failure was reported while reading
            }
        }
        if let node = map["ipc"], let mode = eager(node, f("ipc")) {
            if mode.hasPrefix("service:") {
                reader.fail(.invalidValue, node, f("ipc"), "'ipc: \(mode)' is not supported; use 'container:NAME' with the container's name")
            } else {
                options.ipc = mode
            }
        }
        if let node = map["network_mode"] { networkMode(node, f("network_mode"), networks: map["networks"], &options, &service) }
        if let node = map["volumes_from"] { volumesFrom(node, f("volumes_from"), &options, &service) }
        if let node = map["mem_limit"] { options.memoryBytes = bytes(node, f("mem_limit")) }
        if let node = map["mem_reservation"] { options.memoryReservationBytes = bytes(node, f("mem_reservation")) }
        if let node = map["cpus"] { options.nanoCPUs = nanoCPUs(node, f("cpus")) }
        if let node = map["pids_limit"] { options.pidsLimit = fields.int(node, f("pids_limit"), range: -1...Int(Int32.max)).map(Int64.init) }
        if let node = map["deploy"] { deploy(node, f("deploy"), &options, &service) }
        if let node = map["links"] { links(node, f("links"), &options, &service) }
        host(map, name, &options)
        service.runtime = options
    }

    /// `host`, `none`, `bridge`, `container:NAME` or `service:NAME`; the last starts after that
    /// service, as Compose orders it.
    private func networkMode(_ node: Node, _ field: String, networks: Node?, _ options: inout RuntimeOptions, _ service: inout ServiceManifest) {
        guard let mode = eager(node, field) else { return }
        if networks != nil {
            reader.fail(.invalidValue, node, field, "'network_mode' and 'networks' cannot both be set; a container joins one or the other")
            return
        }
        let prefixes = ["container:", "service:"]
        guard ["host", "none", "bridge"].contains(mode) || prefixes.contains(where: { mode.hasPrefix($0) && mode.count > $0.count }) else {
            reader.fail(.invalidValue, node, field, "'\(mode)' is not a network mode; expected host, none, bridge, service:NAME or container:NAME")
            return
        }
        if mode.hasPrefix("service:") { dependOn(String(mode.dropFirst("service:".count)), node, &service) }
        options.networkMode = mode
    }

    /// Entries `SERVICE[:ro|:rw]` and `container:NAME[:ro|:rw]`, kept as `service:…` or
    /// `container:…` until the resolver knows the services' container names.
    private func volumesFrom(_ node: Node, _ field: String, _ options: inout RuntimeOptions, _ service: inout ServiceManifest) {
        guard let items = reader.sequence(node, field) else { return }
        for (index, item) in items.enumerated() {
            guard let entry = eager(item, "\(field)[\(index)]") else { continue }
            var parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            let mode = parts.count > 1 && ["ro", "rw"].contains(parts.last!) ? parts.removeLast() : nil
            let isContainer = parts.first == "container" && parts.count == 2
            guard let name = parts.last, !name.isEmpty, parts.count == (isContainer ? 2 : 1) else {
                reader.fail(.invalidValue, item, "\(field)[\(index)]", "'\(entry)' is not SERVICE[:ro|:rw] or container:NAME[:ro|:rw]")
                continue
            }
            if !isContainer { dependOn(name, item, &service) }
            options.volumesFrom.append((isContainer ? "container:" : "service:") + name + (mode.map { ":\($0)" } ?? ""))
        }
    }

    /// `SERVICE[:ALIAS]`: the service starts first and this container reaches it under the alias
    /// too, as the Engine's links give it. Kept as `service:NAME:ALIAS` until names are known.
    private func links(_ node: Node, _ field: String, _ options: inout RuntimeOptions, _ service: inout ServiceManifest) {
        guard let items = reader.sequence(node, field) else { return }
        for (index, item) in items.enumerated() {
            guard let entry = eager(item, "\(field)[\(index)]") else { continue }
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
                reader.fail(.invalidValue, item, "\(field)[\(index)]", "'\(entry)' is not SERVICE or SERVICE:ALIAS")
                continue
            }
            dependOn(parts[0], item, &service)
            options.links.append("service:\(parts[0]):\(parts.last!)")
        }
    }

    /// The Engine's host settings Compose passes through: runtime, privileges, DNS, limits, devices, logging.
    private func host(_ map: [String: Node], _ name: String, _ options: inout RuntimeOptions) {
        let f = { (key: String) in "\(name).\(key)" }
        let fields = ServiceFields(dialect: self)
        if let node = map["runtime"] { options.runtime = eager(node, f("runtime")) }
        if let node = map["privileged"] { options.privileged = fields.bool(node, f("privileged")) ?? false }
        if let node = map["read_only"] { options.readOnlyRootfs = fields.bool(node, f("read_only")) ?? false }
        if let node = map["extra_hosts"] { options.extraHosts = extraHosts(node, f("extra_hosts")) }
        if let node = map["dns"] { options.dns = fields.list(node, f("dns"), read: eager) }
        if let node = map["dns_search"] { options.dnsSearch = fields.list(node, f("dns_search"), read: eager) }
        if let node = map["dns_opt"] { options.dnsOptions = fields.list(node, f("dns_opt"), read: eager) }
        if let node = map["security_opt"] { options.securityOptions = fields.list(node, f("security_opt"), read: eager) }
        if let node = map["shm_size"] { options.shmSizeBytes = bytes(node, f("shm_size")) }
        if let node = map["ulimits"] { options.ulimits = ulimits(node, f("ulimits")) }
        if let node = map["pid"], let mode = eager(node, f("pid")) {
            if mode == "host" || (mode.hasPrefix("container:") && mode.count > 10) {
                options.pid = mode
            } else {
                reader.fail(.invalidValue, node, f("pid"), "'pid: \(mode)' is not supported; expected host or container:NAME")
            }
        }
        if let node = map["group_add"] { options.groupAdd = fields.list(node, f("group_add"), read: eager) }
        if let node = map["devices"] { options.devices = devices(node, f("devices")) }
        if let node = map["oom_score_adj"] { options.oomScoreAdj = fields.int(node, f("oom_score_adj"), range: -1000...1000) }
        if let node = map["cpu_shares"] { options.cpuShares = fields.int(node, f("cpu_shares"), range: 0...262_144).map(Int64.init) }
        if let node = map["memswap_limit"], let text = eager(node, f("memswap_limit")) {
            options.memorySwapBytes = text == "-1" ? -1 : bytes(node, f("memswap_limit"))
        }
        if let node = map["userns_mode"] { options.usernsMode = eager(node, f("userns_mode")) }
        if let node = map["logging"], let logging = checkKeys(node, f("logging"), supported: ["driver", "options"]) {
            let driver = logging["driver"].flatMap { eager($0, "\(f("logging")).driver") } ?? ""
            let values = logging["options"].map { fields.keyValues($0, "\(f("logging")).options", unset: { _ in nil }) } ?? [:]
            let expanded = values.mapValues { (try? Interpolate.expand($0, scope: scope).get().text) ?? $0 }
            options.logging = RuntimeOptions.Logging(driver: driver, options: expanded)
        }
    }

    /// `HOST:IP` or `HOST=IP` entries, or a mapping of host to address (or addresses), as `HOST:IP`.
    private func extraHosts(_ node: Node, _ field: String) -> [String] {
        if case .mapping = node, let entries = reader.entries(node, field) {
            return entries.flatMap { host, value -> [String] in
                let addresses = ComposeMerge.isNull(value) ? [] : ServiceFields(dialect: self).list(value, reader.join(field, host), read: eager)
                guard !addresses.isEmpty, !addresses.contains(where: \.isEmpty) else {
                    reader.fail(.invalidValue, value, reader.join(field, host), "'\(host)' is not HOST:IP or HOST=IP")
                    return []
                }
                return addresses.map { "\(host):\($0.hasPrefix("[") && $0.hasSuffix("]") ? String($0.dropFirst().dropLast()) : $0)" }
            }
        }
        return ServiceFields(dialect: self).list(node, field, read: eager).enumerated().compactMap { index, entry in
            let separator = entry.firstIndex(of: "=") ?? entry.firstIndex(of: ":")
            guard let separator, separator != entry.startIndex, entry.index(after: separator) != entry.endIndex else {
                reader.fail(.invalidValue, node, "\(field)[\(index)]", "'\(entry)' is not HOST:IP or HOST=IP")
                return nil
            }
            var address = String(entry[entry.index(after: separator)...])
            if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
            return "\(entry[..<separator]):\(address)"
        }
    }

    /// `nofile: 1024` (soft and hard) or `nofile: {soft: 1024, hard: 2048}`.
    private func ulimits(_ node: Node, _ field: String) -> [String: RuntimeOptions.Ulimit] {
        guard let entries = reader.entries(node, field) else { return [:] }
        let fields = ServiceFields(dialect: self)
        var result: [String: RuntimeOptions.Ulimit] = [:]
        for (name, value) in entries {
            let path = reader.join(field, name)
            if case .mapping = value {
                guard let map = checkKeys(value, path, supported: ["soft", "hard"]),
                    let soft = map["soft"].flatMap({ fields.int($0, "\(path).soft", range: -1...Int.max) }),
                    let hard = map["hard"].flatMap({ fields.int($0, "\(path).hard", range: -1...Int.max) })
                else {
                    reader.fail(.missingField, value, path, "a ulimit mapping needs both 'soft' and 'hard'")
                    continue
                }
                result[name] = .init(soft: Int64(soft), hard: Int64(hard))
            } else if let limit = fields.int(value, path, range: -1...Int.max) {
                result[name] = .init(soft: Int64(limit), hard: Int64(limit))
            }
        }
        return result
    }

    /// `HOST[:CONTAINER[:PERMISSIONS]]` or `{source, target, permissions}`; the target defaults to
    /// the host path and permissions to `rwm`, as Compose has them.
    private func devices(_ node: Node, _ field: String) -> [RuntimeOptions.Device] {
        guard let items = reader.sequence(node, field) else { return [] }
        var result: [RuntimeOptions.Device] = []
        for (index, item) in items.enumerated() {
            let path = "\(field)[\(index)]"
            if case .mapping = item {
                guard let map = checkKeys(item, path, supported: ["source", "target", "permissions"]),
                    let source = map["source"].flatMap({ eager($0, "\(path).source") })
                else { continue }
                let target = map["target"].flatMap { eager($0, "\(path).target") } ?? source
                result.append(
                    .init(source: source, target: target, permissions: map["permissions"].flatMap { eager($0, "\(path).permissions") } ?? "rwm"))
                continue
            }
            guard let entry = eager(item, path) else { continue }
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard (1...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }), parts[0].hasPrefix("/") else {
                reader.fail(.invalidValue, item, path, "'\(entry)' is not a device such as /dev/fuse or /dev/sda:/dev/xvda:rwm")
                continue
            }
            result.append(.init(source: parts[0], target: parts.count > 1 ? parts[1] : parts[0], permissions: parts.count > 2 ? parts[2] : "rwm"))
        }
        return result
    }

    /// A service whose namespace or volumes another one uses starts first.
    private func dependOn(_ name: String, _ node: Node, _ service: inout ServiceManifest) {
        guard !service.dependsOn.contains(where: { $0.service == name }) else { return }
        service.dependsOn.append(DependencyManifest(service: name, condition: .started))
        service.locations.record("\(service.name).depends_on.\(name)", reader.location(node))
    }

    private func deploy(_ node: Node, _ field: String, _ options: inout RuntimeOptions, _ service: inout ServiceManifest) {
        let swarm = "applies to Swarm services; a single host ignores it, as docker compose does"
        let onSwarm = target == .swarm
        let ignored =
            (onSwarm
            ? ["update_config": "Berth rolls one task at a time and lets the swarm roll a failed task back; 'deploy.update_config' is not read"]
            : ["placement": "", "update_config": ""])
            .merging(["labels": "'deploy.labels' \(swarm)", "rollback_config": ""].merging(onSwarm ? [:] : ["endpoint_mode": ""]) { a, _ in a }) {
                a, _ in a
            }
            .mapValues { $0.isEmpty ? swarm : $0 }
        guard
            let map = checkKeys(
                node, field, supported: ["resources", "restart_policy", "replicas", "mode"] + (onSwarm ? ["placement", "endpoint_mode"] : []),
                ignored: ignored)
        else { return }
        if onSwarm {
            swarmDeploy[service.name] = ServiceFields(dialect: self).swarmScheduling(map, field)
        } else {
            if let node = map["replicas"], let count = ServiceFields(dialect: self).int(node, "\(field).replicas", range: 0...10_000), count != 1 {
                reader.fail(
                    .invalidValue, node, "\(field).replicas",
                    "Berth runs one container per service; 'replicas: \(count)' needs 'x-berth: {target: swarm}'")
            }
            if let node = map["mode"], let mode = eager(node, "\(field).mode"), mode != "replicated" {
                reader.fail(
                    .invalidValue, node, "\(field).mode", "'mode: \(mode)' needs 'x-berth: {target: swarm}'; Berth runs one container per service")
            }
        }
        if let node = map["resources"], let resources = checkKeys(node, "\(field).resources", supported: ["limits", "reservations"]) {
            if let node = resources["limits"],
                let limits = checkKeys(node, "\(field).resources.limits", supported: ["cpus", "memory", "pids"], unsupported: ["devices"])
            {
                if let node = limits["cpus"] { options.nanoCPUs = nanoCPUs(node, "\(field).resources.limits.cpus") }
                if let node = limits["memory"] { options.memoryBytes = bytes(node, "\(field).resources.limits.memory") }
                if let node = limits["pids"] {
                    options.pidsLimit = ServiceFields(dialect: self).int(node, "\(field).resources.limits.pids", range: -1...Int(Int32.max))
                        .map(Int64.init)
                }
            }
            if let node = resources["reservations"],
                let reservations = checkKeys(
                    node, "\(field).resources.reservations", supported: ["memory"],
                    ignored: ["cpus": "a CPU reservation has no single-host meaning; docker compose ignores it too"],
                    unsupported: ["devices", "generic_resources"])
            {
                if let node = reservations["memory"] { options.memoryReservationBytes = bytes(node, "\(field).resources.reservations.memory") }
            }
        }
        if let node = map["restart_policy"] { restartPolicy(node, "\(field).restart_policy", &service) }
    }

    /// `condition: any | on-failure | none` with `max_attempts`, as Compose maps them onto the
    /// Engine's policies; it wins over `restart:`.
    private func restartPolicy(_ node: Node, _ field: String, _ service: inout ServiceManifest) {
        let pacing = "the Engine's restart policy has no pacing; its own back-off applies"
        guard
            let map = checkKeys(
                node, field, supported: ["condition", "max_attempts"], ignored: ["delay": pacing, "window": pacing])
        else { return }
        let condition = map["condition"].flatMap { eager($0, "\(field).condition") } ?? "any"
        let attempts = map["max_attempts"].flatMap { ServiceFields(dialect: self).int($0, "\(field).max_attempts", range: 0...1_000_000) }
        switch condition {
        case "any": service.restart = .always
        case "none": service.restart = .no
        case "on-failure": service.restart = .onFailure(maxRetries: attempts)
        default:
            reader.fail(.invalidValue, map["condition"], "\(field).condition", "unknown condition '\(condition)'; expected any, on-failure or none")
        }
    }

    private func bytes(_ node: Node, _ field: String) -> Int64? {
        guard let text = eager(node, field) else { return nil }
        guard let value = ByteSize.parse(text) else {
            reader.fail(.invalidValue, node, field, "'\(text)' is not a size such as 512m or 2g")
            return nil
        }
        return value
    }

    private func nanoCPUs(_ node: Node, _ field: String) -> Int64? {
        guard let text = eager(node, field) else { return nil }
        guard let value = Double(text), value >= 0, value <= 4096 else {
            reader.fail(.invalidValue, node, field, "'\(text)' is not a number of CPUs such as 0.5 or 2")
            return nil
        }
        return Int64((value * 1_000_000_000).rounded())
    }
}

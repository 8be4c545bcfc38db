import Yams

/// Compose's keys for how a container runs (`stop_signal`, `tty`, `cap_add`, `sysctls`, `ipc`,
/// `network_mode`, `volumes_from`, resource limits) and `deploy`, with the single-host meaning `docker compose up` gives them:
/// `deploy.resources` become the container's limits, `deploy.restart_policy` its restart policy,
/// and the Swarm-only parts are said to be ignored.
extension ComposeReader {
    static let runtimeKeys = [
        "stop_signal", "tty", "stdin_open", "cap_add", "cap_drop", "sysctls", "ipc", "mem_limit", "mem_reservation", "cpus", "pids_limit",
        "deploy", "network_mode", "volumes_from",
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

    /// A service whose namespace or volumes another one uses starts first.
    private func dependOn(_ name: String, _ node: Node, _ service: inout ServiceManifest) {
        guard !service.dependsOn.contains(where: { $0.service == name }) else { return }
        service.dependsOn.append(DependencyManifest(service: name, condition: .started))
        service.locations.record("\(service.name).depends_on.\(name)", reader.location(node))
    }

    private func deploy(_ node: Node, _ field: String, _ options: inout RuntimeOptions, _ service: inout ServiceManifest) {
        let swarm = "applies to Swarm services; a single host ignores it, as docker compose does"
        guard
            let map = checkKeys(
                node, field, supported: ["resources", "restart_policy", "replicas", "mode"],
                ignored: ["labels": "'deploy.labels' \(swarm)", "placement": "", "update_config": "", "rollback_config": "", "endpoint_mode": ""]
                    .mapValues { $0.isEmpty ? swarm : $0 })
        else { return }
        if let node = map["replicas"], let count = ServiceFields(dialect: self).int(node, "\(field).replicas", range: 0...10_000), count != 1 {
            reader.fail(.invalidValue, node, "\(field).replicas", "Berth runs one container per service; 'replicas: \(count)' is not supported")
        }
        if let node = map["mode"], let mode = eager(node, "\(field).mode"), mode != "replicated" {
            reader.fail(.invalidValue, node, "\(field).mode", "'mode: \(mode)' is not supported; Berth runs one container per service")
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

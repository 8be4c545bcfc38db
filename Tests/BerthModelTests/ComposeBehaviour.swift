import BerthModel
import Foundation

/// What a Compose project makes a host run, as flat `path = value` lines that can be compared:
/// one side from the model Docker Compose resolves (`docker compose config --format json`), the
/// other from Berth's `DesiredState`. Only what changes behaviour is listed; a key of Compose's
/// model that is neither listed nor known to change nothing becomes a line of its own, so an
/// unmodelled key can never make two projects look the same.
enum ComposeBehaviour {
    typealias Lines = [String: String]

    /// Keys of Compose's service model that change nothing on a single host (`expose` only
    /// documents, `develop` is `compose watch`), or that are compared through another key.
    static let inert: Set<String> = ["expose", "develop", "platform", "attach", "scale", "pull_policy"]

    // MARK: Compose's side

    static func compose(_ escaped: [String: Any], directory: String) -> Lines {
        // `config` writes `$` as `$$` so its output loads again; the container gets one `$`.
        let model = unescaped(escaped) as? [String: Any] ?? [:]
        let project = model["name"] as? String ?? ""
        let networks = model["networks"] as? [String: Any] ?? [:]
        let volumes = model["volumes"] as? [String: Any] ?? [:]
        let secrets = model["secrets"] as? [String: Any] ?? [:]
        let configs = model["configs"] as? [String: Any] ?? [:]
        func path(_ text: String) -> String {
            let home = FileManager.default.homeDirectoryForCurrentUser.path
            let expanded = text.replacingOccurrences(of: "{{dir}}", with: directory).replacingOccurrences(of: "/berth-corpus-home", with: home)
            return URL(fileURLWithPath: expanded).standardizedFileURL.path
        }
        func engineName(_ table: [String: Any], _ key: String) -> String { (table[key] as? [String: Any])?["name"] as? String ?? key }

        var lines: Lines = [:]
        for (name, value) in model["services"] as? [String: Any] ?? [:] {
            guard let service = value as? [String: Any] else { continue }
            var s: Lines = [:]
            let hasBuild = service["build"] != nil
            s["image"] = reference(service["image"] as? String ?? (hasBuild ? "\(project)-\(name)" : ""))
            s["name"] = service["container_name"] as? String ?? "\(project)-\(name)-1"
            if let build = service["build"] as? [String: Any] {
                s["build.context"] = path(build["context"] as? String ?? ".")
                s["build.dockerfile"] = build["dockerfile"] as? String ?? "Dockerfile"
                if let inline = build["dockerfile_inline"] as? String { s["build.dockerfile_inline"] = inline }
                s["build.args"] = json((build["args"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String })
                if let target = build["target"] { s["build.target"] = "\(target)" }
                if let labels = build["labels"] as? [String: String], !labels.isEmpty { s["build.labels"] = json(labels) }
                for key in build.keys where !["context", "dockerfile", "args", "target", "dockerfile_inline", "labels"].contains(key) {
                    s["build.\(key)"] = json(build[key])
                }
            }
            s["command"] = json(service["command"] as? [String])
            s["entrypoint"] = json(service["entrypoint"] as? [String])
            for (key, value) in service["environment"] as? [String: Any] ?? [:] {
                if let value = value as? String { s["env.\(key)"] = value }
            }
            s["ports"] = json(
                (service["ports"] as? [[String: Any]] ?? []).map { port in
                    let hostIP = port["host_ip"] as? String ?? ""
                    let published = port["published"].map { "\($0)" } ?? ""
                    return "\(hostIP):\(published):\(port["target"].map { "\($0)" } ?? "")/\(port["protocol"] as? String ?? "tcp")"
                }.sorted())
            var mounts: [String] = []
            for volume in service["volumes"] as? [[String: Any]] ?? [] {
                let type = volume["type"] as? String ?? "volume"
                var source = volume["source"] as? String ?? ""
                if type == "volume", !source.isEmpty { source = engineName(volumes, source) }
                if type == "bind" { source = path(source) }
                let readOnly = volume["read_only"] as? Bool ?? false
                mounts.append("\(type):\(source):\(volume["target"] as? String ?? "")\(readOnly ? ":ro" : "")")
            }
            for target in service["tmpfs"] as? [String] ?? [] { mounts.append("tmpfs::\(target)") }
            var files: [String] = []
            for (kind, table, base) in [("secrets", secrets, "/run/secrets/"), ("configs", configs, "/")] {
                for use in service[kind] as? [[String: Any]] ?? [] {
                    let source = use["source"] as? String ?? ""
                    let target = (use["target"] as? String).map { $0.hasPrefix("/") ? $0 : base + $0 } ?? base + source
                    let definition = table[source] as? [String: Any] ?? [:]
                    if let file = definition["file"] as? String {
                        mounts.append("bind:\(path(file)):\(target):ro")  // as Compose mounts a file's secret or config
                    } else if definition["environment"] != nil || definition["content"] != nil {
                        // Written into the container (pkg/compose/secrets.go): 0444 and root unless given.
                        let mode =
                            (use["mode"] as? String).flatMap { Int($0, radix: 8) }.map { String($0, radix: 8) }
                            ?? (use["mode"] as? Int).map { String($0, radix: 8) } ?? "444"
                        files.append("\(target) \(mode) \(use["uid"] as? String ?? "0"):\(use["gid"] as? String ?? "0")")
                    } else {
                        mounts.append("\(kind):\(json(definition)):\(target)")
                    }
                }
            }
            s["mounts"] = json(mounts.sorted())
            if !files.isEmpty { s["files"] = json(files.sorted()) }
            // The Engine takes container names where Compose writes `service:NAME`.
            func container(_ reference: String) -> String {
                guard !reference.hasPrefix("container:") else { return String(reference.dropFirst("container:".count)) }
                var parts = reference.replacingOccurrences(of: "service:", with: "").split(separator: ":").map(String.init)
                let other = (model["services"] as? [String: Any])?[parts[0]] as? [String: Any]
                parts[0] = other?["container_name"] as? String ?? "\(project)-\(parts[0])-1"
                return parts.joined(separator: ":")
            }
            if let from = service["volumes_from"] as? [String] { s["volumes_from"] = json(from.map(container)) }
            if let mode = service["network_mode"] as? String {
                s["network_mode"] = mode.hasPrefix("service:") ? "container:" + container(mode) : mode
            } else {
                for (network, options) in service["networks"] as? [String: Any] ?? [:] {
                    let options = options as? [String: Any] ?? [:]
                    let aliases = Set((options["aliases"] as? [String] ?? []) + [name]).sorted()
                    s["net.\(engineName(networks, network))"] = json(aliases) + " " + (options["ipv4_address"] as? String ?? "")
                }
            }
            if let check = service["healthcheck"] as? [String: Any] {
                if check["disable"] as? Bool == true || (check["test"] as? [String]) == ["NONE"] {
                    s["healthcheck"] = "disabled"
                } else {
                    s["healthcheck.test"] = json(check["test"] as? [String])
                    for key in ["interval", "timeout", "start_period"] {
                        s["healthcheck.\(key)"] = (check[key] as? String).flatMap(milliseconds).map(String.init) ?? "-"
                    }
                    s["healthcheck.retries"] = (check["retries"]).map { "\($0)" } ?? "-"
                }
            }
            s["restart"] = service["restart"] as? String ?? "no"
            let deploy = service["deploy"] as? [String: Any] ?? [:]
            if let policy = deploy["restart_policy"] as? [String: Any] {
                // How docker compose maps it for `up` (pkg/compose/create.go).
                switch policy["condition"] as? String ?? "any" {
                case "none": s["restart"] = "no"
                case "on-failure": s["restart"] = "on-failure" + ((policy["max_attempts"]).map { ":\($0)" } ?? "")
                default: s["restart"] = "always"
                }
            }
            let limits = (deploy["resources"] as? [String: Any])?["limits"] as? [String: Any] ?? [:]
            let reservations = (deploy["resources"] as? [String: Any])?["reservations"] as? [String: Any] ?? [:]
            func number(_ value: Any?) -> String? { value.map { "\($0)" }.flatMap { Double($0) }.map { String(Int64($0)) } }
            s["runtime"] = [
                "stop_signal=\(service["stop_signal"] as? String ?? "")", "tty=\(service["tty"] as? Bool ?? false)",
                "stdin_open=\(service["stdin_open"] as? Bool ?? false)", "cap_add=\(json((service["cap_add"] as? [String] ?? []).sorted()))",
                "cap_drop=\(json((service["cap_drop"] as? [String] ?? []).sorted()))",
                "sysctls=\(json((service["sysctls"] as? [String: Any] ?? [:]).mapValues { "\($0)" }))", "ipc=\(service["ipc"] as? String ?? "")",
                "memory=\(number(limits["memory"] ?? service["mem_limit"]) ?? "")",
                "memory_reservation=\(number(reservations["memory"] ?? service["mem_reservation"]) ?? "")",
                "nano_cpus=\(number((limits["cpus"] ?? service["cpus"]).map { "\($0)" }.flatMap { Double($0) }.map { $0 * 1e9 }) ?? "")",
                "pids=\(number(limits["pids"] ?? service["pids_limit"]) ?? "")",
            ].joined(separator: " ")
            if let replicas = deploy["replicas"] { s["replicas"] = "\(replicas)" }
            let ulimits = (service["ulimits"] as? [String: Any] ?? [:]).mapValues { value -> String in
                if let limits = value as? [String: Any] { return "\(limits["soft"] ?? ""):\(limits["hard"] ?? "")" }
                return "\(value):\(value)"
            }
            let logging = service["logging"] as? [String: Any]
            s["host"] = [
                "runtime=\(service["runtime"] as? String ?? "")", "privileged=\(service["privileged"] as? Bool ?? false)",
                "read_only=\(service["read_only"] as? Bool ?? false)",
                "extra_hosts=\(json((service["extra_hosts"] as? [String] ?? []).map { $0.replacingOccurrences(of: "=", with: ":") }.sorted()))",
                "dns=\(json(service["dns"] as? [String] ?? []))", "dns_search=\(json(service["dns_search"] as? [String] ?? []))",
                "dns_opt=\(json(service["dns_opt"] as? [String] ?? []))",
                "security_opt=\(json((service["security_opt"] as? [String] ?? []).sorted()))",
                "shm=\(number(service["shm_size"]) ?? "")", "ulimits=\(json(ulimits))", "pid=\(service["pid"] as? String ?? "")",
                "group_add=\(json((service["group_add"] as? [Any] ?? []).map { "\($0)" }.sorted()))",
                "devices=\(json((service["devices"] as? [[String: Any]] ?? []).map { "\($0["source"] ?? ""):\($0["target"] ?? ""):\($0["permissions"] ?? "")" }))",
                "oom_score_adj=\(service["oom_score_adj"].map { "\($0)" } ?? "")", "cpu_shares=\(service["cpu_shares"].map { "\($0)" } ?? "")",
                "memswap=\(number(service["memswap_limit"]) ?? "")", "userns=\(service["userns_mode"] as? String ?? "")",
                "logging=\(logging.map { "\($0["driver"] as? String ?? "") \(json(($0["options"] as? [String: Any] ?? [:]).mapValues { "\($0)" }))" } ?? "")",
                "links=\(json((service["links"] as? [String] ?? []).map { link in let p = link.split(separator: ":").map(String.init); return container(p[0]) + ":" + (p.last ?? "") }.sorted()))",
            ].joined(separator: " ")
            s["init"] = "\(service["init"] as? Bool ?? false)"
            s["stop_grace_ms"] = "\((service["stop_grace_period"] as? String).flatMap(milliseconds) ?? 10_000)"
            for key in ["hostname", "user", "working_dir"] { s[key] = service[key] as? String ?? "-" }
            s["labels"] = json(service["labels"] as? [String: String] ?? [:])
            s["depends_on"] = json(
                (service["depends_on"] as? [String: Any] ?? [:]).map { dependency, options in
                    "\(dependency):\((options as? [String: Any])?["condition"] as? String ?? "service_started")"
                }.sorted())
            for key in service.keys where !handled.contains(key) && !inert.contains(key) {
                s["compose.\(key)"] = json(service[key])
            }
            for (key, value) in s { lines["services.\(name).\(key)"] = value }
        }
        for (name, value) in networks {
            let network = value as? [String: Any] ?? [:]
            let ipam = ((network["ipam"] as? [String: Any])?["config"] as? [[String: Any]])?.first ?? [:]
            lines["networks.\(engineName(networks, name))"] = [
                network["driver"] as? String ?? "bridge", "\(network["internal"] as? Bool ?? false)",
                "\(network["external"] as? Bool ?? false)", ipam["subnet"] as? String ?? "-", ipam["gateway"] as? String ?? "-",
            ].joined(separator: " ")
        }
        for (name, value) in volumes {
            let volume = value as? [String: Any] ?? [:]
            lines["volumes.\(engineName(volumes, name))"] = [
                volume["driver"] as? String ?? "local", "\(volume["external"] as? Bool ?? false)",
                json((volume["driver_opts"] as? [String: String] ?? [:]).mapValues { $0.replacingOccurrences(of: "{{dir}}", with: directory) }),
            ].joined(separator: " ")
        }
        return lines
    }

    /// Service keys `compose(_:directory:)` reads.
    static let handled: Set<String> = [
        "image", "container_name", "build", "command", "entrypoint", "environment", "ports", "volumes", "tmpfs", "secrets", "configs",
        "networks", "network_mode", "healthcheck", "restart", "init", "stop_grace_period", "hostname", "user", "working_dir", "labels",
        "depends_on", "stop_signal", "tty", "stdin_open", "cap_add", "cap_drop", "sysctls", "ipc", "mem_limit", "mem_reservation", "cpus",
        "pids_limit", "deploy", "volumes_from", "runtime", "privileged", "read_only", "extra_hosts", "dns", "dns_search", "dns_opt",
        "security_opt", "shm_size", "ulimits", "pid", "group_add", "devices", "oom_score_adj", "cpu_shares", "memswap_limit", "userns_mode",
        "logging", "links",
    ]

    // MARK: Berth's side

    static func berth(_ state: DesiredState) -> Lines {
        var lines: Lines = [:]
        for spec in state.containers {
            var s: Lines = [:]
            s["image"] = reference(spec.image)
            s["name"] = spec.name
            if let build = spec.build {
                s["build.context"] = build.context
                s["build.dockerfile"] = build.dockerfile
                s["build.args"] = json(build.args)
                if let target = build.target { s["build.target"] = target }
                if let inline = build.dockerfileInline { s["build.dockerfile_inline"] = inline }
                if let labels = build.labels { s["build.labels"] = json(labels) }
            }
            s["command"] = json(spec.command)
            s["entrypoint"] = json(spec.entrypoint)
            for variable in spec.environment { s["env.\(variable.name)"] = variable.value }
            s["ports"] = json(spec.ports.map { "\($0.hostIP):\($0.published.map(String.init) ?? ""):\($0.target)/\($0.protocol)" }.sorted())
            s["mounts"] = json(spec.mounts.map(mount).sorted())
            for attachment in spec.networks {
                s["net.\(attachment.network)"] = json(Set(attachment.aliases + [spec.service]).sorted()) + " " + (attachment.ipv4Address ?? "")
            }
            if let check = spec.healthcheck {
                if check.isDisabled {
                    s["healthcheck"] = "disabled"
                } else {
                    s["healthcheck.test"] = json(check.test)
                    s["healthcheck.interval"] = check.intervalMilliseconds.map { String($0) } ?? "-"
                    s["healthcheck.timeout"] = check.timeoutMilliseconds.map { String($0) } ?? "-"
                    s["healthcheck.start_period"] = check.startPeriodMilliseconds.map { String($0) } ?? "-"
                    s["healthcheck.retries"] = check.retries.map { String($0) } ?? "-"
                }
            }
            s["restart"] = spec.restart.description
            let r = spec.runtime ?? RuntimeOptions()
            s["runtime"] = [
                "stop_signal=\(r.stopSignal ?? "")", "tty=\(r.tty)", "stdin_open=\(r.stdinOpen)", "cap_add=\(json(r.capAdd.sorted()))",
                "cap_drop=\(json(r.capDrop.sorted()))", "sysctls=\(json(r.sysctls))", "ipc=\(r.ipc ?? "")",
                "memory=\(r.memoryBytes.map(String.init) ?? "")", "memory_reservation=\(r.memoryReservationBytes.map(String.init) ?? "")",
                "nano_cpus=\(r.nanoCPUs.map(String.init) ?? "")", "pids=\(r.pidsLimit.map(String.init) ?? "")",
            ].joined(separator: " ")
            s["host"] = [
                "runtime=\(r.runtime ?? "")", "privileged=\(r.privileged)", "read_only=\(r.readOnlyRootfs)",
                "extra_hosts=\(json(r.extraHosts.sorted()))",
                "dns=\(json(r.dns))", "dns_search=\(json(r.dnsSearch))", "dns_opt=\(json(r.dnsOptions))",
                "security_opt=\(json(r.securityOptions.sorted()))",
                "shm=\(r.shmSizeBytes.map(String.init) ?? "")", "ulimits=\(json(r.ulimits.mapValues { "\($0.soft):\($0.hard)" }))",
                "pid=\(r.pid ?? "")",
                "group_add=\(json(r.groupAdd.sorted()))", "devices=\(json(r.devices.map { "\($0.source):\($0.target):\($0.permissions)" }))",
                "oom_score_adj=\(r.oomScoreAdj.map(String.init) ?? "")", "cpu_shares=\(r.cpuShares.map(String.init) ?? "")",
                "memswap=\(r.memorySwapBytes.map(String.init) ?? "")", "userns=\(r.usernsMode ?? "")",
                "logging=\(r.logging.map { "\($0.driver) \(json($0.options))" } ?? "")", "links=\(json(r.links.sorted()))",
            ].joined(separator: " ")
            if let files = spec.files { s["files"] = json(files.map { "\($0.target) \(String($0.mode, radix: 8)) \($0.uid):\($0.gid)" }.sorted()) }
            if let mode = r.networkMode { s["network_mode"] = mode }
            if !r.volumesFrom.isEmpty { s["volumes_from"] = json(r.volumesFrom) }
            s["init"] = "\(spec.initProcess)"
            s["stop_grace_ms"] = "\(spec.stopGraceSeconds * 1000)"
            s["hostname"] = spec.hostname ?? "-"
            s["user"] = spec.user ?? "-"
            s["working_dir"] = spec.workingDir ?? "-"
            s["labels"] = json(spec.labels)
            s["depends_on"] = json(spec.dependsOn.map { "\($0.service):service_\(condition($0.condition))" }.sorted())
            for (key, value) in s { lines["services.\(spec.service).\(key)"] = value }
        }
        for network in state.networks {
            lines["networks.\(network.engineName)"] = [
                network.driver, "\(network.internal)", "\(network.external)", network.subnet ?? "-", network.gateway ?? "-",
            ].joined(separator: " ")
        }
        for volume in state.volumes {
            lines["volumes.\(volume.engineName)"] = [volume.driver, "\(volume.external)", json(volume.options ?? [:])].joined(separator: " ")
        }
        return lines
    }

    /// An image reference as the Engine reads it: no tag means `latest`.
    static func reference(_ image: String) -> String {
        let last = image.split(separator: "/").last ?? ""
        return image.contains("@") || last.contains(":") ? image : image + ":latest"
    }

    static func mount(_ mount: MountSpec) -> String {
        "\(mount.kind.rawValue):\(mount.source ?? ""):\(mount.target)\(mount.readOnly ? ":ro" : "")"
    }

    static func condition(_ condition: DependencyCondition) -> String {
        switch condition {
        case .started: "started"
        case .healthy: "healthy"
        case .completed: "completed_successfully"
        }
    }

    // MARK: Comparing

    /// The lines that differ, as `path: compose ≠ berth`.
    static func differences(compose: Lines, berth: Lines) -> [String] {
        Set(compose.keys).union(berth.keys).sorted().compactMap { key in
            compose[key] == berth[key] ? nil : "\(key): \(compose[key] ?? "(none)") ≠ \(berth[key] ?? "(none)")"
        }
    }

    /// A Go duration as Compose writes it (`1m30s`, `500ms`, `10s`) in milliseconds.
    static func milliseconds(_ text: String) -> Int64? {
        var total = 0.0
        var number = ""
        var rest = Substring(text)
        let units: [(String, Double)] = [("ms", 1), ("us", 0.001), ("µs", 0.001), ("ns", 0.000_001), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        while let first = rest.first {
            if first.isNumber || first == "." {
                number.append(first)
                rest = rest.dropFirst()
                continue
            }
            guard let (unit, factor) = units.first(where: { rest.hasPrefix($0.0) }), let value = Double(number) else { return nil }
            total += value * factor
            number = ""
            rest = rest.dropFirst(unit.count)
        }
        return number.isEmpty ? Int64(total) : nil
    }

    static func unescaped(_ value: Any) -> Any {
        switch value {
        case let text as String: text.replacingOccurrences(of: "$$", with: "$")
        case let list as [Any]: list.map(unescaped)
        case let map as [String: Any]: map.mapValues(unescaped)
        default: value
        }
    }

    static func json(_ value: Any?) -> String {
        guard let value, !(value is NSNull) else { return "null" }
        guard JSONSerialization.isValidJSONObject([value]),
            let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys, .withoutEscapingSlashes])
        else { return "\(value)" }
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}

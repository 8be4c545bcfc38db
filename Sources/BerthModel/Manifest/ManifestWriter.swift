import Yams

/// Writes a `StackManifest` as Berth manifest files, the inverse of `ManifestParser`: what it
/// writes parses back to the same stack. Values are double-quoted, so `1.0` or `yes` stay text.
public enum ManifestWriter {
    /// File name → YAML text: `stack.yaml` (Stack, Networks, Volumes), `services.yaml`,
    /// `environments.yaml`, `connections.yaml` (each only when it has documents).
    public static func files(_ stack: StackManifest) throws -> [String: String] {
        var stackDocuments = [stackDocument(stack)]
        stackDocuments += stack.networks.sorted { $0.name < $1.name }.map(network)
        stackDocuments += stack.volumes.sorted { $0.name < $1.name }.map(volume)
        var result = ["stack.yaml": try text(stackDocuments, header: "The stack: its name, profiles and defaults; networks and volumes.")]
        if !stack.services.isEmpty {
            result["services.yaml"] = try text(stack.services.map(service), header: "What runs. Per-host values live in environments.yaml.")
        }
        if !stack.environments.isEmpty {
            result["environments.yaml"] = try text(
                stack.environments.map(environment), header: "Runtime values: variables, secrets, image versions.")
        }
        if !stack.connections.isEmpty {
            result["connections.yaml"] = try text(
                stack.connections.sorted { $0.name < $1.name }.map(connection), header: "What each service needs, per profile.")
        }
        return result
    }

    static func text(_ documents: [Node], header: String) throws -> String {
        try "# \(header)\n" + documents.map { try Yams.serialize(node: $0, sortKeys: false) }.joined(separator: "---\n")
    }

    // MARK: Documents

    static func stackDocument(_ stack: StackManifest) -> Node {
        document(
            "Stack", stack.name,
            [
                ("profiles", stack.profiles.isEmpty ? nil : list(stack.profiles)),
                ("default_profiles", stack.defaultProfiles.isEmpty ? nil : list(stack.defaultProfiles)),
                ("default_environment", stack.defaultEnvironment.map(string)),
            ])
    }

    static func service(_ service: ServiceManifest) -> Node {
        document(
            "Service", service.name,
            [
                ("image", string(service.image)),
                ("build", service.build.map(build)),
                ("container_name", service.containerName.map(string)),
                ("hostname", service.hostname.map(string)),
                ("command", service.command.map(list)),
                ("entrypoint", service.entrypoint.map(list)),
                ("environment", service.environment.isEmpty ? nil : stringMap(service.environment)),
                ("ports", service.ports.isEmpty ? nil : .sequence(Node.Sequence(service.ports.map(port)))),
                ("volumes", service.volumes.isEmpty ? nil : .sequence(Node.Sequence(service.volumes.map(mount)))),
                ("networks", service.networks.isEmpty ? nil : networks(service.networks)),
                ("healthcheck", service.healthcheck.map(healthcheck)),
                ("restart", service.restart == .no ? nil : string(service.restart.description)),
                ("init", service.initProcess ? plain("true") : nil),
                ("stop_grace_period", service.stopGracePeriod.map { plain(duration($0)) }),
                ("user", service.user.map(string)),
                ("working_dir", service.workingDir.map(string)),
                ("depends_on", service.dependsOn.isEmpty ? nil : mapping(service.dependsOn.map(dependency))),
                ("profiles", service.profiles.isEmpty ? nil : list(service.profiles)),
                (
                    "hooks",
                    service.hooks.isEmpty
                        ? nil : .sequence(Node.Sequence(service.hooks.map { mapping([("name", string($0.name)), ("command", list($0.command))]) }))
                ),
                ("labels", service.labels.isEmpty ? nil : stringMap(service.labels)),
                ("pull_policy", service.pullPolicy == .missing ? nil : plain(service.pullPolicy.rawValue)),
                (
                    "update",
                    service.update.map { update in
                        mapping([("order", plain(update.order.rawValue)), ("deadline", update.deadline.map { plain(duration($0)) })])
                    }
                ),
            ])
    }

    static func environment(_ environment: EnvironmentManifest) -> Node {
        document(
            "Environment", environment.name,
            [
                ("env_files", environment.envFiles.isEmpty ? nil : list(environment.envFiles)),
                ("variables", environment.variables.isEmpty ? nil : stringMap(environment.variables)),
                ("versions", environment.versions.isEmpty ? nil : stringMap(environment.versions)),
                (
                    "secrets",
                    environment.secrets.isEmpty
                        ? nil
                        : mapping(
                            environment.secrets.sorted { $0.key < $1.key }.map { key, source in
                                switch source {
                                case .file(let path): (key, mapping([("file", string(path))]))
                                case .environment(let variable): (key, mapping([("env", string(variable))]))
                                case .age(let path): (key, mapping([("age", string(path))]))
                                case .sops(let path, let sopsKey):
                                    (key, mapping([("sops", string(path))] + (sopsKey.map { [("key", string($0))] } ?? [])))
                                }
                            })
                ),
                ("timezone", environment.timezone.map(string)),
                ("recipients", environment.recipients.isEmpty ? nil : list(environment.recipients)),
            ])
    }

    static func connection(_ connection: ConnectionManifest) -> Node {
        document(
            "Connection", connection.name,
            [
                ("consumers", list(connection.consumers)),
                (
                    "targets",
                    mapping(
                        connection.targets.sorted { $0.key < $1.key }.map { profile, target in
                            (
                                profile,
                                mapping([
                                    ("service", target.service.map(string)), ("host", target.host.map(string)), ("port", target.port.map(string)),
                                ])
                            )
                        })
                ),
                ("env", stringMap(connection.environment)),
            ])
    }

    static func network(_ network: NetworkManifest) -> Node {
        let ipam =
            network.subnet == nil && network.gateway == nil
            ? nil : mapping([("subnet", network.subnet.map(string)), ("gateway", network.gateway.map(string))])
        return document(
            "Network", network.name,
            [
                ("engine_name", network.engineName.map(string)),
                ("driver", network.driver == "bridge" ? nil : string(network.driver)),
                ("internal", network.internal ? plain("true") : nil),
                ("external", network.external ? plain("true") : nil),
                ("ipam", ipam),
            ])
    }

    static func volume(_ volume: VolumeManifest) -> Node {
        document(
            "Volume", volume.name,
            [
                ("engine_name", volume.engineName.map(string)),
                ("driver", volume.driver == "local" ? nil : string(volume.driver)),
                (
                    "driver_opts",
                    volume.driverOptions.isEmpty ? nil : mapping(volume.driverOptions.sorted { $0.key < $1.key }.map { ($0.key, string($0.value)) })
                ),
                ("external", volume.external ? plain("true") : nil),
            ])
    }

    // MARK: Fields

    static func dependency(_ dependency: DependencyManifest) -> (String, Node?) {
        let condition = plain(dependency.condition.rawValue)
        return (dependency.service, dependency.required ? condition : mapping([("condition", condition), ("required", plain("false"))]))
    }

    static func build(_ build: BuildManifest) -> Node {
        mapping([
            ("context", string(build.context)),
            ("dockerfile", build.dockerfile == "Dockerfile" ? nil : string(build.dockerfile)),
            ("args", build.args.isEmpty ? nil : stringMap(build.args)),
        ])
    }

    static func port(_ port: PortManifest) -> Node {
        switch port {
        case .short(let text): string(text)
        case .long(let target, let published, let hostIP, let proto):
            mapping([
                ("target", string(target)), ("published", published.map(string)), ("host_ip", hostIP.map(string)), ("protocol", proto.map(string)),
            ])
        }
    }

    static func mount(_ mount: MountManifest) -> Node {
        switch mount {
        case .short(let text): string(text)
        case .long(let type, let source, let target, let readOnly):
            mapping([
                ("type", plain(type)), ("source", source.map(string)), ("target", string(target)), ("read_only", readOnly ? plain("true") : nil),
            ])
        }
    }

    static func networks(_ attachments: [NetworkAttachmentManifest]) -> Node {
        if attachments.allSatisfy({ $0.aliases.isEmpty && $0.ipv4Address == nil }) { return list(attachments.map(\.network)) }
        return mapping(
            attachments.map { attachment in
                (
                    attachment.network,
                    mapping([
                        ("aliases", attachment.aliases.isEmpty ? nil : list(attachment.aliases)),
                        ("ipv4_address", attachment.ipv4Address.map(string)),
                    ])
                )
            })
    }

    static func healthcheck(_ check: HealthcheckManifest) -> Node {
        if check.disabled { return mapping([("disable", plain("true"))]) }
        return mapping([
            ("test", list(check.test)),
            ("interval", check.interval.map { plain(duration($0)) }),
            ("timeout", check.timeout.map { plain(duration($0)) }),
            ("start_period", check.startPeriod.map { plain(duration($0)) }),
            ("retries", check.retries.map { plain(String($0)) }),
        ])
    }

    /// `1500ms`, or whole seconds as `2s`, which `DurationText` reads back exactly.
    static func duration(_ duration: Duration) -> String {
        let milliseconds = DurationText.milliseconds(duration)
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }

    // MARK: Nodes

    static func document(_ kind: String, _ name: String, _ fields: [(String, Node?)]) -> Node {
        mapping([("kind", plain(kind)), ("name", string(name))] + fields)
    }

    static func mapping(_ pairs: [(String, Node?)]) -> Node {
        .mapping(Node.Mapping(pairs.compactMap { key, value in value.map { (plain(key), $0) } }))
    }

    static func stringMap(_ values: [String: String]) -> Node {
        mapping(values.sorted { $0.key < $1.key }.map { ($0.key, string($0.value)) })
    }

    static func list(_ values: [String]) -> Node {
        .sequence(Node.Sequence(values.map(string), .implicit, .flow))
    }

    static func string(_ text: String) -> Node { .scalar(Node.Scalar(text, .implicit, .doubleQuoted)) }

    static func plain(_ text: String) -> Node { .scalar(Node.Scalar(text, .implicit, .plain)) }
}

import BerthSecrets
import Foundation

/// Facts only the Engine knows, which manifests may refer to, e.g. `${network.vswitch.gateway}`.
public struct NetworkFacts: Sendable, Equatable {
    /// Keyed by the Engine's network name.
    public var gateways: [String: String] = [:]
    public var subnets: [String: String] = [:]
    /// Every fact is pending, even one the manifest gives: a resolution with these facts has no
    /// pending fact exactly when the stack refers to none, so it holds whatever the host says.
    public let unknown: Bool
    public init(gateways: [String: String] = [:], subnets: [String: String] = [:], unknown: Bool = false) {
        self.gateways = gateways
        self.subnets = subnets
        self.unknown = unknown
    }

    /// Facts not read yet: see `unknown`.
    public static let unknownYet = NetworkFacts(unknown: true)
}

/// The choices and inputs of one resolution.
public struct ResolutionRequest: Sendable {
    /// Active profiles; `nil` means the stack's defaults.
    public var profiles: [String]?
    /// Environment name; `nil` means the stack's default (or the only one).
    public var environment: String?
    /// Berth's own process environment: overrides `variables` (as the shell overrides `.env` in
    /// Compose) and feeds `secrets: {env: …}`.
    public var processEnvironment: [String: String]
    /// Contents of env files and secret files, keyed by absolute path; read at the edge.
    public var files: [String: String]
    public var facts: NetworkFacts
    /// Encrypted secret files and the identities to open them.
    public var sealed = SealedFiles()
    /// When false, a secret whose file or variable is missing resolves to a placeholder instead of
    /// failing: `validate` checks every environment, but prod secrets exist only on prod hosts.
    public var requireSecrets = true

    public init(
        profiles: [String]? = nil, environment: String? = nil, processEnvironment: [String: String] = [:],
        files: [String: String] = [:], facts: NetworkFacts = NetworkFacts()
    ) {
        self.profiles = profiles
        self.environment = environment
        self.processEnvironment = processEnvironment
        self.files = files
        self.facts = facts
    }
}

/// Resolves a stack for a profile set and an environment into a `DesiredState`. Pure.
public enum Resolver {
    /// Label keys Berth stamps on what it creates.
    public enum Label {
        public static let stack = "berth.stack"
        public static let service = "berth.service"
        public static let specHash = "berth.spec-hash"
        public static let dependsOn = "berth.depends-on"
        public static let contextDigest = "berth.context-digest"
    }

    /// - Throws: `ManifestErrors` with every problem found.
    public static func resolve(_ stack: StackManifest, _ request: ResolutionRequest) throws(ManifestErrors) -> DesiredState {
        var resolution = Resolution(stack: stack, request: request)
        let state = resolution.run()
        if !resolution.errors.isEmpty { throw ManifestErrors(resolution.errors) }
        return state
    }

    /// The paths of every encrypted secret file (age, SOPS) the stack names, for the edge to read.
    public static func sealedFiles(_ stack: StackManifest) -> [String] {
        let environments = stack.environments.flatMap { $0.secrets.values.compactMap(\.sealedPath) }
        return Array(
            Set(environments.map { MountParser.absolute($0, directory: stack.directory) } + stack.services.flatMap { $0.sealedFiles.map(\.path) })
        )
        .sorted()
    }

    /// The paths of every env file and secret file the stack's environments name, for the edge to read.
    public static func referencedFiles(_ stack: StackManifest) -> [String] {
        stack.environments.flatMap { environment in
            environment.envFiles.map { MountParser.absolute($0, directory: stack.directory) }
                + environment.secrets.values.compactMap { source in
                    if case .file(let path) = source { return MountParser.absolute(path, directory: stack.directory) }
                    return nil
                }
        }
    }
}

/// One run of resolution, accumulating errors.
private struct Resolution {
    let stack: StackManifest
    let request: ResolutionRequest
    var errors: [ManifestError] = []
    var pendingFacts = Set<String>()
    /// Each connection's target for the chosen profiles, as resolved.
    var connections: [ResolvedConnection] = []
    var unavailableSecrets: [String] = []
    /// The stack's services by name: looked up per dependency, a scan made resolution quadratic.
    let servicesByName: [String: ServiceManifest]

    init(stack: StackManifest, request: ResolutionRequest) {
        self.stack = stack
        self.request = request
        servicesByName = Dictionary(stack.services.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    mutating func fail(_ code: ManifestError.Code, _ location: SourceLocation?, _ field: String, _ message: String) {
        errors.append(ManifestError(code, at: location, field: field, message))
    }

    mutating func run() -> DesiredState {
        let profiles = request.profiles ?? stack.defaultProfiles
        for profile in profiles where !stack.profiles.contains(profile) {
            fail(.unknownReference, nil, "--profile", "unknown profile '\(profile)'; the stack declares: \(stack.profiles.joined(separator: ", "))")
        }
        let environment = chooseEnvironment()
        let scope = variables(of: environment)
        let target = environment?.target ?? stack.target

        let active = stack.services.filter { $0.profiles.isEmpty || !Set($0.profiles).isDisjoint(with: profiles) }
        let activeNames = Set(active.map(\.name))
        let healthchecked = Set(active.filter { $0.healthcheck.map { !$0.disabled } ?? false }.map(\.name))
        let networks = Dictionary(stack.networks.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let volumes = Dictionary(stack.volumes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let stackName = stack.name
        let networkEngineName = { (name: String) -> String in
            networks[name].map { $0.engineName(in: stackName) } ?? "\(stackName)_\(name)"
        }
        let volumeEngineName = { (name: String) -> String in
            volumes[name].map { $0.engineName ?? "\(stackName)_\($0.name)" } ?? "\(stackName)_\(name)"
        }

        // Network facts referenced as ${network.NAME.gateway|subnet}.
        var factScope: [String: InterpolatedValue] = [:]
        for network in stack.networks {
            let engineName = networkEngineName(network.name)
            let facts = request.facts
            let gateway = facts.unknown ? nil : facts.gateways[engineName] ?? network.gateway ?? network.subnet.flatMap(IPv4.defaultGateway)
            let subnet = facts.unknown ? nil : facts.subnets[engineName] ?? network.subnet
            factScope["network.\(network.name).gateway"] = gateway.map { InterpolatedValue($0) } ?? Self.pending("network.\(network.name).gateway")
            factScope["network.\(network.name).subnet"] = subnet.map { InterpolatedValue($0) } ?? Self.pending("network.\(network.name).subnet")
        }

        let exports = connectionExports(profiles: profiles, active: activeNames, scope: scope, factScope: factScope)

        var containers: [ContainerSpec] = []
        var usedNetworks = Set<String>()
        var usedVolumes = Set<String>()
        for service in active.sorted(by: { $0.name < $1.name }) {
            let lookup = Self.lookup(scope, factScope)
            var spec = container(
                for: service, environment: environment, lookup: lookup, exports: exports[service.name] ?? [:],
                networkEngineName: networkEngineName, volumeEngineName: volumeEngineName)
            for dependency in service.dependsOn where dependency.required && !activeNames.contains(dependency.service) {
                fail(
                    .unknownReference, service.locations.of("\(service.name).depends_on"), "\(service.name).depends_on",
                    "depends on '\(dependency.service)', which is not active in profiles [\(profiles.joined(separator: ", "))]")
            }
            spec.dependsOn = mergedDependencies(service, exports: exports[service.name] ?? [:], active: activeNames, healthchecked: healthchecked)
            if service.runtime.networkMode == nil {
                usedNetworks.formUnion(service.networks.isEmpty ? ["default"] : service.networks.map(\.network))
            }
            usedVolumes.formUnion(service.volumes.compactMap(MountParser.namedVolume))
            check(spec, of: service, on: target)
            containers.append(spec)
        }

        let networkSpecs = usedNetworks.sorted().map { name in
            let manifest = networks[name]
            return NetworkSpec(
                name: name, engineName: networkEngineName(name), driver: manifest?.driver ?? "bridge",
                internal: manifest?.internal ?? false, subnet: manifest?.subnet, gateway: manifest?.gateway,
                external: manifest?.external ?? false)
        }
        let volumeSpecs = usedVolumes.sorted().compactMap { name in
            volumes[name].map {
                VolumeSpec(
                    name: name, engineName: volumeEngineName(name), driver: $0.driver,
                    options: $0.driverOptions.isEmpty ? nil : $0.driverOptions, external: $0.external, adopt: $0.adopt)
            }
        }
        var state = DesiredState(
            stack: stack.name, profiles: profiles, environment: environment?.name, containers: containers,
            networks: networkSpecs, volumes: volumeSpecs, pendingFacts: pendingFacts.sorted())
        state.unavailableSecrets = unavailableSecrets
        state.connections = connections
        if target == .swarm {
            state.target = .swarm
            let deployment = Self.deployment(of: active, stack: stack.swarm, environment: environment?.swarm)
            for service in active where deployment.services[service.name]?.dnsRoundRobin == true && !service.ports.isEmpty {
                fail(
                    .invalidValue, service.locations.of("\(service.name).ports"), "\(service.name).ports",
                    "not supported with 'endpoint_mode: dnsrr': the swarm publishes such a service's ports on each task's node only (host mode), which Berth does not map"
                )
            }
            state.swarm = deployment
        }
        return state
    }

    /// Each active service's scheduling: the environment's `swarm.deploy` entry, else the
    /// Stack's, over the service's own `replicas`.
    static func deployment(of services: [ServiceManifest], stack: SwarmManifest?, environment: SwarmManifest?) -> SwarmDeployment {
        var deployment = SwarmDeployment(secrets: environment?.secrets ?? stack?.secrets ?? .files)
        for service in services {
            let entry = environment?.deploy[service.name] ?? stack?.deploy[service.name]
            let mode: SwarmServiceDeploy.Mode = entry?.global == true ? .global : .replicated(entry?.replicas ?? service.replicas ?? 1)
            deployment.services[service.name] = SwarmServiceDeploy(
                mode: mode, constraints: entry?.constraints ?? [], preferences: entry?.preferences ?? [],
                dnsRoundRobin: entry?.dnsRoundRobin ?? false)
        }
        return deployment
    }

    /// What `target` cannot run: several replicas on one Engine; on a swarm, what this version
    /// does not map onto a Swarm service yet. Said once per field, where it is written.
    mutating func check(_ spec: ContainerSpec, of service: ServiceManifest, on target: DeployTarget) {
        let name = service.name
        switch target {
        case .engine:
            if let replicas = service.replicas, replicas != 1 {
                fail(
                    .invalidValue, service.locations.of("\(name).replicas"), "\(name).replicas",
                    "replicas: \(replicas) needs 'target: swarm'; a single Engine runs one container per service")
            }
        case .swarm:
            var unsupported: [(field: String, what: String)] = []
            if spec.build != nil { unsupported.append(("build", "a swarm pulls images, it does not build them; build and push first")) }
            if !spec.hooks.isEmpty { unsupported.append(("hooks", "hooks run in one container; a service has many tasks")) }
            if spec.ports.contains(where: { !$0.hostIP.isEmpty }) { unsupported.append(("ports", "a host address: Swarm publishes on every node")) }
            if spec.networks.contains(where: { $0.ipv4Address != nil }) { unsupported.append(("networks", "a fixed ipv4_address")) }
            if let runtime = spec.runtime, !runtime.swarmUnsupported.isEmpty {
                unsupported.append((runtime.swarmUnsupported.joined(separator: ", "), "not mapped onto Swarm services"))
            }
            for (field, what) in unsupported {
                let path = "\(name).\(field.split(separator: ",").first.map(String.init) ?? field)"
                fail(.invalidValue, service.locations.of(path), "\(name).\(field)", "not supported with 'target: swarm': \(what)")
            }
        }
    }

    /// A fact the Engine has not reported yet: the value knows it, its text only shows it.
    static func pending(_ fact: String) -> InterpolatedValue { InterpolatedValue("<pending:\(fact)>", pendingFacts: [fact]) }

    static func lookup(_ scope: [String: InterpolatedValue], _ extra: [String: InterpolatedValue]) -> @Sendable (String) -> InterpolatedValue? {
        { name in extra[name] ?? scope[name] }
    }

    mutating func chooseEnvironment() -> EnvironmentManifest? {
        let name = request.environment ?? stack.defaultEnvironment ?? (stack.environments.count == 1 ? stack.environments[0].name : nil)
        guard let name else {
            if !stack.environments.isEmpty {
                fail(.missingField, nil, "--environment", "choose an environment: \(stack.environments.map(\.name).sorted().joined(separator: ", "))")
            }
            return nil
        }
        guard let environment = stack.environment(name) else {
            let hint = nearest(name, in: stack.environments.map(\.name)).map { " (did you mean '\($0)'?)" } ?? ""
            fail(.unknownReference, nil, "--environment", "unknown environment '\(name)'\(hint)")
            return nil
        }
        return environment
    }

    /// The interpolation scope: env files, then `variables`, then secrets, then the process environment.
    mutating func variables(of environment: EnvironmentManifest?) -> [String: InterpolatedValue] {
        var scope: [String: InterpolatedValue] = [:]
        guard let environment else {
            for (key, value) in request.processEnvironment { scope[key] = InterpolatedValue(value) }
            return scope
        }
        for (index, file) in environment.envFiles.enumerated() {
            let path = MountParser.absolute(file, directory: stack.directory)
            guard let text = request.files[path] else {
                fail(
                    .unreadableFile, environment.locations.of("\(environment.name).env_files[\(index)]"), "\(environment.name).env_files[\(index)]",
                    "cannot read env file '\(file)' (\(path))")
                continue
            }
            for entry in EnvFile.parse(text) { scope[entry.key] = InterpolatedValue(entry.value) }
        }
        for (key, value) in environment.variables { scope[key] = InterpolatedValue(value) }
        for (key, value) in request.processEnvironment where environment.secrets[key] == nil { scope[key] = InterpolatedValue(value) }
        for (key, source) in environment.secrets.sorted(by: { $0.key < $1.key }) {
            let field = "\(environment.name).secrets.\(key)"
            // A missing secret still gets a placeholder, so its users do not report it again.
            scope[key] = InterpolatedValue("<unavailable secret \(key)>", isSecret: true)
            let problem: (ManifestError.Code, String)
            switch source {
            case .file(let file):
                let path = MountParser.absolute(file, directory: stack.directory)
                if let text = request.files[path] {
                    scope[key] = InterpolatedValue(text.trimmingCharacters(in: .newlines), isSecret: true)
                    continue
                }
                problem = (.unreadableFile, "cannot read secret file '\(file)' (\(path))")
            case .environment(let variable):
                if let value = request.processEnvironment[variable] {
                    scope[key] = InterpolatedValue(value, isSecret: true)
                    continue
                }
                problem = (.undefinedVariable, "secret '\(key)' reads variable '\(variable)' from Berth's environment, but it is not set")
            case .age(let file), .sops(let file, _):
                let path = MountParser.absolute(file, directory: stack.directory)
                let reading: SealedFiles.Reading = if case .sops(_, let sopsKey) = source { .sops(key: sopsKey) } else { .age }
                switch request.sealed.open(path, reading) {
                case .success(let text)?:
                    scope[key] = InterpolatedValue(text.trimmingCharacters(in: .newlines), isSecret: true)
                    continue
                case .failure(.noIdentity)? where !request.requireSecrets:
                    unavailableSecrets.append("\(environment.name).\(key)")
                    continue
                case .failure(let error)?:
                    // Decryption problems are errors even where a missing file is not: the file is here and wrong.
                    fail(.invalidValue, environment.locations.of(field), field, "secret '\(key)' (\(file)): \(error)")
                    continue
                case nil:
                    problem = (.unreadableFile, "cannot read encrypted secret file '\(file)' (\(path))")
                }
            }
            if request.requireSecrets {
                fail(problem.0, environment.locations.of(field), field, problem.1)
            } else {
                unavailableSecrets.append("\(environment.name).\(key)")
            }
        }
        if let timezone = environment.timezone, scope["TZ"] == nil { scope["TZ"] = InterpolatedValue(timezone) }
        return scope
    }

    /// Compose secrets from encrypted files, decrypted into files written into the container.
    mutating func sealedFiles(_ uses: [SealedFileUse]) -> [FileSpec] {
        uses.compactMap { use in
            switch request.sealed.open(use.path, .whole) {
            case .success(let content)?:
                return FileSpec(target: use.target, content: content, isSecret: true, mode: use.mode, uid: use.uid, gid: use.gid)
            case .failure(let error)?:
                fail(.invalidValue, use.location, use.field, "\(use.path): \(error)")
            case nil:
                fail(.unreadableFile, use.location, use.field, "cannot read encrypted secret file '\(use.path)'")
            }
            return nil
        }
    }

    /// Resolves each connection for the active profiles into the variables its consumers receive.
    mutating func connectionExports(
        profiles: [String], active: Set<String>, scope: [String: InterpolatedValue], factScope: [String: InterpolatedValue]
    ) -> [String: [String: (value: InterpolatedValue, connection: String, target: String?)]] {
        var result: [String: [String: (value: InterpolatedValue, connection: String, target: String?)]] = [:]
        for connection in stack.connections.sorted(by: { $0.name < $1.name }) {
            let consumers = connection.consumers.filter(active.contains)
            if consumers.isEmpty { continue }
            let chosen = profiles.compactMap { profile in connection.targets[profile].map { (profile, $0) } }
            if chosen.count > 1 {
                fail(
                    .invalidValue, connection.locations.of("\(connection.name).targets"), "\(connection.name).targets",
                    "profiles \(chosen.map(\.0).joined(separator: " and ")) both choose a target; activate only one")
                continue
            }
            guard let (key, target) = chosen.first ?? connection.targets["default"].map({ ("default", $0) }) else {
                fail(
                    .missingField, connection.locations.of("\(connection.name).targets"), "\(connection.name).targets",
                    "no target for profiles [\(profiles.joined(separator: ", "))]; add one for a profile or a 'default' target")
                continue
            }
            let field = "\(connection.name).targets.\(key)"
            let lookup = Resolution.lookup(scope, factScope)
            let host: InterpolatedValue
            if let service = target.service {
                guard active.contains(service) else {
                    fail(
                        .unknownReference, connection.locations.of("\(field).service"), "\(field).service",
                        "targets service '\(service)', which is not active in profiles [\(profiles.joined(separator: ", "))]")
                    continue
                }
                host = target.host.map { interpolate($0, lookup, connection.locations, "\(field).host") } ?? InterpolatedValue(service)
            } else {
                host = interpolate(target.host ?? "", lookup, connection.locations, "\(field).host")
            }
            var targetScope = ["host": host]
            if let template = target.port {
                let port = interpolate(template, lookup, connection.locations, "\(field).port")
                if let number = Int(port.text), !(1...65535).contains(number) {
                    fail(.outOfRange, connection.locations.of("\(field).port"), "\(field).port", "port \(number) is out of range 1...65535")
                }
                targetScope["port"] = port
            }
            connections.append(
                ResolvedConnection(
                    name: connection.name, profile: key, host: host.text, port: targetScope["port"].flatMap { Int($0.text) },
                    targetService: target.service, consumers: consumers.sorted()))
            let exportLookup = Resolution.lookup(scope, factScope.merging(targetScope) { a, _ in a })
            for (name, template) in connection.environment.sorted(by: { $0.key < $1.key }) {
                let value = interpolate(template, exportLookup, connection.locations, "\(connection.name).env.\(name)")
                for consumer in consumers { result[consumer, default: [:]][name] = (value, connection.name, target.service) }
            }
        }
        return result
    }

    mutating func interpolate(
        _ text: String, _ lookup: @escaping @Sendable (String) -> InterpolatedValue?, _ locations: FieldLocations, _ field: String
    ) -> InterpolatedValue {
        do {
            let undefined: Interpolator.Undefined = stack.undefinedVariablesAreBlank ? .blank({ _ in }) : .fail
            let value = try Interpolator(undefined: undefined, lookup: lookup).interpolate(text)
            pendingFacts.formUnion(value.pendingFacts)
            return value
        } catch {
            let code: ManifestError.Code = if case .syntax = error { .invalidValue } else { .undefinedVariable }
            fail(code, locations.of(field), field, error.message)
            return InterpolatedValue(text)
        }
    }

    mutating func container(
        for service: ServiceManifest, environment: EnvironmentManifest?, lookup: @escaping @Sendable (String) -> InterpolatedValue?,
        exports: [String: (value: InterpolatedValue, connection: String, target: String?)],
        networkEngineName: (String) -> String, volumeEngineName: (String) -> String
    ) -> ContainerSpec {
        let name = service.name
        let at = service.locations
        func text(_ value: String, _ field: String) -> String { interpolate(value, lookup, at, "\(name).\(field)").text }
        func list(_ values: [String]?, _ field: String) -> [String]? {
            values.map { $0.enumerated().map { index, value in text(value, "\(field)[\(index)]") } }
        }

        var env: [String: EnvironmentVariable] = [:]
        for (key, value) in service.environment {
            let resolved = interpolate(value, lookup, at, "\(name).environment.\(key)")
            env[key] = EnvironmentVariable(name: key, value: resolved.text, isSecret: resolved.isSecret || SecretNames.looksSecret(key))
        }
        for (key, export) in exports {
            env[key] = EnvironmentVariable(name: key, value: export.value.text, isSecret: export.value.isSecret || SecretNames.looksSecret(key))
        }
        if let tz = environment?.timezone, env["TZ"] == nil { env["TZ"] = EnvironmentVariable(name: "TZ", value: tz) }

        var ports: [PortSpec] = []
        for (index, port) in service.ports.enumerated() {
            let field = "\(name).ports[\(index)]"
            do {
                switch port {
                case .short(let raw): ports.append(try PortParser.parse(text(raw, "ports[\(index)]")))
                case .long(let target, let published, let hostIP, let proto):
                    ports.append(
                        try PortParser.long(
                            target: text(target, "ports[\(index)].target"), published: published.map { text($0, "ports[\(index)].published") },
                            hostIP: hostIP.map { text($0, "ports[\(index)].host_ip") }, protocol: proto.map { text($0, "ports[\(index)].protocol") }))
                }
            } catch {
                switch error {
                case .outOfRange(let value): fail(.outOfRange, at.of(field), field, "port \(value) is out of range 1...65535")
                case .invalid(let message): fail(.invalidValue, at.of(field), field, message)
                }
            }
        }

        var mounts: [MountSpec] = []
        for (index, mount) in service.volumes.enumerated() {
            let field = "\(name).volumes[\(index)]"
            switch mount {
            case .short(let raw):
                let value = text(raw, "volumes[\(index)]")
                if WindowsPath.isWindows(value) {
                    fail(.invalidValue, at.of(field), field, WindowsPath.message(value))
                } else if let spec = MountParser.parse(value, directory: stack.directory, volumeName: volumeEngineName) {
                    mounts.append(spec)
                } else {
                    fail(.invalidValue, at.of(field), field, "'\(value)' is not a mount such as data:/var/lib/data, ./conf:/etc/app:ro or /tmp/cache")
                }
            case .long(let type, let source, let target, let readOnly):
                let source = source.map { text($0, "volumes[\(index)].source") }
                let target = MountParser.cleanTarget(text(target, "volumes[\(index)].target"))
                switch type {
                case "tmpfs": mounts.append(MountSpec(kind: .tmpfs, source: nil, target: target, readOnly: readOnly))
                case "bind" where WindowsPath.isWindows(source ?? ""):
                    fail(.invalidValue, at.of("\(field).source"), "\(field).source", WindowsPath.message(source ?? ""))
                case "bind":
                    mounts.append(
                        MountSpec(
                            kind: .bind, source: MountParser.absolute(source ?? "", directory: stack.directory), target: target, readOnly: readOnly))
                default:
                    mounts.append(MountSpec(kind: .volume, source: source.map(volumeEngineName), target: target, readOnly: readOnly))
                }
            }
        }

        let attachments = (service.networks.isEmpty ? [NetworkAttachmentManifest(network: "default")] : service.networks).map { attachment in
            NetworkAttachment(
                network: networkEngineName(attachment.network),
                aliases: Array(Set([name] + attachment.aliases.map { text($0, "networks.\(attachment.network).aliases") })).sorted(),
                ipv4Address: attachment.ipv4Address.map { text($0, "networks.\(attachment.network).ipv4_address") })
        }

        let healthcheck = service.healthcheck.flatMap { check -> HealthcheckSpec? in
            if check.disabled { return .disabled }
            return HealthcheckSpec(
                test: list(check.test, "healthcheck.test") ?? [], intervalMilliseconds: check.interval.map(DurationText.milliseconds),
                timeoutMilliseconds: check.timeout.map(DurationText.milliseconds),
                startPeriodMilliseconds: check.startPeriod.map(DurationText.milliseconds), retries: check.retries)
        }

        var image = text(service.image, "image")
        if let version = environment?.versions[name] {
            let pinned = interpolate(version, lookup, environment!.locations, "\(environment!.name).versions.\(name)").text
            image = ImageName.withTag(image, pinned)
        } else if !ImageName.hasTagOrDigest(image) {
            image += ":latest"
        }

        var spec = ContainerSpec(
            service: name, name: service.containerName.map { text($0, "container_name") } ?? "\(stack.name)-\(name)",
            image: image,
            build: service.build.map { build in
                BuildSpec(
                    context: MountParser.absolute(text(build.context, "build.context"), directory: stack.directory),
                    dockerfile: text(build.dockerfile, "build.dockerfile").nonEmpty ?? "Dockerfile",
                    args: build.args.reduce(into: [:]) { $0[$1.key] = text($1.value, "build.args.\($1.key)") },
                    target: build.target.map { text($0, "build.target") }.flatMap(\.nonEmpty),
                    dockerfileInline: build.dockerfileInline.map { text($0, "build.dockerfile_inline") },
                    labels: build.labels.isEmpty ? nil : build.labels.reduce(into: [:]) { $0[$1.key] = text($1.value, "build.labels.\($1.key)") })
            },
            pullPolicy: service.pullPolicy, command: list(service.command, "command"), entrypoint: list(service.entrypoint, "entrypoint"),
            environment: env.values.sorted { $0.name < $1.name }, ports: ports.sorted(), mounts: mounts.sorted(),
            networks: attachments.sorted(), healthcheck: healthcheck, restart: service.restart,
            hostname: service.hostname.map { text($0, "hostname") }, user: service.user.map { text($0, "user") },
            workingDir: service.workingDir.map { text($0, "working_dir") },
            initProcess: service.initProcess,
            stopGraceSeconds: Int(service.stopGracePeriod.map(DurationText.milliseconds).map { ($0 + 999) / 1000 } ?? 10),
            labels: service.labels.reduce(into: [:]) { $0[$1.key] = text($1.value, "labels.\($1.key)") },
            dependsOn: [], hooks: service.hooks.map { HookSpec(name: $0.name, command: list($0.command, "hooks.\($0.name)") ?? []) },
            specHash: "")
        var sharedNames: [String: String] = [:]
        for other in service.dependsOn.map(\.service) where !service.runtime.isEmpty {
            let manifest = servicesByName[other]
            sharedNames[other] =
                manifest?.containerName.map { interpolate($0, lookup, manifest!.locations, "\(other).container_name").text }
                ?? "\(stack.name)-\(other)"
        }
        spec.runtime = service.runtime.isEmpty ? nil : Self.sharing(service.runtime) { sharedNames[$0] ?? "\(stack.name)-\($0)" }
        if spec.runtime?.networkMode != nil { spec.networks = [] }
        spec.files = service.files + sealedFiles(service.sealedFiles)
        if spec.files?.isEmpty == true { spec.files = nil }
        if let update = service.update {
            spec.update = UpdatePolicy(order: update.order, deadlineMilliseconds: update.deadline.map(DurationText.milliseconds))
            // Old and new run side by side: they cannot both hold a host port or a fixed address.
            if update.order == .startFirst, let port = ports.first(where: { $0.published != nil }) {
                fail(
                    .invalidValue, at.of("\(name).update.order"), "\(name).update.order",
                    "start-first cannot be used with a published host port (\(port)): the old and new container would both bind it; use stop-first")
            }
            if update.order == .startFirst, attachments.contains(where: { $0.ipv4Address != nil }) {
                fail(
                    .invalidValue, at.of("\(name).update.order"), "\(name).update.order",
                    "start-first cannot be used with a fixed ipv4_address: the old and new container would both need it; use stop-first")
            }
        }
        spec.specHash = SpecHash.compute(spec)
        return spec
    }

    /// `service:NAME` in `network_mode` and `volumes_from` become that service's container name,
    /// which is what the Engine takes.
    static func sharing(_ options: RuntimeOptions, containerName: (String) -> String) -> RuntimeOptions {
        var options = options
        func resolved(_ reference: String) -> String {
            guard reference.hasPrefix("service:") else { return String(reference.dropFirst(reference.hasPrefix("container:") ? 10 : 0)) }
            var parts = reference.dropFirst("service:".count).split(separator: ":").map(String.init)
            parts[0] = containerName(parts[0])
            return parts.joined(separator: ":")
        }
        if let mode = options.networkMode, mode.hasPrefix("service:") { options.networkMode = "container:" + resolved(mode) }
        options.volumesFrom = options.volumesFrom.map(resolved)
        options.links = options.links.map(resolved)
        return options
    }

    /// Declared dependencies plus one per internal connection target (healthy when the target has
    /// a healthcheck), so a consumer starts after what it connects to.
    /// - Parameters: `active`, `healthchecked`: the active services' names, computed once per
    ///   resolution (per service they made resolution quadratic in the number of services).
    func mergedDependencies(
        _ service: ServiceManifest, exports: [String: (value: InterpolatedValue, connection: String, target: String?)],
        active: Set<String>, healthchecked: Set<String>
    ) -> [Dependency] {
        var result = Dictionary(
            service.dependsOn.filter { active.contains($0.service) }.map { ($0.service, $0.condition) }, uniquingKeysWith: { _, b in b })
        for target in Set(exports.values.compactMap(\.target)) where result[target] == nil {
            result[target] = healthchecked.contains(target) ? .healthy : .started
        }
        return result.map { Dependency(service: $0.key, condition: $0.value) }.sorted { $0.service < $1.service }
    }
}

extension StackManifest {
    /// The Engine names of every network the manifests declare, whatever the profiles.
    public var networkEngineNames: Set<String> { Set(networks.map { $0.engineName(in: name) }) }
}

extension NetworkManifest {
    /// The Engine's name for this network of `stack`: its `name:` when given, else `<stack>_<name>`.
    func engineName(in stack: String) -> String { engineName ?? "\(stack)_\(name)" }
}

/// Image reference helpers.
public enum ImageName {
    static func hasTagOrDigest(_ image: String) -> Bool {
        if image.unicodeScalars.contains("@") { return true }
        let lastSlash = image.lastIndex(of: "/") ?? image.startIndex
        return image[lastSlash...].unicodeScalars.contains(":")
    }

    /// `registry:5000/app:1.2@sha256:…` → `registry:5000/app`.
    public static func repository(of image: String) -> String {
        var repository = image
        if let at = repository.firstIndex(of: "@") { repository = String(repository[..<at]) }
        let lastSlash = repository.lastIndex(of: "/") ?? repository.startIndex
        if let colon = repository[lastSlash...].lastIndex(of: ":") { repository = String(repository[..<colon]) }
        return repository
    }

    /// Replaces (or adds) the tag; a 40-hex commit id or any other tag text is used as given.
    static func withTag(_ image: String, _ tag: String) -> String {
        let repository = repository(of: image)
        return tag.hasPrefix("sha256:") ? "\(repository)@\(tag)" : "\(repository):\(tag)"
    }
}

/// Variable names whose values are treated as secrets wherever they come from (a Compose
/// `env_file`, a plain variable): shown hashed, never printed, logged or stored.
public enum SecretNames {
    static let markers = ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "CREDENTIAL"].map { Array($0.utf8) }

    /// Compared as bytes: Foundation's `String.contains(String)` goes through `NSString`, and
    /// every variable of every service is asked.
    public static func looksSecret(_ name: String) -> Bool {
        let upper = Array(name.uppercased().utf8)
        return markers.contains { marker in
            upper.count >= marker.count && (0...(upper.count - marker.count)).contains { upper[$0..<$0 + marker.count].elementsEqual(marker) }
        }
    }
}

extension String {
    /// The text, or nil when it is empty: an interpolated value that came out blank means unset.
    var nonEmpty: String? { isEmpty ? nil : self }
}

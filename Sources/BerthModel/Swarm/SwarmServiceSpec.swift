/// A Swarm service as Berth compares it: the fields Berth sets, in the manifests' own vocabulary.
/// The desired one is made from a resolved `ContainerSpec`; the observed one is read back from
/// the Engine's spec (at the edge). Comparing the two field by field says *what* changed, also
/// when someone changed the service by hand (`docker service update`, `docker service scale`).
public struct SwarmServiceSpec: Sendable, Codable, Equatable {
    public var service: String
    /// The service's name on the swarm (`STACK-SERVICE`, as the container's on one Engine).
    public var name: String
    public var image: String
    public var entrypoint: [String]?
    public var command: [String]?
    public var environment: [EnvironmentVariable]
    /// The tasks' container labels, Berth's ownership labels included.
    public var labels: [String: String]
    public var mounts: [MountSpec]
    /// By the networks' Engine names.
    public var networks: [NetworkAttachment]
    public var ports: [PortSpec]
    /// Tasks of a replicated service; 0 for a global one.
    public var replicas: Int
    /// One task on every node that satisfies the constraints, instead of `replicas`.
    public var global: Bool
    public var constraints: [String]
    /// Spread descriptors, in order.
    public var preferences: [String]
    /// The name resolves to the tasks' addresses (`endpoint_mode: dnsrr`), not a virtual IP.
    public var dnsRoundRobin = false
    /// Swarm secrets and configs mounted into the tasks.
    public var files: [SwarmFileReference]
    /// The stack's own named volumes among the mounts: a node that makes one for a task labels it
    /// as the stack's, so `down --volumes` finds it. Not compared (it only matters at creation).
    public var ownedVolumes: Set<String> = []
    /// Swarm's restart condition: `any`, or `on-failure` with at most `maxAttempts` restarts.
    public var restartCondition: String
    public var maxAttempts: Int?
    public var healthcheck: HealthcheckSpec?
    public var hostname: String?
    public var user: String?
    public var workingDir: String?
    public var initProcess: Bool
    public var stopGraceSeconds: Int
    /// Only the options a Swarm service carries (`RuntimeOptions.swarmUnsupported` refuses the rest).
    public var runtime: RuntimeOptions?
    public var updateOrder: UpdateOrder

    public init(
        service: String, name: String, image: String, entrypoint: [String]? = nil, command: [String]? = nil,
        environment: [EnvironmentVariable] = [], labels: [String: String] = [:], mounts: [MountSpec] = [], networks: [NetworkAttachment] = [],
        ports: [PortSpec] = [], replicas: Int = 1, global: Bool = false, constraints: [String] = [], preferences: [String] = [],
        files: [SwarmFileReference] = [], restartCondition: String = "any", maxAttempts: Int? = nil, healthcheck: HealthcheckSpec? = nil,
        hostname: String? = nil, user: String? = nil, workingDir: String? = nil, initProcess: Bool = false, stopGraceSeconds: Int = 10,
        runtime: RuntimeOptions? = nil, updateOrder: UpdateOrder = .stopFirst
    ) {
        self.service = service
        self.name = name
        self.image = image
        self.entrypoint = entrypoint
        self.command = command
        self.environment = environment
        self.labels = labels
        self.mounts = mounts
        self.networks = networks
        self.ports = ports
        self.replicas = replicas
        self.global = global
        self.constraints = constraints
        self.preferences = preferences
        self.files = files
        self.restartCondition = restartCondition
        self.maxAttempts = maxAttempts
        self.healthcheck = healthcheck
        self.hostname = hostname
        self.user = user
        self.workingDir = workingDir
        self.initProcess = initProcess
        self.stopGraceSeconds = stopGraceSeconds
        self.runtime = runtime
        self.updateOrder = updateOrder
    }

    /// The service a resolved container spec becomes on a swarm. Restart: the swarm keeps tasks
    /// running as `watch` keeps containers running on one Engine, so `no`, `always` and
    /// `unless-stopped` are all `any`; `on-failure[:N]` stays what it says. Files written into
    /// containers become Swarm secrets (secret ones) and configs, and secret environment values
    /// become secrets too unless the environment says `swarm: {secrets: environment}`.
    public init(
        _ spec: ContainerSpec, deploy: SwarmServiceDeploy, secrets delivery: SwarmSecretDelivery, stack: String, ownedVolumes: Set<String> = []
    ) {
        let (condition, attempts): (String, Int?) =
            if case .onFailure(let count) = spec.restart { ("on-failure", count) } else { ("any", nil) }
        let (replicas, global): (Int, Bool) =
            switch deploy.mode {
            case .replicated(let count): (count, false)
            case .global: (0, true)
            }
        let objectLabels = [Resolver.Label.stack: stack]
        var environment: [EnvironmentVariable] = []
        var files: [SwarmFileReference] = []
        for variable in spec.environment {
            // A swarm refuses an empty secret, and an empty value hides nothing.
            guard variable.isSecret, delivery == .files, !variable.value.isEmpty else {
                environment.append(variable)
                continue
            }
            let target = "/run/secrets/\(variable.name)"
            let name = SwarmObject.versionedName(stack: stack, logical: variable.name, content: variable.value)
            files.append(
                SwarmFileReference(object: SwarmObject(kind: .secret, name: name, content: variable.value, labels: objectLabels), target: target))
            environment.append(EnvironmentVariable(name: "\(variable.name)_FILE", value: target))
        }
        for file in spec.files ?? [] {
            let logical = file.target.split(separator: "/").last.map(String.init) ?? "file"
            let name = SwarmObject.versionedName(stack: stack, logical: logical, content: file.content)
            let object = SwarmObject(kind: file.isSecret ? .secret : .config, name: name, content: file.content, labels: objectLabels)
            files.append(SwarmFileReference(object: object, target: file.target, uid: file.uid, gid: file.gid, mode: file.mode))
        }
        self.init(
            service: spec.service, name: Self.name(of: spec, stack: stack), image: spec.image, entrypoint: spec.entrypoint, command: spec.command,
            environment: environment,
            labels: spec.labels.merging(
                [Resolver.Label.stack: stack, Resolver.Label.service: spec.service, Resolver.Label.specHash: spec.specHash]) { _, berth in berth },
            mounts: spec.mounts, networks: spec.networks, ports: spec.ports, replicas: replicas, global: global,
            constraints: deploy.constraints, preferences: deploy.preferences, files: files, restartCondition: condition,
            maxAttempts: attempts, healthcheck: spec.healthcheck, hostname: spec.hostname, user: spec.user, workingDir: spec.workingDir,
            initProcess: spec.initProcess, stopGraceSeconds: spec.stopGraceSeconds, runtime: spec.runtime, updateOrder: spec.updateOrder)
        self.dnsRoundRobin = deploy.dnsRoundRobin
        self.ownedVolumes = ownedVolumes.intersection(spec.mounts.filter { $0.kind == .volume }.compactMap(\.source))
    }

    /// The service's name on the swarm: the container's, without a Compose container's number
    /// (`shop-web-1`), which has no meaning for a service of many tasks.
    public static func name(of spec: ContainerSpec, stack: String) -> String {
        spec.name == "\(stack)-\(spec.service)-1" ? "\(stack)-\(spec.service)" : spec.name
    }

    /// The secrets and configs this service mounts, each once.
    public var objects: [SwarmObject] { files.map(\.object) }

    /// The fields that differ from `observed`, by their manifest names, in a stable order. The
    /// values never appear: an environment value may be a secret.
    public func changes(from observed: SwarmServiceSpec) -> [String] {
        func pairs(_ variables: [EnvironmentVariable]) -> [String] { variables.map { "\($0.name)=\($0.value)" }.sorted() }
        func attachments(_ networks: [NetworkAttachment]) -> [String] {
            networks.map { "\($0.network) \($0.aliases.sorted().joined(separator: ","))" }.sorted()
        }
        func ports(_ ports: [PortSpec]) -> [String] { ports.map { "\($0.published ?? 0):\($0.target)/\($0.protocol)" }.sorted() }
        func mounts(_ mounts: [MountSpec]) -> [String] { mounts.map(\.description).sorted() }
        let checks: [(String, Bool)] = [
            ("image", image == observed.image),
            ("entrypoint", entrypoint ?? [] == observed.entrypoint ?? []),
            ("command", command ?? [] == observed.command ?? []),
            ("environment", pairs(environment) == pairs(observed.environment)),
            ("labels", labels == observed.labels),
            ("volumes", mounts(self.mounts) == mounts(observed.mounts)),
            ("networks", attachments(networks) == attachments(observed.networks)),
            ("ports", ports(self.ports) == ports(observed.ports)),
            ("mode", global == observed.global),
            ("replicas", global || observed.global || replicas == observed.replicas),
            ("placement", constraints.sorted() == observed.constraints.sorted() && preferences == observed.preferences),
            ("endpoint_mode", dnsRoundRobin == observed.dnsRoundRobin),
            ("secrets", references(.secret) == observed.references(.secret)),
            ("configs", references(.config) == observed.references(.config)),
            ("restart", restartCondition == observed.restartCondition && maxAttempts ?? 0 == observed.maxAttempts ?? 0),
            ("healthcheck", healthcheck == observed.healthcheck),
            ("hostname", hostname ?? "" == observed.hostname ?? ""),
            ("user", user ?? "" == observed.user ?? ""),
            ("working_dir", workingDir ?? "" == observed.workingDir ?? ""),
            ("init", initProcess == observed.initProcess),
            ("stop_grace_period", stopGraceSeconds == observed.stopGraceSeconds),
            ("runtime", (runtime ?? RuntimeOptions()) == (observed.runtime ?? RuntimeOptions())),
            ("update.order", updateOrder == observed.updateOrder),
        ]
        return checks.filter { !$0.1 }.map(\.0)
    }

    private func references(_ kind: SwarmObject.Kind) -> [String] {
        files.filter { $0.object.kind == kind }.map(\.description).sorted()
    }

    /// How many tasks it runs, for people: `3` or `global`.
    public var taskCount: String { global ? "global" : String(replicas) }

    /// How long a rollout of this service may take before it counts as failed: the healthcheck's
    /// own give-up point for each task in turn, or a minute a task.
    public var rolloutDeadlineMilliseconds: Int64 {
        let perTask = healthcheck.flatMap { $0.isDisabled ? nil : $0.deadlineMilliseconds } ?? 60_000
        return perTask * Int64(max(replicas, 1)) + 30_000
    }

    public var redacted: SwarmServiceSpec {
        var copy = self
        copy.environment = environment.map(\.redacted)
        copy.files = files.map { reference in
            var reference = reference
            reference.object.content = nil
            return reference
        }
        return copy
    }
}

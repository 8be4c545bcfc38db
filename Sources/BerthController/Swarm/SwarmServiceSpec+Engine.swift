import BerthEngine
import BerthModel

/// Translating a swarm service between Berth's terms and the Engine's `ServiceSpec`, both ways:
/// what `create-service` and `update-service` send, and what the observer reads back to compare.
extension SwarmServiceSpec {
    /// The Engine's spec. Networks go by name (the Engine stores their ids); secrets and configs
    /// by id, from `objectIDs` (by name); the update policy rolls one task at a time and lets the
    /// swarm roll back a task that fails.
    func engineSpec(objectIDs: [String: String] = [:]) -> ServiceSpec {
        var container = ServiceSpec.ContainerSpec(image: image)
        container.labels = labels
        container.command = entrypoint
        container.args = command
        container.env = environment.map { "\($0.name)=\($0.value)" }
        container.hostname = hostname
        container.user = user
        container.dir = workingDir
        container.initProcess = initProcess
        container.stopGracePeriod = Int64(stopGraceSeconds) * 1_000_000_000
        let stackLabel = labels.filter { $0.key == Resolver.Label.stack }
        container.mounts = mounts.map {
            .init(
                type: $0.kind.rawValue, source: $0.source, target: $0.target, readOnly: $0.readOnly,
                volumeOptions: $0.source.map(ownedVolumes.contains) == true ? .init(labels: stackLabel) : nil)
        }
        if let healthcheck {
            container.healthCheck = .init(
                test: healthcheck.test, interval: healthcheck.intervalMilliseconds.map { $0 * 1_000_000 },
                timeout: healthcheck.timeoutMilliseconds.map { $0 * 1_000_000 },
                startPeriod: healthcheck.startPeriodMilliseconds.map { $0 * 1_000_000 }, retries: healthcheck.retries)
        }
        func references(_ kind: SwarmObject.Kind) -> [ServiceSpec.FileReference]? {
            let chosen = files.filter { $0.object.kind == kind }
            guard !chosen.isEmpty else { return nil }
            return chosen.map {
                ServiceSpec.FileReference(
                    file: .init(name: $0.target, uid: String($0.uid), gid: String($0.gid), mode: UInt32($0.mode)),
                    id: objectIDs[$0.object.name] ?? "", name: $0.object.name, isConfig: kind == .config)
            }
        }
        container.secrets = references(.secret)
        container.configs = references(.config)
        var resources: ServiceSpec.Resources?
        if let runtime {
            container.stopSignal = runtime.stopSignal
            container.tty = runtime.tty ? true : nil
            container.readOnly = runtime.readOnlyRootfs ? true : nil
            container.capabilityAdd = runtime.capAdd.isEmpty ? nil : runtime.capAdd
            container.capabilityDrop = runtime.capDrop.isEmpty ? nil : runtime.capDrop
            container.sysctls = runtime.sysctls.isEmpty ? nil : runtime.sysctls
            let limits = ServiceSpec.Resources.Values(nanoCPUs: runtime.nanoCPUs, memoryBytes: runtime.memoryBytes)
            let reservations = ServiceSpec.Resources.Values(nanoCPUs: nil, memoryBytes: runtime.memoryReservationBytes)
            resources = .init(
                limits: limits == .init(nanoCPUs: nil, memoryBytes: nil) ? nil : limits,
                reservations: reservations.memoryBytes == nil ? nil : reservations)
        }
        let template = ServiceSpec.TaskTemplate(
            containerSpec: container, resources: resources,
            restartPolicy: .init(condition: restartCondition, maxAttempts: maxAttempts),
            networks: networks.map { .init(target: $0.network, aliases: $0.aliases.isEmpty ? nil : $0.aliases) },
            placement: constraints.isEmpty && preferences.isEmpty
                ? nil
                : .init(
                    constraints: constraints.isEmpty ? nil : constraints,
                    preferences: preferences.isEmpty ? nil : preferences.map { .init(spread: $0) }))
        let endpoint =
            ports.isEmpty && !dnsRoundRobin
            ? nil
            : ServiceSpec.EndpointSpec(
                mode: dnsRoundRobin ? "dnsrr" : nil,
                ports: ports.isEmpty
                    ? nil : ports.map { .init(protocol: $0.protocol, targetPort: $0.target, publishedPort: $0.published, publishMode: "ingress") })
        return ServiceSpec(
            name: name, labels: ownership, taskTemplate: template, mode: global ? .init(global: true) : .init(replicas: replicas),
            updateConfig: .init(parallelism: 1, failureAction: "rollback", monitor: 5_000_000_000, order: updateOrder.rawValue),
            // Back the way it went: a start-first service keeps serving while it is rolled back too.
            rollbackConfig: .init(parallelism: 1, failureAction: "pause", monitor: 5_000_000_000, order: updateOrder.rawValue),
            endpointSpec: endpoint)
    }

    /// The service's own labels: whose it is, and the spec it was made from.
    var ownership: [String: String] {
        labels.filter { [Resolver.Label.stack, Resolver.Label.service, Resolver.Label.specHash].contains($0.key) }
    }

    /// A service as the Engine reports it, in Berth's terms. `networkNames` maps the network ids
    /// the Engine answers with back to names; an id it does not know stays an id (and so differs).
    init(observed spec: ServiceSpec, networkNames: [String: String]) {
        let container = spec.taskTemplate.containerSpec
        let labels = container.labels ?? [:]
        var runtime = RuntimeOptions()
        runtime.stopSignal = container.stopSignal
        runtime.tty = container.tty ?? false
        runtime.readOnlyRootfs = container.readOnly ?? false
        runtime.capAdd = container.capabilityAdd ?? []
        runtime.capDrop = container.capabilityDrop ?? []
        runtime.sysctls = container.sysctls ?? [:]
        runtime.nanoCPUs = spec.taskTemplate.resources?.limits?.nanoCPUs.flatMap { $0 == 0 ? nil : $0 }
        runtime.memoryBytes = spec.taskTemplate.resources?.limits?.memoryBytes.flatMap { $0 == 0 ? nil : $0 }
        runtime.memoryReservationBytes = spec.taskTemplate.resources?.reservations?.memoryBytes.flatMap { $0 == 0 ? nil : $0 }
        let health = container.healthCheck.map {
            HealthcheckSpec(
                test: $0.test, intervalMilliseconds: $0.interval.map { $0 / 1_000_000 }, timeoutMilliseconds: $0.timeout.map { $0 / 1_000_000 },
                startPeriodMilliseconds: $0.startPeriod.map { $0 / 1_000_000 }, retries: $0.retries)
        }
        let restart = spec.taskTemplate.restartPolicy
        let dnsRoundRobin = spec.endpointSpec?.mode == "dnsrr"
        let placement = spec.taskTemplate.placement
        let files = (container.secrets ?? []) + (container.configs ?? [])
        self.init(
            service: labels[Resolver.Label.service] ?? spec.labels[Resolver.Label.service] ?? spec.name, name: spec.name, image: container.image,
            entrypoint: container.command, command: container.args,
            environment: (container.env ?? []).map { entry in
                let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return EnvironmentVariable(name: String(parts[0]), value: parts.count > 1 ? String(parts[1]) : "")
            },
            labels: labels,
            mounts: (container.mounts ?? []).map {
                MountSpec(kind: MountSpec.Kind(rawValue: $0.type) ?? .volume, source: $0.source, target: $0.target, readOnly: $0.readOnly ?? false)
            },
            networks: (spec.taskTemplate.networks ?? []).map {
                NetworkAttachment(network: networkNames[$0.target] ?? $0.target, aliases: $0.aliases ?? [], ipv4Address: nil)
            },
            ports: (spec.endpointSpec?.ports ?? []).map {
                PortSpec(target: $0.targetPort, published: $0.publishedPort, hostIP: "", protocol: $0.protocol)
            },
            replicas: spec.mode.replicated?.replicas ?? 0, global: spec.mode.global != nil, constraints: placement?.constraints ?? [],
            preferences: (placement?.preferences ?? []).compactMap { $0.spread?.spreadDescriptor },
            files: files.map { reference in
                SwarmFileReference(
                    object: SwarmObject(kind: reference.isConfig ? .config : .secret, name: reference.name, content: nil),
                    target: reference.file?.name ?? "", uid: reference.file.flatMap { Int($0.uid) } ?? 0,
                    gid: reference.file.flatMap { Int($0.gid) } ?? 0, mode: Int(reference.file?.mode ?? 0o444))
            },
            restartCondition: restart?.condition ?? "any",
            maxAttempts: restart?.maxAttempts.flatMap { $0 == 0 ? nil : $0 }, healthcheck: health, hostname: container.hostname,
            user: container.user, workingDir: container.dir, initProcess: container.initProcess ?? false,
            stopGraceSeconds: Int((container.stopGracePeriod ?? 10_000_000_000) / 1_000_000_000),
            runtime: runtime == RuntimeOptions() ? nil : runtime,
            updateOrder: spec.updateConfig.flatMap { UpdateOrder(rawValue: $0.order) } ?? .stopFirst)
        self.dnsRoundRobin = dnsRoundRobin
    }
}

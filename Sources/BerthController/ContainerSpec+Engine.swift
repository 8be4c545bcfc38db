import BerthEngine
import BerthModel

/// Translating resolved specs into Engine request bodies.
extension ContainerSpec {
    /// The `POST /containers/create` body, with Berth's ownership labels. Only the first network
    /// can be given at create time on API 1.41; the executor connects the others before start.
    func createRequest(stack: String) -> ContainerCreateRequest {
        var request = ContainerCreateRequest(image: image)
        request.cmd = command
        request.entrypoint = entrypoint
        request.env = environment.map { "\($0.name)=\($0.value)" }
        request.labels = labels.merging(ownershipLabels(stack: stack)) { _, berth in berth }
        request.hostname = hostname
        request.user = user
        request.workingDir = workingDir
        request.stopTimeout = stopGraceSeconds
        if let healthcheck {
            request.healthcheck = .init(
                test: healthcheck.test, interval: healthcheck.intervalMilliseconds.map { $0 * 1_000_000 },
                timeout: healthcheck.timeoutMilliseconds.map { $0 * 1_000_000 },
                startPeriod: healthcheck.startPeriodMilliseconds.map { $0 * 1_000_000 }, retries: healthcheck.retries)
        }
        if !ports.isEmpty {
            request.exposedPorts = Dictionary(ports.map { ("\($0.target)/\($0.protocol)", .init()) }, uniquingKeysWith: { a, _ in a })
            // As in Compose, a port without a host port is published on one the Engine chooses.
            var bindings: [String: [PortBinding]] = [:]
            for port in ports {
                let binding = PortBinding(hostIp: port.hostIP, hostPort: port.published.map(String.init) ?? "")
                bindings["\(port.target)/\(port.protocol)", default: []].append(binding)
            }
            request.hostConfig.portBindings = bindings
        }
        let retries: Int? = if case .onFailure(let count) = restart { count } else { nil }
        request.hostConfig.restartPolicy = RestartPolicy(name: restart.name, maximumRetryCount: retries)
        request.hostConfig.initProcess = initProcess ? true : nil
        let binds = mounts.filter { $0.kind == .bind && $0.createHostPath == true }
        request.hostConfig.binds = binds.isEmpty ? nil : binds.map { "\($0.source ?? ""):\($0.target)\($0.readOnly ? ":ro" : "")" }
        let others = mounts.filter { !($0.kind == .bind && $0.createHostPath == true) }
        request.hostConfig.mounts = others.map { mount in
            .init(type: mount.kind.rawValue, source: mount.source, target: mount.target, readOnly: mount.readOnly)
        }
        if let runtime { runtime.apply(to: &request) }
        if let mode = runtime?.networkMode {
            request.hostConfig.networkMode = mode
        } else if let first = networks.first {
            request.hostConfig.networkMode = first.network
            var endpoint = first.endpoint
            endpoint.links = (runtime?.links).flatMap { $0.isEmpty ? nil : $0 }
            request.networkingConfig = .init(endpointsConfig: [first.network: endpoint])
        }
        return request
    }

    func ownershipLabels(stack: String) -> [String: String] {
        [
            Resolver.Label.stack: stack,
            Resolver.Label.service: service,
            Resolver.Label.specHash: specHash,
            Resolver.Label.dependsOn: dependsOn.map(\.service).joined(separator: ","),
        ]
    }
}

extension NetworkAttachment {
    var endpoint: EndpointRequest { EndpointRequest(aliases: aliases, ipv4Address: ipv4Address) }
}

extension NetworkSpec {
    func createRequest(stack: String) -> NetworkCreateRequest {
        let ipam = subnet.map { NetworkDetails.IPAM(config: [IPAMConfig(subnet: $0, gateway: gateway)]) }
        var request = NetworkCreateRequest(name: engineName, driver: driver, internal: `internal`, labels: [Resolver.Label.stack: stack], ipam: ipam)
        if driver == SwarmPlanner.networkDriver { request.attachable = true }
        return request
    }
}

extension RuntimeOptions {
    func apply(to request: inout ContainerCreateRequest) {
        request.stopSignal = stopSignal
        request.tty = tty ? true : nil
        request.openStdin = stdinOpen ? true : nil
        request.hostConfig.capAdd = capAdd.isEmpty ? nil : capAdd
        request.hostConfig.capDrop = capDrop.isEmpty ? nil : capDrop
        request.hostConfig.sysctls = sysctls.isEmpty ? nil : sysctls
        request.hostConfig.ipcMode = ipc
        request.hostConfig.memory = memoryBytes
        request.hostConfig.memoryReservation = memoryReservationBytes
        request.hostConfig.nanoCpus = nanoCPUs
        request.hostConfig.pidsLimit = pidsLimit
        request.hostConfig.volumesFrom = volumesFrom.isEmpty ? nil : volumesFrom
        if networkMode == "bridge" { request.hostConfig.links = links.isEmpty ? nil : links }
        request.hostConfig.runtime = runtime
        request.hostConfig.privileged = privileged ? true : nil
        request.hostConfig.readonlyRootfs = readOnlyRootfs ? true : nil
        request.hostConfig.extraHosts = extraHosts.isEmpty ? nil : extraHosts
        request.hostConfig.dns = dns.isEmpty ? nil : dns
        request.hostConfig.dnsSearch = dnsSearch.isEmpty ? nil : dnsSearch
        request.hostConfig.dnsOptions = dnsOptions.isEmpty ? nil : dnsOptions
        request.hostConfig.securityOpt = securityOptions.isEmpty ? nil : securityOptions
        request.hostConfig.shmSize = shmSizeBytes
        request.hostConfig.ulimits =
            ulimits.isEmpty ? nil : ulimits.sorted { $0.key < $1.key }.map { .init(name: $0.key, soft: $0.value.soft, hard: $0.value.hard) }
        request.hostConfig.pidMode = pid
        request.hostConfig.groupAdd = groupAdd.isEmpty ? nil : groupAdd
        request.hostConfig.devices =
            devices.isEmpty ? nil : devices.map { .init(pathOnHost: $0.source, pathInContainer: $0.target, cgroupPermissions: $0.permissions) }
        request.hostConfig.oomScoreAdj = oomScoreAdj
        request.hostConfig.cpuShares = cpuShares
        request.hostConfig.memorySwap = memorySwapBytes
        request.hostConfig.usernsMode = usernsMode
        request.hostConfig.logConfig = logging.map { .init(type: $0.driver, config: $0.options) }
    }
}

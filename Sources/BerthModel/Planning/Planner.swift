/// Computes the steps that take the host from `observed` to `desired`. Pure and deterministic:
/// phases run in a fixed order (networks, volumes, images, containers, orphans) over sorted names.
public enum Planner {
    public struct Options: Sendable {
        /// Remove a container Berth does not own when it holds a wanted name (`--replace`).
        public var replaceConflicts = false
        /// Services not to touch this time (crash-loop backoff): still desired, so not orphans.
        public var hold: Set<String> = []
        public init(replaceConflicts: Bool = false, hold: Set<String> = []) {
            self.replaceConflicts = replaceConflicts
            self.hold = hold
        }
    }

    /// - Parameters:
    ///   - previous: the last applied spec per service (from the reconcile log), to name what changed.
    ///   - switches: connections this reconcile moves to another target; a switch whose preflight
    ///     (in `observed.preflight`) failed leaves the plan without steps.
    public static func plan(
        desired: DesiredState, observed: ObservedState, previous: [String: ContainerSpec] = [:], switches: [ConnectionSwitch] = [],
        options: Options = Options()
    ) -> Plan {
        var builder = PlanBuilder(desired: desired, observed: observed, previous: previous, options: options)
        builder.plan.checks = observed.preflight
        if builder.plan.refused { return builder.plan }
        builder.switches = switches
        builder.planNetworks()
        builder.planVolumes()
        builder.planImages()
        builder.planContainers()
        builder.planOrphans()
        return builder.plan
    }

    /// Removes everything of `stack`: containers (dependents first), then networks, then, only with
    /// `removeVolumes`, its named volumes.
    public static func down(stack: String, observed: ObservedState, removeVolumes: Bool) -> Plan {
        var builder = PlanBuilder(
            desired: DesiredState(stack: stack, profiles: [], environment: nil, containers: [], networks: [], volumes: [], pendingFacts: []),
            observed: observed, previous: [:], options: Options())
        builder.planOrphans(cause: .down)
        if removeVolumes {
            let removals = builder.plan.steps.map(\.id)
            for volume in observed.volumes.filter({ $0.stack == stack }).sorted(by: { $0.name < $1.name }) {
                builder.add(.removeVolume(name: volume.name), .down, after: removals)
            }
        }
        return builder.plan
    }
}

/// Accumulates steps, remembering which step makes each resource ready.
private struct PlanBuilder {
    let desired: DesiredState
    let observed: ObservedState
    let previous: [String: ContainerSpec]
    let options: Planner.Options
    var plan: Plan

    /// Step after which a network / volume / image can be used.
    var networkReady: [String: Int] = [:]
    var volumeReady: [String: Int] = [:]
    var imageReady: [String: Int] = [:]
    /// Networks being recreated: kept containers must be reconnected.
    var recreatedNetworks = Set<String>()
    /// Images rebuilt from a changed context: their containers need recreating.
    var rebuiltImages = Set<String>()
    /// Images pulled because the registry has a new digest: (host's digest, registry's digest).
    var pulledImages: [String: (from: String, to: String)] = [:]
    /// Per service replaced this time: the step after which its rollout is done (healthy, and for
    /// start-first, serving under its aliases). Dependents are not touched before it.
    var rolloutDone: [String: Int] = [:]
    var blockedNetworks = Set<String>()
    /// Volumes of wanted names that someone else made and nobody adopted.
    var blockedVolumes = Set<String>()
    /// Per service: the step that starts it, and the gates dependents wait on.
    var startStep: [String: Int] = [:]
    /// Services whose container is made in this plan.
    var createdServices = Set<String>()
    var healthyGate: [String: Int] = [:]
    var completedGate: [String: Int] = [:]
    /// Steps that remove or disconnect containers, which network removal must follow.
    var detachSteps: [Int] = []
    /// Connections this plan points at another target: their retired targets wait for the consumers.
    var switches: [ConnectionSwitch] = []
    /// The service label of each container the stack owns, by id: the identity its steps carry.
    let serviceOfContainer: [String: String]
    /// Observed containers by name, looked up once per service: a scan per service made a
    /// plan quadratic in the size of the stack.
    let containerNamed: [String: ObservedContainer]

    init(desired: DesiredState, observed: ObservedState, previous: [String: ContainerSpec], options: Planner.Options) {
        self.desired = desired
        self.observed = observed
        self.previous = previous
        self.options = options
        self.plan = Plan(stack: desired.stack)
        let owned = observed.containers.filter { $0.stack == desired.stack }
        self.serviceOfContainer = Dictionary(owned.compactMap { c in c.service.map { (c.id, $0) } }, uniquingKeysWith: { first, _ in first })
        self.containerNamed = Dictionary(observed.containers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.ownedContainers = owned.sorted { ($0.service ?? "", $0.name) < ($1.service ?? "", $1.name) }
    }

    /// - Parameter service: the service the step is for, when its container is not the service's
    ///   own (a foreign container removed to free the service's name).
    @discardableResult
    mutating func add(_ operation: Operation, _ cause: Cause, after: [Int?] = [], for service: String? = nil) -> Int {
        let id = plan.steps.count + 1
        let dependsOn = Array(Set(after.compactMap { $0 })).sorted()
        let container = operation.container
        plan.steps.append(
            PlanStep(
                id: id, operation: operation, cause: cause, dependsOn: dependsOn, service: service ?? self.service(of: container),
                containerID: container?.existingID))
        return id
    }

    /// The service a container belongs to: the one a created container is made for, or the
    /// stack's label on an existing one.
    func service(of container: ContainerRef?) -> String? {
        switch container {
        case .created(let service, _): service
        case .existing(let id, _): serviceOfContainer[id]
        case nil: nil
        }
    }

    mutating func conflict(_ resource: String, _ reason: String) {
        plan.conflicts.append(Conflict(resource: resource, reason: reason))
    }

    func owned(_ labels: [String: String]) -> Bool { labels[Resolver.Label.stack] == desired.stack }

    /// The stack's containers, by service and name: sorted once, since three passes walk them.
    let ownedContainers: [ObservedContainer]

    // MARK: Networks

    mutating func planNetworks() {
        for network in desired.networks {
            let namesakes = observed.networks.filter { $0.name == network.engineName }
            let ours = namesakes.filter { owned($0.labels) }.sorted(by: ObservedNetwork.olderFirst)
            let current = ours.first ?? namesakes.first
            if ours.count > 1 {
                for extra in ours.dropFirst() {
                    networkReady[network.engineName] = add(.removeNetwork(name: extra.id), .duplicateNetwork)
                }
            }
            if network.external {
                if current == nil { conflict("network \(network.engineName)", "external network does not exist; create it first") }
                continue
            }
            guard let current else {
                networkReady[network.engineName] = add(.createNetwork(network), .missing)
                continue
            }
            guard owned(current.labels) else {
                blockedNetworks.insert(network.engineName)
                conflict(
                    "network \(network.engineName)",
                    "exists but is not managed by stack \(desired.stack) (id \(current.id.prefix(12))); remove it or mark the network external")
                continue
            }
            guard let change = difference(network, current) else { continue }
            var detaches: [Int] = []
            for container in ownedContainers where container.networks.contains(network.engineName) {
                detaches.append(
                    add(.disconnectNetwork(.existing(id: container.id, name: container.name), network: network.engineName), .networkChanged(change)))
            }
            detachSteps += detaches
            let removal = add(.removeNetwork(name: network.engineName), .networkChanged(change), after: detaches)
            networkReady[network.engineName] = add(.createNetwork(network), .networkChanged(change), after: [removal])
            recreatedNetworks.insert(network.engineName)
        }
    }

    func difference(_ spec: NetworkSpec, _ current: ObservedNetwork) -> String? {
        if spec.driver != current.driver { return "driver" }
        if spec.internal != current.internal { return "internal" }
        if let subnet = spec.subnet, subnet != current.subnet { return "subnet" }
        if let gateway = spec.gateway, gateway != current.gateway { return "gateway" }
        return nil
    }

    // MARK: Volumes and images

    mutating func planVolumes() {
        for volume in desired.volumes {
            if let current = observed.volumes.first(where: { $0.name == volume.engineName }) {
                if volume.external || owned(current.labels) || observed.adoptedVolumes.contains(volume.engineName) { continue }
                // Someone else's volume on a wanted name: mounting it would hand its data to the
                // stack. Only an explicit adoption makes it the stack's.
                if volume.adopt {
                    volumeReady[volume.engineName] = add(.adoptVolume(name: volume.engineName), .adopted)
                } else if current.labels["com.docker.compose.project"] == desired.stack && current.labels["com.docker.compose.volume"] == volume.name
                {
                    // The same project's volume, made by `docker compose up`: moving a project to
                    // Berth keeps its data.
                    volumeReady[volume.engineName] = add(.adoptVolume(name: volume.engineName), .composeVolume)
                } else {
                    blockedVolumes.insert(volume.engineName)
                    conflict(
                        "volume \(volume.engineName)",
                        "exists but was not made by stack \(desired.stack) (it has no berth.stack label), so its data is not the stack's; "
                            + "adopt it (adopt: true on the Volume, or berth adopt volume \(volume.engineName)), or remove or rename it")
                }
                continue
            }
            if volume.external {
                conflict("volume \(volume.engineName)", "external volume does not exist; create it first")
            } else {
                volumeReady[volume.engineName] = add(.createVolume(volume), .missing)
            }
        }
    }

    mutating func planImages() {
        var seen = Set<String>()
        for spec in desired.containers where seen.insert(spec.image).inserted {
            let builder = desired.containers.first { $0.image == spec.image && $0.build != nil }
            let image = observed.images[spec.image]
            let present = image != nil
            if let build = builder?.build, !present {
                imageReady[spec.image] = add(.buildImage(image: spec.image, build), .imageMissing)
            } else if let build = builder?.build, let digest = observed.buildContexts[build.digestKey], image?.contextDigest != digest {
                imageReady[spec.image] = add(.buildImage(image: spec.image, build), .buildContextChanged)
                rebuiltImages.insert(spec.image)
            } else if builder == nil, let answer = observed.registryDigests[spec.image] {
                planPull(spec.image, answer, local: image)
            } else if spec.pullPolicy == .always && !(present && spec.image.unicodeScalars.contains("@")) {
                imageReady[spec.image] = add(.pullImage(image: spec.image), .pullAlways)
            } else if !present {
                if spec.pullPolicy == .never {
                    conflict("image \(spec.image)", "not on the host and pull_policy is never")
                } else {
                    imageReady[spec.image] = add(.pullImage(image: spec.image), .imageMissing)
                }
            }
        }
    }

    /// Pulls when the registry serves another digest than the host has; the containers of that
    /// image are then recreated in the same plan (`imageChanged`).
    mutating func planPull(_ reference: String, _ answer: RegistryAnswer, local: ObservedImage?) {
        switch answer {
        case .unreachable(let message):
            conflict("image \(reference)", "cannot ask its registry for the current digest: \(message)")
        case .digest(let remote):
            let current = local.flatMap { $0.digest(for: reference) ?? $0.id }
            guard current != remote else { return }
            imageReady[reference] = add(.pullImage(image: reference), local == nil ? .imageMissing : .registryNewer(local: current, remote: remote))
            if let current { pulledImages[reference] = (current, remote) }
        }
    }

    // MARK: Containers

    mutating func planContainers() {
        let byService = Dictionary(grouping: ownedContainers.filter { $0.service != nil }, by: { $0.service! })
        for spec in dependencyOrder() where !options.hold.contains(spec.service) {
            planContainer(spec, candidates: byService[spec.service] ?? [])
        }
    }

    /// Services sorted so each comes after what it depends on (names break ties): by depth (the
    /// longest chain of dependencies below a service), then by name. Linear in services and
    /// edges; dependencies outside the desired state do not count.
    func dependencyOrder() -> [ContainerSpec] {
        let specs = Dictionary(desired.containers.map { ($0.service, $0) }, uniquingKeysWith: { first, _ in first })
        var depth: [String: Int] = [:]
        // Depth-first without recursion (a chain of thousands would run out of a task's stack):
        // a service is finished once all its dependencies are. A cycle would have failed
        // validation; if one got here, its back edge does not count.
        func depthOf(_ root: String) -> Int {
            var stack: [String] = [root]
            var entered = Set<String>()
            while let service = stack.last {
                if depth[service] != nil {
                    stack.removeLast()
                    continue
                }
                let dependencies = (specs[service]?.dependsOn ?? []).map(\.service).filter { specs[$0] != nil }
                if entered.insert(service).inserted {
                    stack += dependencies.filter { depth[$0] == nil && !entered.contains($0) }
                } else {
                    depth[service] = 1 + (dependencies.compactMap { depth[$0] }.max() ?? -1)
                    stack.removeLast()
                }
            }
            return depth[root] ?? 0
        }
        return desired.containers.map { ($0, depthOf($0.service)) }
            .sorted { ($0.1, $0.0.service) < ($1.1, $1.0.service) }
            .map(\.0)
    }

    /// The container to keep: right spec and name first, then right spec, then running.
    func keeper(_ candidates: [ObservedContainer], _ spec: ContainerSpec) -> ObservedContainer? {
        candidates.max { a, b in score(a, spec) < score(b, spec) }
    }

    func score(_ container: ObservedContainer, _ spec: ContainerSpec) -> (Int, Int, Int, String) {
        (container.specHash == spec.specHash ? 1 : 0, container.name == spec.name ? 1 : 0, container.isRunning ? 1 : 0, container.id)
    }

    mutating func planContainer(_ spec: ContainerSpec, candidates: [ObservedContainer]) {
        // The Engine is already removing one: acting now would race it; its `destroy` triggers the next reconcile.
        if let removing = candidates.first(where: { $0.state == "removing" }) {
            plan.waiting.append(
                Conflict(
                    resource: "container \(removing.name)", reason: "is being removed by the Engine; it converges on the next reconcile",
                    service: spec.service))
            return
        }
        let keeper = keeper(candidates, spec)
        var nameFree: [Int] = []
        for extra in candidates where extra.id != keeper?.id {
            let ref = ContainerRef.existing(id: extra.id, name: extra.name)
            let stop = add(.stopContainer(ref, timeoutSeconds: nil), .duplicate)
            let removal = add(.removeContainer(ref), .duplicate, after: [stop])
            detachSteps.append(removal)
            if extra.name == spec.name || extra.name == spec.stagedName { nameFree.append(removal) }
        }
        if let foreign = containerNamed[spec.name], !owned(foreign.labels) {
            guard options.replaceConflicts else {
                conflict(
                    "container \(spec.name)",
                    "name is held by container \(foreign.shortID) which stack \(desired.stack) does not own; remove or rename it, or pass --replace")
                return
            }
            let ref = ContainerRef.existing(id: foreign.id, name: foreign.name)
            let stop = add(.stopContainer(ref, timeoutSeconds: nil), .conflictReplaced, for: spec.service)
            nameFree.append(add(.removeContainer(ref), .conflictReplaced, after: [stop], for: spec.service))
        }
        if spec.networks.contains(where: { blockedNetworks.contains($0.network) }) {
            conflict("container \(spec.name)", "its network is held by another owner")
            return
        }
        if spec.mounts.contains(where: { $0.kind == .volume && $0.source.map(blockedVolumes.contains) == true }) {
            conflict("container \(spec.name)", "its volume was made by someone else and is not adopted")
            return
        }

        guard let keeper else {
            create(spec, after: nameFree, cause: .missing)
            return
        }
        let ref = ContainerRef.existing(id: keeper.id, name: keeper.name)
        if keeper.state == "dead" {
            // Nothing but a removal acts on a dead container (a start, stop or rename is refused),
            // and it holds the name until it is gone.
            let removal = add(.removeContainer(ref), .dead, for: spec.service)
            create(spec, after: nameFree + [removal], cause: .dead)
            return
        }
        if let cause = recreateCause(keeper, spec) {
            if spec.updateOrder == .startFirst && keeper.isRunning {
                startFirst(spec, replacing: keeper, after: nameFree + rolloutGates(spec), cause: cause)
            } else {
                stopFirst(spec, replacing: keeper, after: nameFree + rolloutGates(spec), cause: cause)
            }
            return
        }
        if let cause = unstartable(keeper) ?? strandedOnOldNetwork(keeper) ?? filesUnconfirmed(keeper, spec) {
            stopFirst(spec, replacing: keeper, after: nameFree, cause: cause)
            return
        }

        var ready: [Int] = []
        // A start-first rollout interrupted after the new container became healthy: finish it.
        if keeper.name == spec.stagedName {
            for attachment in spec.networks where keeper.networks.contains(attachment.network) {
                let off = add(.disconnectNetwork(ref, network: attachment.network), .aliasesMove(to: spec.name))
                ready.append(add(.connectNetwork(ref, attachment), .aliasesMove(to: spec.name), after: [off]))
            }
        }
        if keeper.name != spec.name {
            ready.append(add(.renameContainer(ref, to: spec.name), .renamed(currentName: keeper.name), after: nameFree + ready))
        }
        for attachment in spec.networks where !keeper.networks.contains(attachment.network) || recreatedNetworks.contains(attachment.network) {
            let cause: Cause =
                recreatedNetworks.contains(attachment.network) ? .networkRecreated(attachment.network) : .detached(network: attachment.network)
            ready.append(add(.connectNetwork(ref, attachment), cause, after: [networkReady[attachment.network]]))
        }
        let finished = !keeper.isRunning && keeper.exitCode == 0 && spec.restart == .no
        var started: Int?
        if !keeper.isRunning && !finished {
            // A network made in this round must exist before the container starts on it.
            let networks = spec.networks.map { networkReady[$0.network] }
            started = add(.startContainer(ref), .stopped(status: keeper.status), after: ready + networks + dependencyGates(spec))
            startStep[spec.service] = started
        }
        let needsHook = spec.hooks.contains { !observed.hooksRun.contains("\(keeper.id)/\($0.name)") }
        let restarted = started != nil || spec.networks.contains { !keeper.networks.contains($0.network) }
        // Health the Engine did not report is unknown, not bad: only a known "not yet" or "failing" is waited for.
        let unhealthy = spec.healthcheck.map { !$0.isDisabled } == true && (keeper.health == "unhealthy" || keeper.health == "starting")
        if let health = spec.healthcheck, !health.isDisabled, restarted || unhealthy || needsHook {
            healthyGate[spec.service] = add(
                .waitHealthy(ref, deadlineMilliseconds: health.deadlineMilliseconds), .healthGate, after: [started] + ready)
        }
        for hook in spec.hooks where !observed.hooksRun.contains("\(keeper.id)/\(hook.name)") {
            add(.runHook(ref, hook), .hookPending(hook.name), after: [healthyGate[spec.service] ?? started])
        }
    }

    /// A stopped container whose last starts all failed is replaced: some Engine states (a stale
    /// task left by a start during daemon shutdown) never clear for that container.
    func unstartable(_ container: ObservedContainer) -> Cause? {
        guard !container.isRunning, let failures = observed.failedStarts[container.shortID], failures >= 2 else { return nil }
        return .unstartable(failures: failures)
    }

    /// A stopped container whose network was removed and made again still names the old network's
    /// id, and the Engine refuses to start it ("network … not found") for good: replace it.
    func strandedOnOldNetwork(_ container: ObservedContainer) -> Cause? {
        guard !container.isRunning else { return nil }
        for (name, id) in container.networkIDs.sorted(by: { $0.key < $1.key }) {
            let current = observed.networks.filter { $0.name == name }.min(by: ObservedNetwork.olderFirst)
            if current?.id != id { return .networkRecreated(name) }
        }
        return nil
    }

    /// Files are written right after the create; a container with files that was made and never
    /// started may be one an interrupted run made without them. Made again rather than trusted.
    func filesUnconfirmed(_ container: ObservedContainer, _ spec: ContainerSpec) -> Cause? {
        container.state == "created" && spec.files?.isEmpty == false ? .filesUnconfirmed : nil
    }

    func recreateCause(_ container: ObservedContainer, _ spec: ContainerSpec) -> Cause? {
        if container.specHash != spec.specHash {
            let fields = previous[spec.service].map { SpecHash.differences(from: $0, to: spec) } ?? []
            return .specChanged(fields: fields)
        }
        if let cause = sharedContainerReplaced(container, spec) { return cause }
        if rebuiltImages.contains(spec.image) { return .imageRebuilt(spec.image) }
        if let pulled = pulledImages[spec.image] { return .imageChanged(from: pulled.from, to: pulled.to) }
        if let image = observed.images[spec.image], image.id != container.imageID, imageReady[spec.image] == nil {
            return .imageChanged(from: container.imageID, to: image.id)
        }
        return nil
    }

    /// A container that shares another's network namespace or volumes keeps the ones it was made
    /// with (the Engine records the other's id at create): when that container is replaced, in
    /// this plan or before, this one is made again next to the new one.
    func sharedContainerReplaced(_ container: ObservedContainer, _ spec: ContainerSpec) -> Cause? {
        guard let runtime = spec.runtime else { return nil }
        for name in Set([runtime.networkContainer].compactMap { $0 } + runtime.volumeContainers).sorted() {
            if let other = desired.containers.first(where: { $0.name == name }), createdServices.contains(other.service) {
                return .sharedContainerReplaced(name)
            }
        }
        if let name = runtime.networkContainer, let mode = container.networkMode, mode.hasPrefix("container:"),
            let current = containerNamed[name], current.id != mode.dropFirst("container:".count)
        {
            return .sharedContainerReplaced(name)
        }
        return nil
    }

    /// The steps after which the containers a spec shares namespaces or volumes with exist under
    /// their names: the Engine resolves those names when it creates the container.
    func sharedReady(_ spec: ContainerSpec) -> [Int?] {
        guard let runtime = spec.runtime else { return [] }
        let names = [runtime.networkContainer].compactMap { $0 } + runtime.volumeContainers
        return desired.containers.filter { names.contains($0.name) }.map { rolloutDone[$0.service] ?? startStep[$0.service] }
    }

    /// Creates, attaches extra networks, starts, then gates on health and runs hooks. Returns the start step.
    @discardableResult
    mutating func create(_ spec: ContainerSpec, after: [Int], cause: Cause) -> Int {
        let ref = ContainerRef.created(service: spec.service, name: spec.name)
        var needs: [Int?] = after + [imageReady[spec.image]]
        needs += spec.networks.prefix(1).map { networkReady[$0.network] }
        needs += spec.mounts.compactMap { $0.source.flatMap { volumeReady[$0] } }
        needs += sharedReady(spec)
        let created = add(.createContainer(spec), cause, after: needs)
        createdServices.insert(spec.service)
        var ready = [created]
        for attachment in spec.networks.dropFirst() {
            ready.append(add(.connectNetwork(ref, attachment), cause, after: [created, networkReady[attachment.network]]))
        }
        let started = add(.startContainer(ref), cause, after: ready + dependencyGates(spec))
        startStep[spec.service] = started
        if let deadline = spec.rolloutDeadlineMilliseconds {
            healthyGate[spec.service] = add(.waitHealthy(ref, deadlineMilliseconds: deadline), .healthGate, after: [started])
        }
        for hook in spec.hooks {
            add(.runHook(ref, hook), .hookPending(hook.name), after: [healthyGate[spec.service] ?? started])
        }
        return started
    }

    /// Stop the old container (renamed out of the way), create and start the new one; the old one
    /// is removed only once the new one passed its health gate, so a failed rollout can go back to it.
    mutating func stopFirst(_ spec: ContainerSpec, replacing old: ObservedContainer, after: [Int], cause: Cause) {
        let ref = ContainerRef.existing(id: old.id, name: old.name)
        let stop = add(.stopContainer(ref, timeoutSeconds: nil), cause, after: after)
        var ready = [stop]
        if old.name == spec.name {
            ready.append(add(.renameContainer(ref, to: "\(old.shortID)_\(spec.name)"), .makeRoom(for: spec.name), after: [stop]))
        }
        let started = create(spec, after: after + ready, cause: cause)
        let settled = healthyGate[spec.service] ?? started
        rolloutDone[spec.service] = settled
        detachSteps.append(add(.removeContainer(ref), .replaced(by: spec.name), after: [settled]))
    }

    /// How long a replaced container keeps serving after its successor took the aliases. The
    /// Engine publishes an endpoint's DNS records a moment before its address answers, and
    /// withdraws them only after the address is gone. A client that resolved the alias during
    /// either moment retries (a SYN is resent after 1 s) or tries the other address; the drain
    /// keeps the old container there for those retries.
    static let startFirstDrainMilliseconds: Int64 = 2_000

    /// Start the new container under a staged name without aliases while the old one serves; once
    /// it is healthy, move the aliases to it, then swap the names (old aside, new to the service's
    /// name), let the old one drain, and only then take it off its networks, stop and remove it.
    ///
    /// Renaming a container re-registers its DNS records, aliases included; done while both
    /// containers carry the aliases, the other one answers during that moment.
    mutating func startFirst(_ spec: ContainerSpec, replacing old: ObservedContainer, after: [Int], cause: Cause) {
        var staged = spec
        staged.name = spec.stagedName
        staged.networks = spec.networks.map { NetworkAttachment(network: $0.network, aliases: [], ipv4Address: $0.ipv4Address) }
        let stagedRef = ContainerRef.created(service: spec.service, name: staged.name)
        let started = create(staged, after: after, cause: cause)
        let settled = healthyGate[spec.service] ?? started
        var moved: [Int] = []
        for attachment in spec.networks {
            let off = add(.disconnectNetwork(stagedRef, network: attachment.network), .aliasesMove(to: staged.name), after: [settled])
            moved.append(add(.connectNetwork(stagedRef, attachment), .aliasesMove(to: staged.name), after: [off]))
        }
        let ref = ContainerRef.existing(id: old.id, name: old.name)
        let aside = add(.renameContainer(ref, to: "\(old.shortID)_\(spec.name)"), .makeRoom(for: spec.name), after: [settled] + moved)
        let promoted = add(.renameContainer(stagedRef, to: spec.name), .promoted, after: [aside])
        let drained = add(.drain(ref, milliseconds: Self.startFirstDrainMilliseconds), .replaced(by: spec.name), after: [promoted])
        let leaves = old.networks.map { add(.disconnectNetwork(ref, network: $0), .replaced(by: spec.name), after: [drained]) }
        let stop = add(.stopContainer(ref, timeoutSeconds: nil), .replaced(by: spec.name), after: [promoted] + leaves)
        let removal = add(.removeContainer(ref), .replaced(by: spec.name), after: [stop])
        detachSteps.append(removal)
        rolloutDone[spec.service] = removal
    }

    /// The rollouts of this plan a service's own changes must wait for: those of what it depends on.
    func rolloutGates(_ spec: ContainerSpec) -> [Int] {
        spec.dependsOn.compactMap { rolloutDone[$0.service] }
    }

    /// The steps a service's start must wait for, per its `depends_on` conditions.
    mutating func dependencyGates(_ spec: ContainerSpec) -> [Int] {
        spec.dependsOn.compactMap { dependency in
            switch dependency.condition {
            case .started: return startStep[dependency.service]
            case .healthy: return healthyGate[dependency.service] ?? startStep[dependency.service]
            case .completed:
                if let gate = completedGate[dependency.service] { return gate }
                guard let start = startStep[dependency.service], let target = desired.container(dependency.service) else { return nil }
                let gate = add(
                    .waitCompleted(.created(service: target.service, name: target.name)), .dependency(of: spec.service, .completed), after: [start])
                completedGate[dependency.service] = gate
                return gate
            }
        }
    }

    // MARK: Orphans

    /// Removes owned containers of services no longer desired (dependents first), then owned
    /// networks no longer desired. Volumes are never removed here.
    mutating func planOrphans(cause: Cause = .orphan) {
        let wanted = Set(desired.containers.map(\.service))
        let orphans = ownedContainers.filter { !wanted.contains($0.service ?? "") }
        var removal: [String: Int] = [:]
        var pending = orphans
        while !pending.isEmpty {
            // A container goes only after every orphan that depends on it.
            let dependents = { (name: String) in
                pending.filter { ($0.labels[Resolver.Label.dependsOn] ?? "").split(separator: ",").contains(Substring(name)) }
            }
            let ready = pending.filter { dependents($0.service ?? "").isEmpty }
            let batch = ready.isEmpty ? pending : ready
            for container in batch {
                let ref = ContainerRef.existing(id: container.id, name: container.name)
                var after = orphans.filter {
                    ($0.labels[Resolver.Label.dependsOn] ?? "").split(separator: ",").contains(Substring(container.service ?? ""))
                }.compactMap { removal[$0.id] }
                // A target a switch retires stays until every consumer passed its gate on the new
                // one, so a failed switch can go back to it.
                for move in switches where move.retiredTarget != nil && move.retiredTarget == container.service {
                    after += move.consumers.compactMap { rolloutDone[$0] ?? healthyGate[$0] ?? startStep[$0] }
                }
                let stop = container.isRunning ? add(.stopContainer(ref, timeoutSeconds: nil), cause, after: after) : nil
                let removed = add(.removeContainer(ref), cause, after: [stop] + after)
                removal[container.id] = removed
                detachSteps.append(removed)
            }
            pending.removeAll { c in batch.contains { $0.id == c.id } }
        }
        let wantedNetworks = Set(desired.networks.map(\.engineName))
        for network in observed.networks.filter({ owned($0.labels) && !wantedNetworks.contains($0.name) }).sorted(by: { $0.name < $1.name }) {
            add(.removeNetwork(name: network.name), cause, after: detachSteps)
        }
    }
}

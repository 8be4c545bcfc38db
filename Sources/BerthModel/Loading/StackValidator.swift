/// Checks what holds for every profile and environment: names unique, references resolvable,
/// no dependency cycles. Value-level checks (variables, ports) happen in `Resolver`.
public enum StackValidator {
    public static func validate(_ stack: StackManifest) -> [ManifestError] {
        var errors: [ManifestError] = []
        func fail(_ code: ManifestError.Code, _ location: SourceLocation, _ field: String, _ message: String) {
            errors.append(ManifestError(code, at: location, field: field, message))
        }

        func duplicates<T>(_ items: [T], kind: String, name: (T) -> String, location: (T) -> SourceLocation) {
            var seen: [String: SourceLocation] = [:]
            for item in items {
                if let first = seen[name(item)] {
                    fail(.duplicateName, location(item), "\(name(item))", "duplicate \(kind) '\(name(item))' (first defined at \(first))")
                } else {
                    seen[name(item)] = location(item)
                }
            }
        }
        duplicates(stack.services, kind: "Service", name: \.name, location: \.locations.document)
        duplicates(stack.environments, kind: "Environment", name: \.name, location: \.locations.document)
        duplicates(stack.connections, kind: "Connection", name: \.name, location: \.locations.document)
        duplicates(stack.networks, kind: "Network", name: \.name, location: \.locations.document)
        duplicates(stack.volumes, kind: "Volume", name: \.name, location: \.locations.document)

        let files = FilesOutside(directory: stack.directory, allowed: stack.readOutside)
        for environment in stack.environments {
            for (index, path) in environment.envFiles.enumerated() {
                let field = "\(environment.name).env_files[\(index)]"
                if let refusal = files.refusal(path) { fail(.invalidValue, environment.locations.of(field), field, refusal) }
            }
            for (key, source) in environment.secrets.sorted(by: { $0.key < $1.key }) {
                let (kind, path): (String, String)
                switch source {
                case .file(let file): (kind, path) = ("file", file)
                case .age(let file): (kind, path) = ("age", file)
                case .sops(let file, _): (kind, path) = ("sops", file)
                case .environment: continue
                }
                guard let refusal = files.refusal(path) else { continue }
                let field = "\(environment.name).secrets.\(key)"
                fail(.invalidValue, environment.locations.of("\(field).\(kind)"), field, refusal)
            }
        }

        let services = Set(stack.services.map(\.name))
        let networks = Set(stack.networks.map(\.name)).union(["default"])
        let volumes = Set(stack.volumes.map(\.name))
        let profiles = Set(stack.profiles)
        func unknown(_ kind: String, _ name: String, among names: Set<String>) -> String {
            let hint = nearest(name, in: names.sorted()).map { " (did you mean '\($0)'?)" } ?? ""
            return "unknown \(kind) '\(name)'\(hint)"
        }
        func checkProfile(_ profile: String, _ location: SourceLocation, _ field: String) {
            if !profiles.contains(profile) {
                fail(
                    .unknownReference, location, field,
                    unknown("profile", profile, among: profiles) + "; the Stack declares: \(stack.profiles.joined(separator: ", "))")
            }
        }
        let defaultsAt = { (field: String) in stack.stackFieldLocations[field] ?? SourceLocation(file: "Stack \(stack.name)", line: 1, column: 1) }
        for profile in stack.defaultProfiles { checkProfile(profile, defaultsAt("default_profiles"), "default_profiles") }
        if let environment = stack.defaultEnvironment, !stack.environments.isEmpty, stack.environment(environment) == nil {
            fail(
                .unknownReference, defaultsAt("default_environment"), "default_environment",
                unknown("environment", environment, among: Set(stack.environments.map(\.name))))
        }

        var containerNames: [String: String] = [:]
        for service in stack.services {
            let at = service.locations
            for (index, dependency) in service.dependsOn.enumerated() where !services.contains(dependency.service) {
                let field = "\(service.name).depends_on.\(dependency.service)"
                fail(.unknownReference, at.of(field), "\(service.name).depends_on[\(index)]", unknown("service", dependency.service, among: services))
            }
            for (index, attachment) in service.networks.enumerated() where !networks.contains(attachment.network) {
                let field = "\(service.name).networks[\(index)]"
                let location = at.fields["\(service.name).networks.\(attachment.network)"] ?? at.of(field)
                fail(
                    .unknownReference, location, field, unknown("network", attachment.network, among: networks) + "; declare it with 'kind: Network'")
            }
            for (index, mount) in service.volumes.enumerated() {
                if let name = MountParser.namedVolume(mount), !name.contains("${"), !volumes.contains(name) {
                    let field = "\(service.name).volumes[\(index)]"
                    fail(.unknownReference, at.of(field), field, unknown("volume", name, among: volumes) + "; declare it with 'kind: Volume'")
                }
            }
            for profile in service.profiles { checkProfile(profile, at.of("\(service.name).profiles"), "\(service.name).profiles") }
            if let name = service.containerName {
                if let other = containerNames[name] {
                    fail(
                        .duplicateName, at.of("\(service.name).container_name"), "\(service.name).container_name",
                        "container name '\(name)' is also used by service '\(other)'")
                }
                containerNames[name] = service.name
            }
            var hookNames = Set<String>()
            for hook in service.hooks where !hookNames.insert(hook.name).inserted {
                fail(.duplicateName, at.of("\(service.name).hooks"), "\(service.name).hooks", "duplicate hook '\(hook.name)'")
            }
        }

        for connection in stack.connections {
            let at = connection.locations
            for (index, consumer) in connection.consumers.enumerated() where !services.contains(consumer) {
                let field = "\(connection.name).consumers[\(index)]"
                fail(.unknownReference, at.of(field), field, unknown("service", consumer, among: services))
            }
            for (profile, target) in connection.targets.sorted(by: { $0.key < $1.key }) {
                let field = "\(connection.name).targets.\(profile)"
                if profile != "default" { checkProfile(profile, at.of(field), field) }
                if let service = target.service, !services.contains(service) {
                    fail(.unknownReference, at.of("\(field).service"), "\(field).service", unknown("service", service, among: services))
                }
                if let text = target.port, !text.contains("${") {
                    if let port = Int(text), !(1...65535).contains(port) {
                        fail(.outOfRange, at.of("\(field).port"), "\(field).port", "port \(port) is out of range 1...65535")
                    } else if Int(text) == nil {
                        fail(.wrongType, at.of("\(field).port"), "\(field).port", "expected a port number, found '\(text)'")
                    }
                }
            }
        }

        for environment in stack.environments {
            for service in environment.versions.keys.sorted() where !services.contains(service) {
                let field = "\(environment.name).versions.\(service)"
                fail(.unknownReference, environment.locations.of(field), field, unknown("service", service, among: services))
            }
            guard let swarm = environment.swarm else { continue }
            for service in swarm.deploy.keys.sorted() where !services.contains(service) {
                let field = "\(environment.name).swarm.deploy.\(service)"
                fail(.unknownReference, environment.locations.of(field), field, unknown("service", service, among: services))
            }
        }

        if let swarm = stack.swarm {
            let location = stack.stackFieldLocations["swarm"] ?? SourceLocation(file: "", line: 0, column: 0)
            for service in swarm.deploy.keys.sorted() where !services.contains(service) {
                let field = "swarm.deploy.\(service)"
                fail(.unknownReference, stack.stackFieldLocations[field] ?? location, field, unknown("service", service, among: services))
            }
        }

        errors += cycles(in: stack)
        return errors
    }

    /// Named volumes are per node on a swarm: a service with several tasks (or one per node)
    /// that mounts one sees a different volume on each node. Said once per service, not refused:
    /// a cache, or placement on one node, makes it right.
    public static func swarmWarnings(_ stack: StackManifest) -> [ManifestError] {
        let targets = stack.environments.isEmpty ? [(stack.target, nil)] : stack.environments.map { ($0.target ?? stack.target, $0.swarm) }
        var warned = Set<String>()
        var warnings: [ManifestError] = []
        // Read only for a swarm: kept (a target switched back and forth), but said.
        for environment in stack.environments where environment.swarm != nil && (environment.target ?? stack.target) != .swarm {
            let field = "\(environment.name).swarm"
            warnings.append(
                ManifestError(
                    .invalidValue, at: environment.locations.of(field), field: field, "'swarm:' is read only when the target is swarm; ignored"))
        }
        if stack.swarm != nil, stack.target != .swarm, !stack.environments.contains(where: { $0.target == .swarm }) {
            warnings.append(
                ManifestError(
                    .invalidValue, at: stack.stackFieldLocations["swarm"], field: "swarm", "'swarm:' is read only when the target is swarm; ignored"))
        }
        for (target, environment) in targets where target == .swarm {
            for service in stack.services where !warned.contains(service.name) {
                let deploy = environment?.deploy[service.name] ?? stack.swarm?.deploy[service.name]
                let tasks = deploy?.global == true ? "a task on every node" : "\(deploy?.replicas ?? service.replicas ?? 1) tasks"
                guard deploy?.global == true || (deploy?.replicas ?? service.replicas ?? 1) > 1,
                    let volume = service.volumes.lazy.compactMap(MountParser.namedVolume).first
                else { continue }
                warned.insert(service.name)
                let field = "\(service.name).volumes"
                warnings.append(
                    ManifestError(
                        .invalidValue, at: service.locations.of(field), field: field,
                        "named volume '\(volume)' is per node on a swarm: with \(tasks), tasks on different nodes do not share its data"))
            }
        }
        return warnings
    }

    /// Dependency cycles through `depends_on` and internal connection targets.
    static func cycles(in stack: StackManifest) -> [ManifestError] {
        var edges: [String: [String]] = [:]
        for service in stack.services { edges[service.name, default: []] += service.dependsOn.map(\.service) }
        for connection in stack.connections {
            let targets = connection.targets.values.compactMap(\.service)
            for consumer in connection.consumers { edges[consumer, default: []] += targets }
        }
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        var errors: [ManifestError] = []
        var reported = Set<String>()
        func visit(_ node: String, _ path: [String]) {
            if state[node] == 2 { return }
            if state[node] == 1 {
                let cycle = path[(path.firstIndex(of: node) ?? 0)...] + [node]
                let key = Set(cycle).sorted().joined(separator: ",")
                if reported.insert(key).inserted, let service = stack.service(node) {
                    errors.append(
                        ManifestError(
                            .dependencyCycle, at: service.locations.of("\(node).depends_on"), field: "\(node).depends_on",
                            "dependency cycle: \(cycle.joined(separator: " → "))"))
                }
                return
            }
            state[node] = 1
            for next in edges[node, default: []].sorted() { visit(next, path + [node]) }
            state[node] = 2
        }
        for service in stack.services.map(\.name).sorted() { visit(service, []) }
        return errors
    }
}

import Foundation

/// Turns Compose projects into native manifests with the three concerns apart:
/// - `Service`s keep what runs, with `${…}` references as written;
/// - one `Environment` takes the `.env` values and each `env_file` value (secret-looking names
///   become secret files), and image tags written as `repo:${VERSION}` become version pins;
/// - a `Connection` replaces each variable whose value names another service (`DB_HOST: db_instance`),
///   with one target per variant: a service where it runs, the variable's value where it does not.
///
/// Variants are whole Compose projects for the same host (the seed's `docker-compose.external-db.yml`);
/// each becomes a profile. Pure; `verify` proves the result resolves to the same containers.
public enum ComposeImport {
    public struct Variant: Sendable {
        public var name: String
        public var project: ComposeProject
        public init(name: String, project: ComposeProject) {
            self.name = name
            self.project = project
        }
    }

    public struct Result: Sendable {
        public var stack: StackManifest
        /// Secret files to write next to the manifests: relative path → content.
        public var secretFiles: [String: String]
        /// What was decided, for the person importing.
        public var notes: [String]
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The name of the written environment.
    public static let environmentName = "default"

    /// - Parameters:
    ///   - variants: the projects, the first being the default; with one, no profiles are made.
    ///   - outputDirectory: where the manifests go; relative paths are rewritten to stay correct.
    /// - Throws: `Failure` when a service differs between variants in more than its connections.
    public static func convert(_ variants: [Variant], outputDirectory: String) throws(Failure) -> Result {
        guard let base = variants.first else { throw Failure(description: "nothing to import") }
        var notes: [String] = []
        let multiple = variants.count > 1
        let scope = base.project.scope

        // Services per variant, paths made relative to the output directory.
        var definitions: [String: [(variant: String, service: ServiceManifest)]] = [:]
        for variant in variants {
            for service in variant.project.stack.services {
                definitions[service.name, default: []].append(
                    (variant.name, rebased(service, from: variant.project.stack.directory, to: outputDirectory)))
            }
        }

        // Connections: variables whose value names another service of the same variant.
        let connections = findConnections(variants, scope: scope, multiple: multiple)
        for connection in connections {
            notes.append(
                "connection '\(connection.name)': \(connection.consumers.joined(separator: ", ")) → "
                    + connection.targets.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.service ?? $0.value.host ?? "")" }.joined(
                        separator: ", "))
            // The connection orders each consumer after its target; a depends_on on a target that
            // some variants lack would not resolve in them.
            let partialTargets = Set(connection.targets.values.compactMap(\.service).filter { definitions[$0]?.count != variants.count })
            for consumer in connection.consumers {
                guard var entries = definitions[consumer] else { continue }
                for index in entries.indices {
                    for key in connection.environment.keys { entries[index].service.environment[key] = nil }
                    entries[index].service.dependsOn.removeAll { partialTargets.contains($0.service) }
                }
                definitions[consumer] = entries
            }
        }

        // Environment: `.env`, then env_file values all services agree on.
        var environment = EnvironmentManifest(
            name: environmentName, locations: FieldLocations(document: SourceLocation(file: "", line: 0, column: 0)))
        var secretFiles: [String: String] = [:]
        func put(_ key: String, _ value: String) {
            if SecretNames.looksSecret(key) {
                environment.secrets[key] = .file("secrets/\(key)")
                secretFiles["secrets/\(key)"] = value + "\n"
            } else {
                environment.variables[key] = value
            }
        }
        for (key, value) in base.project.stack.environments.first?.variables ?? [:] { put(key, value) }
        var fromFiles: [String: Set<String>] = [:]
        for variant in variants {
            for (_, values) in variant.project.envFileValues { for (key, value) in values { fromFiles[key, default: []].insert(value) } }
        }
        var moved = Set<String>()
        for (key, values) in fromFiles.sorted(by: { $0.key < $1.key }) {
            // One value everywhere, and no other value for the name already in scope.
            guard values.count == 1, let value = values.first, scope[key] == nil || scope[key] == value else { continue }
            put(key, value)
            moved.insert(key)
        }
        if !moved.isEmpty { notes.append("environment '\(environmentName)': \(moved.count) variable(s) from env_file moved out of the services") }
        if !secretFiles.isEmpty {
            notes.append(
                "secrets written to secrets/ (mode 0600): \(secretFiles.keys.sorted().map { String($0.dropFirst(8)) }.joined(separator: ", "))")
        }

        // Services: one definition each, with profiles where it runs in only some variants.
        var services: [ServiceManifest] = []
        for name in definitions.keys.sorted() {
            var entries = definitions[name]!
            for index in entries.indices {
                let variant = variants.first { $0.name == entries[index].variant }!
                for (key, _) in variant.project.envFileValues[name] ?? [:] where moved.contains(key) {
                    entries[index].service.environment[key] = "${\(key)}"
                }
                pinVersion(&entries[index].service, into: &environment)
            }
            let signatures = Set(entries.map { signature($0.service) })
            guard signatures.count == 1 else {
                throw Failure(
                    description:
                        "service '\(name)' differs between variants \(entries.map(\.variant).joined(separator: " and ")) in more than its connections; import them as separate projects, or make them agree"
                )
            }
            var service = entries[0].service
            if multiple && entries.count < variants.count { service.profiles = Array(Set(service.profiles + entries.map(\.variant))).sorted() }
            services.append(service)
        }

        // Names used but defined nowhere were empty under Compose; say so explicitly.
        let texts = services.flatMap(strings) + connections.flatMap { Array($0.environment.values) + $0.targets.values.compactMap(\.host) }
        for name in Set(texts.flatMap { Interpolate.blanked($0, scope: scope) }).sorted()
        where environment.variables[name] == nil && environment.secrets[name] == nil && !name.contains(".") && name != "host" && name != "port" {
            environment.variables[name] = ""
            notes.append("variable '\(name)' is not set; it is defined as empty, as Compose treated it")
        }

        var stack = StackManifest(name: base.project.stack.name, directory: outputDirectory)
        stack.services = services
        stack.connections = connections
        stack.environments = [environment]
        stack.defaultEnvironment = environmentName
        stack.profiles = Array(Set(variants.flatMap { $0.project.stack.profiles } + (multiple ? variants.map(\.name) : []))).sorted()
        stack.defaultProfiles = multiple ? [base.name] : base.project.stack.defaultProfiles
        var networks: [String: NetworkManifest] = [:]
        var volumes: [String: VolumeManifest] = [:]
        for variant in variants.reversed() {
            for network in variant.project.stack.networks { networks[network.name] = network }
            for volume in variant.project.stack.volumes { volumes[volume.name] = volume }
        }
        stack.networks = networks.values.sorted { $0.name < $1.name }
        stack.volumes = volumes.values.sorted { $0.name < $1.name }
        // The Engine names stay Compose's (`<project>_<name>`), also when the stack is renamed later.
        for index in stack.networks.indices where stack.networks[index].engineName == nil {
            stack.networks[index].engineName = "\(stack.name)_\(stack.networks[index].name)"
        }
        for index in stack.volumes.indices where stack.volumes[index].engineName == nil {
            stack.volumes[index].engineName = "\(stack.name)_\(stack.volumes[index].name)"
        }
        return Result(stack: stack, secretFiles: secretFiles, notes: notes)
    }

    /// Writes the result in memory, parses it back as Berth manifests and verifies it against
    /// the projects: what `berth import` checks before it writes anything.
    /// - Returns: the files (name → text) and one line per problem; no problems means exact.
    public static func check(_ result: Result, variants: [Variant], environment: [String: String]) -> (files: [String: String], problems: [String]) {
        let directory = result.stack.directory
        let files: [String: String]
        do {
            files = try ManifestWriter.files(result.stack)
        } catch {
            return ([:], ["cannot write YAML: \(error)"])
        }
        let (parsed, errors) = ManifestParser.parse(files: files, directory: directory)
        let invalid = errors + StackValidator.validate(parsed)
        if !invalid.isEmpty { return (files, invalid.map(\.description)) }
        let secrets = Dictionary(uniqueKeysWithValues: result.secretFiles.map { (MountParser.absolute($0.key, directory: directory), $0.value) })
        return (files, verify(variants, imported: parsed, files: secrets, environment: environment))
    }

    /// Resolves each variant both ways and compares the containers' spec hashes.
    /// - Returns: one line per difference; empty when the import is exact.
    public static func verify(
        _ variants: [Variant], imported: StackManifest, files: [String: String], environment: [String: String]
    ) -> [String] {
        var problems: [String] = []
        for variant in variants {
            let profiles = variants.count > 1 ? [variant.name] + variant.project.stack.defaultProfiles : nil
            do {
                let original = try Resolver.resolve(variant.project.stack, ResolutionRequest(processEnvironment: environment))
                let result = try Resolver.resolve(imported, ResolutionRequest(profiles: profiles, processEnvironment: environment, files: files))
                let before = Dictionary(uniqueKeysWithValues: original.containers.map { ($0.service, $0) })
                let after = Dictionary(uniqueKeysWithValues: result.containers.map { ($0.service, $0) })
                for name in Set(before.keys).union(after.keys).sorted() {
                    guard let old = before[name], let new = after[name] else {
                        problems.append("\(variant.name): service \(name) is \(before[name] == nil ? "added" : "missing")")
                        continue
                    }
                    let differences = SpecHash.differences(from: old, to: new) + behaviourDifferences(old, new)
                    if old.specHash != new.specHash || !differences.isEmpty {
                        problems.append("\(variant.name): service \(name) differs: \(differences.joined(separator: ", "))")
                    }
                }
                if original.networks.sorted(by: { $0.engineName < $1.engineName }) != result.networks.sorted(by: { $0.engineName < $1.engineName }) {
                    problems.append("\(variant.name): networks differ")
                }
                if original.volumes.sorted(by: { $0.engineName < $1.engineName }) != result.volumes.sorted(by: { $0.engineName < $1.engineName }) {
                    problems.append("\(variant.name): volumes differ")
                }
            } catch {
                problems.append("\(variant.name): \(error)")
            }
        }
        return problems
    }

    /// What changes behaviour but not the container's hash: the order of starts, how the image
    /// is made or fetched, how a change is rolled out.
    static func behaviourDifferences(_ old: ContainerSpec, _ new: ContainerSpec) -> [String] {
        let order = { (spec: ContainerSpec) in spec.dependsOn.map { "\($0.service):\($0.condition)" }.sorted() }
        var result: [String] = []
        if order(old) != order(new) { result.append("depends_on \(order(old)) → \(order(new))") }
        if old.build != new.build { result.append("build") }
        if old.pullPolicy != new.pullPolicy { result.append("pull_policy") }
        if old.update != new.update { result.append("update") }
        if old.hooks != new.hooks { result.append("hooks") }
        return result
    }

    /// Names of variables that hold a host to reach: only such a variable whose value names
    /// another service (or one the consumer `depends_on`) becomes a connection. `POSTGRES_USER:
    /// gitea` names a user that happens to share a service's name, not a place.
    static func namesAHost(_ variable: String) -> Bool {
        let upper = variable.uppercased()
        return ["HOST", "SERVER", "ADDR", "ENDPOINT", "URL", "URI", "BROKER"].contains { upper.contains($0) }
    }

    // MARK: Steps

    static func findConnections(_ variants: [Variant], scope: [String: String], multiple: Bool) -> [ConnectionManifest] {
        // (target, variable) → consumer → variant → raw value
        struct Key: Hashable { let target: String; let variable: String }
        var found: [Key: Set<String>] = [:]
        for variant in variants {
            let services = variant.project.stack.services
            var names: [String: String] = [:]  // how a service can be reached → its name
            for service in services {
                names[service.name] = service.name
                if let container = service.containerName { names[expand(container, scope)] = service.name }
                for attachment in service.networks { for alias in attachment.aliases { names[expand(alias, scope)] = service.name } }
            }
            for service in services {
                let dependencies = Set(service.dependsOn.map(\.service))
                for (variable, value) in service.environment {
                    if let target = names[expand(value, scope)], target != service.name, namesAHost(variable) || dependencies.contains(target) {
                        found[Key(target: target, variable: variable), default: []].insert(service.name)
                    }
                }
            }
        }
        let perTarget = Dictionary(grouping: found.keys, by: \.target)
        var result: [ConnectionManifest] = []
        for (key, consumers) in found.sorted(by: { ($0.key.target, $0.key.variable) < ($1.key.target, $1.key.variable) }) {
            var targets: [String: ConnectionTargetManifest] = [:]
            var consistent = true
            for variant in variants {
                let label = multiple ? variant.name : "default"
                let active = Set(variant.project.stack.services.map(\.name))
                let values = Set(variant.project.stack.services.filter { consumers.contains($0.name) }.compactMap { $0.environment[key.variable] })
                guard values.count <= 1 else {
                    consistent = false
                    break
                }
                if active.contains(key.target) {
                    // Reached as written (often the container name), so the value stays the same.
                    let host = values.first.flatMap { $0 == key.target ? nil : $0 }
                    targets[label] = ConnectionTargetManifest(service: key.target, host: host, port: nil)
                } else if let host = values.first {
                    targets[label] = ConnectionTargetManifest(service: nil, host: host, port: nil)
                }
            }
            guard consistent else { continue }
            let name = perTarget[key.target]!.count == 1 ? key.target : "\(key.target)-\(key.variable.lowercased())"
            result.append(
                ConnectionManifest(
                    name: name, consumers: consumers.sorted(), targets: targets, environment: [key.variable: "${host}"],
                    locations: FieldLocations(document: SourceLocation(file: "", line: 0, column: 0))))
        }
        return result
    }

    /// `repo:${VERSION}` → image `repo` and a version pin `${VERSION}` in the environment.
    static func pinVersion(_ service: inout ServiceManifest, into environment: inout EnvironmentManifest) {
        guard service.image.hasSuffix("}"), let colon = service.image.range(of: ":${", options: .backwards) else { return }
        let repository = String(service.image[..<colon.lowerBound])
        let variable = String(service.image[colon.upperBound...].dropLast())
        guard !variable.isEmpty, variable.unicodeScalars.allSatisfy(Interpolator.isNameCharacter),
            !ImageName.hasTagOrDigest(repository.replacingOccurrences(of: "${", with: "").replacingOccurrences(of: "}", with: ""))
        else { return }
        service.image = repository
        environment.versions[service.name] = "${\(variable)}"
    }

    static func expand(_ text: String, _ scope: [String: String]) -> String {
        (try? Interpolator(scope, undefined: .blank({ _ in })).interpolate(text).text) ?? text
    }

    /// Relative paths (build contexts, bind mounts) rewritten from the Compose project's directory
    /// to the output directory, so they name the same place.
    static func rebased(_ service: ServiceManifest, from source: String, to output: String) -> ServiceManifest {
        var service = service
        let rebase = { (path: String) -> String in
            guard !path.hasPrefix("/"), !path.hasPrefix("~"), !path.contains("$") else { return path }
            return relativePath(from: output, to: MountParser.absolute(path, directory: source))
        }
        if var build = service.build {
            build.context = rebase(build.context)
            service.build = build
        }
        service.volumes = service.volumes.map { mount in
            switch mount {
            case .short(let text):
                let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
                guard parts.count == 2, MountParser.isPath(parts[0]) else { return mount }
                return .short(rebase(parts[0]) + ":" + parts[1])
            case .long(let type, let source, let target, let readOnly):
                guard type == "bind", let source else { return mount }
                return .long(type: type, source: rebase(source), target: target, readOnly: readOnly)
            }
        }
        return service
    }

    /// `to` as seen from `from`, both absolute: `../app`, `./conf`; `to` itself when they share only `/`.
    static func relativePath(from: String, to: String) -> String {
        let base = URL(fileURLWithPath: from).standardizedFileURL.pathComponents
        let target = URL(fileURLWithPath: to).standardizedFileURL.pathComponents
        let common = zip(base, target).prefix { $0 == $1 }.count
        if common <= 1 { return to }  // nothing in common but the root: the absolute path reads better
        let up = Array(repeating: "..", count: base.count - common)
        let path = (up + target[common...]).joined(separator: "/")
        return path.isEmpty ? "." : (up.isEmpty ? "./" + path : path)
    }

    /// Everything about a service that must agree between variants, as text.
    static func signature(_ service: ServiceManifest) -> String {
        var copy = service
        copy.profiles = []
        copy.dependsOn.sort { $0.service < $1.service }
        return (try? ManifestWriter.text([ManifestWriter.service(copy)], header: "")) ?? ""
    }

    /// Every string of a service that `Resolver` interpolates.
    static func strings(_ service: ServiceManifest) -> [String] {
        var result = [service.image] + Array(service.environment.values) + Array(service.labels.values)
        result += (service.command ?? []) + (service.entrypoint ?? []) + (service.healthcheck?.test ?? [])
        result += [service.containerName, service.hostname, service.user, service.workingDir].compactMap { $0 }
        for port in service.ports {
            switch port {
            case .short(let text): result.append(text)
            case .long(let target, let published, let hostIP, let proto): result += [target, published, hostIP, proto].compactMap { $0 }
            }
        }
        for mount in service.volumes {
            switch mount {
            case .short(let text): result.append(text)
            case .long(_, let source, let target, _): result += [source, target].compactMap { $0 }
            }
        }
        if let build = service.build { result += [build.context, build.dockerfile] + Array(build.args.values) }
        return result
    }
}

import ArgumentParser
import BerthController
import BerthModel
import Foundation

extension Berth {
    /// Shows the resolved desired state, secrets redacted.
    struct Render: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "render",
            abstract: "Print the resolved desired state of a stack (secrets redacted).",
            discussion:
                "Resolves without contacting the Engine: values that need a network's observed facts show as <pending:…> unless the manifest pins them."
        )

        @OptionGroup var stack: StackOptions
        @Flag(help: "Print one JSON document instead of human output.")
        var json = false

        func run() throws {
            let loaded = try stack.load()
            let desired: DesiredState
            do {
                desired = try Resolver.resolve(
                    loaded.manifest,
                    loaded.request(
                        profiles: stack.reconcileOptions.profiles, environment: stack.environment,
                        processEnvironment: ProcessInfo.processInfo.environment)
                ).redacted
            } catch {
                throw ManifestFailure(errors: error)
            }
            if json { return try printJSON(desired) }
            print("stack \(desired.stack)  profiles [\(desired.profiles.joined(separator: ", "))]  environment \(desired.environment ?? "-")")
            for network in desired.networks {
                print(
                    "network \(network.engineName)  driver \(network.driver)\(network.subnet.map { "  subnet \($0)" } ?? "")\(network.external ? "  external" : "")"
                )
            }
            for volume in desired.volumes { print("volume \(volume.engineName)\(volume.external ? "  external" : "")") }
            for spec in desired.containers {
                print("\ncontainer \(spec.name)  (service \(spec.service), hash \(spec.specHash.prefix(12)))")
                print("  image      \(spec.image)\(spec.build != nil ? "  (built)" : "")")
                if let command = spec.command { print("  command    \(command.joined(separator: " "))") }
                for variable in spec.environment { print("  env        \(variable.name)=\(variable.value)") }
                for port in spec.ports { print("  port       \(port)") }
                for mount in spec.mounts { print("  mount      \(mount)") }
                for file in spec.files ?? [] { print("  file       \(file)") }
                if let mode = spec.runtime?.networkMode { print("  network    mode \(mode)") }
                for from in spec.runtime?.volumesFrom ?? [] { print("  volumes    from \(from)") }
                for network in spec.networks { print("  network    \(network.network) aliases \(network.aliases.joined(separator: ","))") }
                if let health = spec.healthcheck { print("  healthcheck \(health.test.joined(separator: " "))") }
                print("  restart    \(spec.restart)")
                for dependency in spec.dependsOn { print("  depends on \(dependency.service) (\(dependency.condition.rawValue))") }
                for hook in spec.hooks { print("  hook       \(hook.name): \(hook.command.joined(separator: " "))") }
            }
            if !desired.pendingFacts.isEmpty { print("\npending until apply: \(desired.pendingFacts.joined(separator: ", "))") }
        }
    }
}

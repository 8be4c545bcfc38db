import ArgumentParser
import BerthController
import BerthModel
import Foundation

extension Berth {
    /// Checks manifests for every environment and profile without touching the host.
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Check a stack's manifests and print every error with file:line:column.",
            discussion:
                "Resolves the stack for each Environment under its default profiles and under each profile alone, so a variable missing from one environment is caught too. Touches nothing on the host."
        )

        @OptionGroup var source: SourceOptions

        @Flag(help: "Print one JSON document instead of human output.")
        var json = false

        func run() throws {
            var errors: [ManifestError] = []
            var stackName = source.source.fallbackName
            var combinations = 0
            var unavailable = Set<String>()
            var warnings: [ManifestError] = []
            do {
                let stack = try source.source.load()
                warnings = stack.warnings
                stackName = stack.name
                let environments: [String?] = stack.manifest.environments.isEmpty ? [nil] : stack.manifest.environments.map(\.name)
                let profileSets: [[String]?] = [nil] + stack.manifest.profiles.map { [$0] }
                for environment in environments {
                    for profiles in profileSets {
                        combinations += 1
                        var request = stack.request(
                            profiles: profiles, environment: environment, processEnvironment: ProcessInfo.processInfo.environment)
                        request.requireSecrets = false
                        do {
                            unavailable.formUnion(try Resolver.resolve(stack.manifest, request).unavailableSecrets)
                        } catch {
                            errors += error.errors.filter { !errors.contains($0) }
                        }
                    }
                }
            } catch {
                errors = error.errors
            }
            if json {
                struct Entry: Encodable {
                    let file: String?; let line: Int?; let column: Int?; let field: String?; let kind: String; let message: String
                }
                struct Result: Encodable {
                    let stack: String; let valid: Bool; let unavailableSecrets: [String]; let errors: [Entry]; let warnings: [Entry]
                }
                let entries = { (list: [ManifestError]) in
                    list.map {
                        Entry(
                            file: $0.location?.file, line: $0.location?.line, column: $0.location?.column, field: $0.field,
                            kind: $0.shortDescription, message: $0.message)
                    }
                }
                try printJSON(
                    Result(
                        stack: stackName, valid: errors.isEmpty, unavailableSecrets: unavailable.sorted(), errors: entries(errors),
                        warnings: entries(warnings)))
                if !errors.isEmpty { throw ExitCode.failure }
                return
            }
            for warning in warnings { Console.error("warning: \(warning)\n") }
            guard errors.isEmpty else { throw ManifestFailure(errors: ManifestErrors(errors)) }
            print("\(stackName): valid (\(combinations) environment/profile combination\(combinations == 1 ? "" : "s") resolved)")
            if !unavailable.isEmpty {
                print("note: not available on this machine, so not checked: secrets \(unavailable.sorted().joined(separator: ", "))")
            }
        }
    }
}

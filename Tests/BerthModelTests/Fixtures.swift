import BerthModel
import Foundation

/// Reads a worked example from `manifests/` the way `StackLoader` would, without the controller.
enum Fixtures {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func stack(_ name: String) throws -> (StackManifest, files: [String: String]) {
        let directory = repository.appendingPathComponent("manifests/\(name)")
        var texts: [String: String] = [:]
        for entry in try FileManager.default.contentsOfDirectory(atPath: directory.path) where entry.hasSuffix(".yaml") {
            texts[entry] = try String(contentsOf: directory.appendingPathComponent(entry), encoding: .utf8)
        }
        let (stack, errors) = ManifestParser.parse(files: texts, directory: directory.path)
        precondition(errors.isEmpty && StackValidator.validate(stack).isEmpty, "fixture \(name) is invalid: \(errors)")
        var files: [String: String] = [:]
        for path in Resolver.referencedFiles(stack) { files[path] = try? String(contentsOfFile: path, encoding: .utf8) }
        return (stack, files)
    }

    static func resolve(_ name: String, profiles: [String]? = nil, environment: String? = nil, facts: NetworkFacts = NetworkFacts()) throws
        -> DesiredState
    {
        let (stack, files) = try stack(name)
        return try Resolver.resolve(stack, ResolutionRequest(profiles: profiles, environment: environment, files: files, facts: facts))
    }

    /// A stack from inline YAML documents.
    static func inline(_ files: [String: String], profiles: [String]? = nil, process: [String: String] = [:]) throws -> DesiredState {
        let (stack, errors) = ManifestParser.parse(files: files, directory: "/stacks/demo")
        precondition(errors.isEmpty, "\(errors)")
        return try Resolver.resolve(stack, ResolutionRequest(profiles: profiles, processEnvironment: process))
    }
}

import ArgumentParser
import BerthEngine
import Foundation

extension Berth {
    /// Which Engine Berth talks to.
    struct Engine: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "engine",
            abstract: "Show the Engine Berth talks to (Docker or Podman), its version and the negotiated API version.")

        @Flag(help: "Print one JSON document instead of human output.")
        var json = false

        func run() async throws {
            struct Info: Encodable { let endpoint: String; let product: EngineProduct; let engineVersion: String; let apiVersion: String }
            let info = try await withEngine { engine in
                Info(
                    endpoint: engine.endpoint.description, product: engine.product, engineVersion: engine.engineVersion,
                    apiVersion: engine.apiVersion.description)
            }
            if json { return try printJSON(info) }
            print("\(info.product) \(info.engineVersion) at \(info.endpoint), API \(info.apiVersion)")
        }
    }
}

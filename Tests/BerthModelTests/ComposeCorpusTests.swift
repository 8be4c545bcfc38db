import BerthModel
import Foundation
import Testing

/// Berth over real Compose projects nobody here wrote (`Tests/ComposeCorpus`, each with the model
/// Docker Compose resolves for it, made by `scripts/compose-corpus`). Each project must either run
/// the same on every field that changes behaviour, or be refused with file:line naming the key.
/// A silent difference is a failure.
@Suite struct ComposeCorpusTests {
    static let root = Fixtures.repository.appendingPathComponent("Tests/ComposeCorpus")

    struct Project: CustomStringConvertible {
        let directory: URL
        let files: [String]
        let model: [String: Any]
        var description: String { directory.pathComponents.suffix(2).joined(separator: "/") }
    }

    enum Outcome: Equatable {
        case same
        /// Berth refused, at a file and line, naming a key: a reader is told, nothing runs.
        case refused(String)
        /// Compose refuses the project too.
        case bothRefuse
        /// The worst case: accepted, but different from what Compose runs.
        case silentlyDifferent([String])
        /// Refused without saying where or which key.
        case refusedVaguely(String)
    }

    static func projects() throws -> [Project] {
        let collections = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
        var result: [Project] = []
        for collection in collections {
            let base = root.appendingPathComponent(collection)
            guard (try? base.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true else { continue }
            for name in try FileManager.default.contentsOfDirectory(atPath: base.path).sorted() {
                let directory = base.appendingPathComponent(name)
                guard let meta = try? Data(contentsOf: directory.appendingPathComponent("corpus.json")),
                    let model = try? Data(contentsOf: directory.appendingPathComponent("compose.model.json"))
                else { continue }
                let files = (try JSONSerialization.jsonObject(with: meta) as? [String: Any])?["files"] as? [String] ?? []
                let resolved = try JSONSerialization.jsonObject(with: model) as? [String: Any] ?? [:]
                result.append(Project(directory: directory, files: files, model: resolved))
            }
        }
        return result
    }

    static func outcome(_ project: Project) -> Outcome {
        let composeRefuses = project.model["error"] != nil
        let state: DesiredState
        do {
            let options = ComposeOptions(files: project.files.map { project.directory.appendingPathComponent($0).path })
            let loaded = try ComposeLoader.load(options, environment: [:]) { try? String(contentsOfFile: $0, encoding: .utf8) }
            var files: [String: String] = [:]
            for path in Resolver.referencedFiles(loaded.stack) { files[path] = try? String(contentsOfFile: path, encoding: .utf8) }
            state = try Resolver.resolve(loaded.stack, ResolutionRequest(files: files))
        } catch {
            if composeRefuses { return .bothRefuse }
            let first = error.errors.first
            guard let first, let location = first.location, location.line > 0, first.field != nil else {
                return .refusedVaguely(error.description)
            }
            return .refused(first.description)
        }
        if composeRefuses { return .silentlyDifferent(["Compose refuses it: \(project.model["error"] ?? "")"]) }
        let differences = ComposeBehaviour.differences(
            compose: ComposeBehaviour.compose(project.model, directory: project.directory.path), berth: ComposeBehaviour.berth(state))
        return differences.isEmpty ? .same : .silentlyDifferent(differences)
    }

    @Test func everyProjectRunsTheSameOrIsRefusedWithFileAndLine() throws {
        let projects = try Self.projects()
        #expect(projects.count >= 50)
        var totals: [String: Int] = [:]
        var report: [String] = []
        for project in projects {
            let outcome = Self.outcome(project)
            switch outcome {
            case .same: totals["same", default: 0] += 1
            case .bothRefuse: totals["refused by both", default: 0] += 1
            case .refused(let message):
                totals["refused", default: 0] += 1
                report.append("refused \(project): \(message)")
            case .silentlyDifferent(let differences):
                totals["SILENTLY DIFFERENT", default: 0] += 1
                Issue.record("\(project) differs from Compose:\n  \(differences.joined(separator: "\n  "))")
            case .refusedVaguely(let message):
                totals["refused vaguely", default: 0] += 1
                Issue.record("\(project) is refused without file:line and key: \(message)")
            }
        }
        let counts = totals.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        let summary = "\(projects.count) projects: " + counts.joined(separator: ", ")
        print(([summary] + report).joined(separator: "\n"))
        if let path = ProcessInfo.processInfo.environment["BERTH_CORPUS_REPORT"] {
            try ([summary] + report).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
    }
}

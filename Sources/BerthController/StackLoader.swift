public import BerthModel
import Foundation

/// A stack read from disk: its manifests plus the env and secret files they name.
public struct LoadedStack: Sendable {
    public var manifest: StackManifest
    /// Contents of referenced env files and secret files, by absolute path.
    public var files: [String: String]
    /// Digest of every manifest file, recorded with each reconcile.
    public var digest: String

    public var name: String { manifest.name }
}

/// Reads a stack directory: every `*.yaml` / `*.yml` at its top level, then validates.
public enum StackLoader {
    /// - Throws: `ManifestErrors` with every problem found (syntax, unknown keys, references, …).
    public static func load(directory: String) throws(ManifestErrors) -> LoadedStack {
        let url = URL(fileURLWithPath: directory).standardizedFileURL
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: url.path)
        } catch {
            throw ManifestErrors([ManifestError.unreadable(directory, "cannot read stack directory: \(error.localizedDescription)")])
        }
        var texts: [String: String] = [:]
        var errors: [ManifestError] = []
        for entry in entries.sorted() where entry.hasSuffix(".yaml") || entry.hasSuffix(".yml") {
            let path = url.appendingPathComponent(entry).path
            let display = displayPath(path)
            do {
                texts[display] = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                errors.append(.unreadable(display, "cannot read: \(error.localizedDescription)"))
            }
        }
        if texts.isEmpty && errors.isEmpty {
            errors.append(.unreadable(directory, "no *.yaml or *.yml manifests in this directory"))
        }
        var (manifest, parseErrors) = ManifestParser.parse(files: texts, directory: url.path)
        manifest.directory = url.path
        errors += parseErrors
        errors += StackValidator.validate(manifest)
        if !errors.isEmpty { throw ManifestErrors(errors) }
        var files: [String: String] = [:]
        for path in Resolver.referencedFiles(manifest) {
            if let text = try? String(contentsOfFile: path, encoding: .utf8) { files[path] = text }
        }
        return LoadedStack(manifest: manifest, files: files, digest: Digest.files(texts))
    }

    /// Paths relative to the working directory when below it, as people typed them.
    static func displayPath(_ path: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath
        return path.hasPrefix(cwd + "/") ? String(path.dropFirst(cwd.count + 1)) : path
    }
}

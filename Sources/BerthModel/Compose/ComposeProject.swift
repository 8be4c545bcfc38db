import Foundation

/// A Compose project as a command line names it: `-f` files, `--env-file`s, `-p`.
public struct ComposeOptions: Sendable, Equatable {
    /// The Compose files in merge order, as absolute paths.
    public var files: [String]
    /// Files of variables for interpolation; empty means `<project directory>/.env` when it exists.
    public var envFiles: [String]
    /// `-p`; otherwise `COMPOSE_PROJECT_NAME`, the top-level `name:`, or the directory's name.
    public var projectName: String?

    public init(files: [String], envFiles: [String] = [], projectName: String? = nil) {
        self.files = files
        self.envFiles = envFiles
        self.projectName = projectName
    }

    /// The directory of the first file: relative paths and `.env` are found from it.
    public var projectDirectory: String {
        URL(fileURLWithPath: files.first ?? ".").deletingLastPathComponent().standardizedFileURL.path
    }
}

/// A Compose project read into Berth's model.
public struct ComposeProject: Sendable {
    /// Services, networks and volumes as native manifests; `.env` values form the `compose`
    /// environment, so resolution follows Compose's precedence (the shell over `.env`).
    public var stack: StackManifest
    /// What Berth does not do and ignoring does not change what runs, e.g. `expose`.
    public var warnings: [ManifestError]
    /// Every file read (Compose files, env files), by path, with its text.
    public var files: [String: String]
    /// Per service, the variables that came from its `env_file`s, as read: `berth import` moves
    /// them into an Environment.
    public var envFileValues: [String: [String: String]] = [:]
    /// The variables the project was interpolated with: `.env` under the shell.
    public var scope: [String: String] = [:]

    /// The name of the environment holding the project's `.env` values.
    public static let environmentName = "compose"

    /// Compose's rule for project names: lower case letters, digits, `-` and `_`, starting with a
    /// letter or digit. Other characters are dropped.
    public static func normalizedName(_ raw: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_")
        let kept = raw.lowercased().filter { allowed.contains($0) }
        return String(kept.drop { $0 == "-" || $0 == "_" })
    }
}

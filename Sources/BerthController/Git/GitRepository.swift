import Foundation

/// The local copy of a followed repository, in Berth's state directory: a bare, shallow
/// repository that each poll fetches one commit into, and a tree checked out per commit applied.
/// Only the newest few checkouts are kept.
public struct GitRepository: Sendable {
    public let remote: GitRemote
    /// `<state directory>/git/<key of the URL>`.
    let directory: String
    var git: GitCommand

    /// How many checked-out commits stay on disk.
    static let keptCheckouts = 5

    public init(remote: GitRemote, stateDirectory: String, timeout: Duration = .seconds(300)) {
        self.remote = remote
        self.directory = stateDirectory + "/git/" + remote.cacheKey
        self.git = GitCommand(timeout: timeout)
    }

    private var bare: String { directory + "/repo.git" }

    /// Fetches `ref` (a branch, a tag, or `HEAD`: the remote's default branch), one commit deep.
    /// - Returns: the commit it points at.
    public func fetch(_ ref: String) async throws -> String {
        try await exclusively {
            try await git.run(
                ["-C", bare, "fetch", "--quiet", "--depth", "1", "--no-tags", "--force", "--", remote.url, "+\(ref):refs/berth/followed"],
                extraEnvironment: try remote.environment())
            return try await git.run(["-C", bare, "rev-parse", "--verify", "refs/berth/followed^{commit}"])
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Makes sure `commit` (a full or abbreviated id) is here, fetching it when it is not.
    /// - Returns: its full id.
    public func fetch(commit: String) async throws -> String {
        try await exclusively {
            if let full = try? await resolve(commit) { return full }
            guard commit.count == 40 else {
                throw GitError(description: "commit \(commit) is not in the local copy; give its full 40-character id to fetch it")
            }
            try await git.run(
                ["-C", bare, "fetch", "--quiet", "--depth", "1", "--no-tags", "--", remote.url, commit], extraEnvironment: try remote.environment())
            return try await resolve(commit)
        }
    }

    /// The tree of `commit`, checked out once into its own directory.
    /// - Returns: that directory, named after the repository (a Compose project found at its
    ///   root takes its name from it, as from a clone).
    public func checkout(_ commit: String) async throws -> String {
        let commits = directory + "/commits"
        let target = commits + "/" + commit
        let files = FileManager.default
        let tree = tree(of: commit)
        if files.fileExists(atPath: tree) {
            try? files.setAttributes([.modificationDate: Date()], ofItemAtPath: target)
            return tree
        }
        return try await exclusively { try await checkout(commit, into: target) }
    }

    private func checkout(_ commit: String, into target: String) async throws -> String {
        let commits = directory + "/commits"
        let files = FileManager.default
        let tree = tree(of: commit)
        if files.fileExists(atPath: tree) { return tree }
        let scratch = commits + "/.new-" + UUID().uuidString
        try files.createDirectory(atPath: scratch + "/" + remote.name, withIntermediateDirectories: true)
        defer { try? files.removeItem(atPath: scratch) }
        let index = ["GIT_INDEX_FILE": scratch + "/.index"]
        let work = ["--git-dir", bare, "--work-tree", scratch + "/" + remote.name]
        try await git.run(work + ["read-tree", commit], extraEnvironment: index)
        try await git.run(work + ["checkout-index", "--all", "--force"], extraEnvironment: index)
        try? files.removeItem(atPath: scratch + "/.index")
        do {
            try files.moveItem(atPath: scratch, toPath: target)
        } catch  where files.fileExists(atPath: tree) {
            // Another Berth process checked the same commit out meanwhile.
        }
        prune(keeping: target)
        return tree
    }

    /// Checks that `commit` carries an SSH signature (git's `gpg.format=ssh`) by a key in the
    /// `allowed_signers` file (ssh-keygen(1) format).
    /// - Throws: `GitError` with git's words when it does not.
    public func verify(_ commit: String, allowedSigners: String) async throws {
        guard FileManager.default.isReadableFile(atPath: allowedSigners) else { throw GitError(description: "cannot read \(allowedSigners)") }
        try await git.run(["-C", bare, "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile=\(allowedSigners)", "verify-commit", commit])
    }

    /// Where `checkout` puts the tree of `commit`.
    func tree(of commit: String) -> String { directory + "/commits/" + commit + "/" + remote.name }

    /// The full id of `commit` when it is here.
    func resolve(_ commit: String) async throws -> String {
        try await git.run(["-C", bare, "rev-parse", "--verify", "--quiet", "\(commit)^{commit}"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `body` with the local copy created and to itself: a fetch rewrites the shallow
    /// file, which git refuses to do under another fetch (`watch` polling while `rollback` or
    /// `status` fetches, from another process or the same one).
    private func exclusively<T>(_ body: () async throws -> T) async throws -> T {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return try await StackLock.holding(directory + "/.lock", timeout: git.timeout) {
            if !FileManager.default.fileExists(atPath: bare + "/HEAD") { try await git.run(["init", "--quiet", "--bare", bare]) }
            return try await body()
        }
    }

    /// Removes all but the newest checkouts, and never `keeping`.
    private func prune(keeping: String) {
        let commits = directory + "/commits"
        let files = FileManager.default
        let entries = ((try? files.contentsOfDirectory(atPath: commits)) ?? []).filter { !$0.hasPrefix(".") }.map { commits + "/" + $0 }
        let byAge = entries.map { ($0, (try? files.attributesOfItem(atPath: $0)[.modificationDate] as? Date) ?? .distantPast) }
            .sorted { $0.1 > $1.1 }
        for (path, _) in byAge.dropFirst(Self.keptCheckouts) where path != keeping { try? files.removeItem(atPath: path) }
    }
}

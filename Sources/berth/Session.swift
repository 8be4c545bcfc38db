import BerthController
import BerthEngine
import BerthStore
import Foundation

/// What a command that acts on a stack works with: the reconcile log and a connected Engine,
/// used while the stack's lock is held. Opened and closed in one scope (`withSession`), so no
/// lock or client is kept alive by hand.
struct Session {
    let engine: DockerClient
    let store: ReconcileStore
}

/// Opens the state file, takes `stack`'s lock for `purpose` (`reconcile` waits up to `lockTimeout`,
/// saying who holds it; `watch` refuses at once), connects the Engine, runs `body`, then releases
/// all of it, whichever way `body` ends.
/// - Parameter connecting: a connection started earlier (while manifests load), else one is opened now.
func withSession<T>(
    _ common: CommonOptions, stack: String, purpose: String = "reconcile", lockTimeout: Duration,
    connecting: Task<DockerClient, any Error>? = nil, _ body: (Session) async throws -> T
) async throws -> T {
    let connecting = connecting ?? Task { try await DockerClient.connect() }
    let store: ReconcileStore
    do {
        // A watch serves its status page from the log while it writes to it.
        store = try common.openStore(concurrentReads: purpose == "watch")
    } catch {
        try? await connecting.value.shutdown()
        throw error
    }
    return try await withStackLock(common, stack: stack, purpose: purpose, lockTimeout: lockTimeout, connecting: connecting) {
        try await withEngine(connecting) { engine in try await body(Session(engine: engine, store: store)) }
    }
}

/// Holds `stack`'s lock for `purpose` while `body` runs, the Engine still connecting: the part of
/// `withSession` a command needs before it has read its manifests. `connecting` is shut down when
/// the lock cannot be had; from then on `body` owns the client.
func withStackLock<T>(
    _ common: CommonOptions, stack: String, purpose: String = "reconcile", lockTimeout: Duration, connecting: Task<DockerClient, any Error>,
    _ body: () async throws -> T
) async throws -> T {
    let lock = StackLock.path(stateFile: common.statePath, stack: stack, purpose: purpose)
    do {
        return try await StackLock.holding(lock, timeout: lockTimeout, onWait: { Console.error("\($0)\n") }, body)
    } catch let error as LockError {
        try? await connecting.value.shutdown()
        throw error
    }
}

import BerthEngine
import NIOConcurrencyHelpers

/// What a stack owns on the host, listed as soon as its name is settled (and, for `apply`, its
/// lock held): before its manifests are read, so that the Engine answers while they load (`berth
/// apply -p NAME`). Reading the files and the Engine's answer are the two longest waits of a
/// no-op apply, and neither needs the other.
///
/// Only the first observation of that stack takes it (`take`); every later one lists afresh.
public final class EarlyListing: Sendable {
    public let stack: String
    /// The lists, and the client's call counts before them: the reconcile that takes the listing
    /// counts its calls.
    private let listing: Task<(owned: Observer.Owned, callsBefore: EngineCallCounts), any Error>
    private let taken = NIOLockedValueBox(false)

    /// Starts listing what `stack` owns as soon as `engine` is connected. A caller that will act
    /// on the stack must hold its lock already: what is listed before the lock is taken may still
    /// be changed by the process that held it.
    public init<Engine: EngineClient>(stack: String, engine connecting: Task<Engine, any Error>) {
        self.stack = stack
        listing = Task {
            let engine = try await connecting.value
            let before = engine.callCounts
            return (try await Observer(engine: engine).listOwned(stack: stack), before)
        }
    }

    /// Whether the caller, reconciling `stack`, gets this listing: once, and only for its stack.
    public func take(_ stack: String) -> Bool {
        stack == self.stack
            && taken.withLockedValue { taken in
                defer { taken = true }
                return !taken
            }
    }

    /// The lists, once the Engine has answered them.
    public var owned: Observer.Owned {
        get async throws {
            try await withTaskCancellationHandler {
                try await listing.value.owned
            } onCancel: {
                cancel()
            }
        }
    }

    var callsBefore: EngineCallCounts {
        get async throws { try await listing.value.callsBefore }
    }

    /// Stops a listing nobody will take (the command failed before it observed).
    public func cancel() { listing.cancel() }
}

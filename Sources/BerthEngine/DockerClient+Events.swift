public import Foundation
import NIOCore

/// The Engine's event stream.
extension DockerClient {
    /// Streams Engine events matching `filters` (e.g. `["label": ["berth.stack=shop"], "type": ["container"]]`).
    ///
    /// Without `until`, the stream ends with an error when the Engine goes away. With `until`, the
    /// Engine ends it at that time and the stream finishes normally; one still open 30 s later has
    /// stalled and ends with an error. Cancelling the consuming task closes the connection.
    ///
    /// Filters and events are in Docker's words on either Engine: Podman's are translated here
    /// (`PodmanDialect`).
    public func events(filters: [String: [String]] = [:], since: String? = nil, until: Date? = nil) -> AsyncThrowingStream<
        EngineEvent, any Error
    > {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: EngineEvent.self)
        let podman = product == .podman
        let filters = podman ? PodmanDialect.eventFilters(filters) : filters
        let producer = Task {
            do {
                let response = try await send(
                    .get, "/events", query: [("filters", Self.filters(filters)), ("since", since), ("until", until.map(Self.timestamp))],
                    timeout: .hours(24 * 365))
                let body = response.body
                let read: @Sendable () async throws -> Void = {
                    for try await event in JSONLines<EngineEvent>(body: body) {
                        guard let event = podman ? PodmanDialect.normalized(event) : event else { continue }
                        continuation.yield(event)
                    }
                }
                if let until {
                    let allowed = TimeAmount.milliseconds(Int64(max(0, until.timeIntervalSinceNow) * 1000) + 30_000)
                    try await Deadline.within(allowed, "GET /events") { try await read() }
                    continuation.finish()
                } else {
                    try await read()
                    continuation.finish(throwing: EngineError.stream("the engine closed the event stream"))
                }
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in producer.cancel() }
        return stream
    }

    /// `seconds.nanoseconds` since 1970, as `since` and `until` take it.
    public static func timestamp(_ date: Date) -> String {
        let nanoseconds = Int64((date.timeIntervalSince1970 * 1e9).rounded())
        return "\(nanoseconds / 1_000_000_000).\(String(format: "%09lld", nanoseconds % 1_000_000_000))"
    }
}

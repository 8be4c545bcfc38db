import NIOCore

/// The Engine's event stream.
extension DockerClient {
    /// Streams Engine events matching `filters` (e.g. `["label": ["berth.stack=shop"], "type": ["container"]]`).
    ///
    /// The stream ends with an error when the Engine goes away; cancelling the consuming task
    /// closes the connection.
    public func events(filters: [String: [String]] = [:], since: String? = nil) -> AsyncThrowingStream<EngineEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: EngineEvent.self)
        let producer = Task {
            do {
                let response = try await send(
                    .get, "/events", query: [("filters", Self.filters(filters)), ("since", since)],
                    timeout: .hours(24 * 365))
                for try await event in JSONLines<EngineEvent>(body: response.body) {
                    continuation.yield(event)
                }
                continuation.finish(throwing: EngineError.stream("the engine closed the event stream"))
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in producer.cancel() }
        return stream
    }
}

/// Runs `body` for each key in parallel and collects the answers by key.
///
/// Every fan-out of the controller goes through here, so one place holds the shape that the
/// Swift 6.3.1 optimizer compiles correctly. A child task's closure written as
/// `do { return (key, try await call(key)) } catch { return (key, fallback) }` loses the tuple's
/// first element (or crashes on it) in `-O` builds: the optimizer stores that element into the
/// task's result buffer before the `await`, and the value the caller reads back is garbage. The
/// child below awaits into a local and returns a struct. docs/toolchain.md has the reduction.
func concurrently<Key: Hashable & Sendable, Value: Sendable>(
    _ keys: some Sequence<Key>, _ body: @escaping @Sendable (Key) async throws -> Value
) async throws -> [Key: Value] {
    try await withThrowingTaskGroup(of: Answer<Key, Value>.self) { group in
        for key in keys {
            group.addTask {
                let value = try await body(key)
                return Answer(key: key, value: value)
            }
        }
        var answers: [Key: Value] = [:]
        for try await answer in group { answers[answer.key] = answer.value }
        return answers
    }
}

/// One child task's result. A struct, not a tuple: see `concurrently`.
private struct Answer<Key: Sendable, Value: Sendable>: Sendable {
    let key: Key
    let value: Value
}

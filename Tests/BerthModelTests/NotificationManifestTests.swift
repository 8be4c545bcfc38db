import BerthModel
import Testing

/// The Stack's `notify:` as written: each channel, credentials kept out of the manifest, and
/// every mistake at its line.
@Suite struct NotificationManifestTests {
    @Test func readsEachChannel() throws {
        let text = """
            kind: Stack
            name: demo
            notify:
              - webhook: https://hooks.example.internal/berth
                secret: {env: HOOK_KEY}
                on: [failed, drift-repaired]
              - ntfy: {env: NTFY_URL}
              - slack: {file: slack.url}

            """
        let (stack, errors) = ManifestParser.parse(files: ["s.yaml": text], directory: "/stacks/demo")
        #expect(errors.isEmpty, "\(errors)")
        #expect(stack.notifications.map(\.channel) == [.webhook, .ntfy, .slack])
        #expect(stack.notifications[0].url == .literal("https://hooks.example.internal/berth"))
        #expect(stack.notifications[0].secret == .environment("HOOK_KEY"))
        #expect(stack.notifications[0].events == [.failed, .driftRepaired])
        #expect(stack.notifications[1].url == .environment("NTFY_URL") && stack.notifications[1].events == NotificationManifest.Event.defaults)
        #expect(stack.notifications[2].url == .file("slack.url"))
        #expect(stack.notifications[0].location?.line == 4)
    }

    @Test(arguments: [
        ("- {webhook: http://x/h, ntfy: http://y/t}", "notify[0]", "names one channel"),
        ("- {on: [failed]}", "notify[0]", "names one channel"),
        ("- {webhook: ftp://x/h}", "notify[0].webhook", "not an http:// or https:// URL"),
        ("- {webhook: http://x/h, secret: hunter2}", "notify[0].secret", "a signing key is a secret"),
        ("- {ntfy: http://x/t, secret: {env: K}}", "notify[0].secret", "ntfy does not take one"),
        ("- {slack: http://x/s, on: [failed, exploded]}", "notify[0].on", "unknown event 'exploded'"),
        ("- {webhook: {env: A, file: b}}", "notify[0].webhook", "not both"),
        ("- {webhook: {path: b}}", "notify[0].webhook", "unknown key"),
    ])
    func mistakes(item: String, field: String, message: String) throws {
        let found = problems(["s.yaml": "kind: Stack\nname: demo\nnotify:\n  \(item)\n"])
        let error = try #require(found.first { $0.field?.hasPrefix(field) == true }, "\(found)")
        #expect(error.message.contains(message), "\(error.message)")
        #expect(error.location?.line == 4)
        #expect(!error.description.contains("hunter2"))
    }
}

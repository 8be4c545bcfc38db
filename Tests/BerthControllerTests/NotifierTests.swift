import BerthController
import BerthModel
import BerthTesting
import Crypto
import Foundation
import Logging
import Testing

/// Notifications to receivers on loopback: each channel's format, the webhook's signature, and a
/// receiver that is down or slow never holding up what submits.
@Suite struct NotifierTests {
    static let notice = Notice(
        event: .failed, stack: "shop", summary: "reconcile #7 (event) ended failed", details: ["start container shop-web: port taken"],
        services: ["web"], reconcileID: 7)

    /// Runs a notifier for `body`, then stops it.
    static func with(
        _ targets: [Notifier.Target], delivery: Notifier.Delivery = Notifier.Delivery(), metrics: Metrics = Metrics(),
        _ body: (Notifier) async throws -> Void
    ) async throws {
        let notifier = Notifier(targets: targets, delivery: delivery, metrics: metrics, logger: Logger(label: "test"))
        let running = Task { try await notifier.run() }
        defer { running.cancel() }
        try await body(notifier)
    }

    @Test func aWebhookIsJSONSignedWithHMAC() async throws {
        let receiver = try await HookReceiver()
        defer { receiver.stop() }
        let key = Array("shared-key".utf8)
        try await Self.with([Notifier.Target(channel: .webhook, url: receiver.url, secret: key, events: [.failed])]) { notifier in
            await notifier.post(Self.notice)
            await notifier.post(Notice(event: .driftRepaired, stack: "shop", summary: "not wanted by this target"))
            let requests = await receiver.wait(for: 1)
            try await Task.sleep(for: .milliseconds(200))
            #expect(receiver.requests.count == 1)
            let request = try #require(requests.first)
            #expect(request.method == "POST" && request.path == "/hook")
            #expect(request.headers["content-type"] == "application/json" && request.headers["x-berth-event"] == "failed")
            let signature = HMAC<SHA256>.authenticationCode(for: request.body, using: SymmetricKey(data: key)).map { String(format: "%02x", $0) }
                .joined()
            #expect(request.headers["x-berth-signature-256"] == "sha256=" + signature)
            let json = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
            #expect(json["schemaVersion"] as? Int == 1 && json["event"] as? String == "failed" && json["stack"] as? String == "shop")
            #expect(json["details"] as? [String] == ["start container shop-web: port taken"] && json["reconcileID"] as? Int == 7)
        }
    }

    @Test func ntfyAndSlackFormats() async throws {
        let receiver = try await HookReceiver()
        defer { receiver.stop() }
        try await Self.with([
            Notifier.Target(channel: .ntfy, url: receiver.url, events: [.failed]),
            Notifier.Target(channel: .slack, url: receiver.url, events: [.failed]),
        ]) { notifier in
            await notifier.post(Self.notice)
            let requests = await receiver.wait(for: 2)
            let ntfy = try #require(requests.first { $0.headers["title"] != nil })
            #expect(ntfy.headers["title"] == "berth shop: failed" && ntfy.headers["priority"] == "high")
            #expect(ntfy.text == "reconcile #7 (event) ended failed\nstart container shop-web: port taken")
            let slack = try #require(requests.first { $0.headers["title"] == nil })
            let json = try #require(try JSONSerialization.jsonObject(with: slack.body) as? [String: String])
            #expect(json["text"] == "*berth* `shop` failed: reconcile #7 (event) ended failed\n• start container shop-web: port taken")
        }
    }

    /// A receiver that is down is tried `attempts` times, then given up (counted); a receiver
    /// that answers 500 is retried, one that answers 400 is not.
    @Test func aDownOrFailingReceiverIsRetriedThenGivenUp() async throws {
        let receiver = try await HookReceiver(status: 500)
        let metrics = Metrics()
        let delivery = Notifier.Delivery(attempts: 3, firstRetry: .milliseconds(20), timeout: .seconds(1))
        try await Self.with([Notifier.Target(channel: .webhook, url: receiver.url, events: [.failed])], delivery: delivery, metrics: metrics) {
            notifier in
            await notifier.post(Self.notice)
            #expect(await receiver.wait(for: 3).count == 3)
            receiver.answer(status: 400)
            await notifier.post(Self.notice)
            _ = await receiver.wait(for: 4)
            try await Task.sleep(for: .milliseconds(300))
            #expect(receiver.requests.count == 4)
            receiver.stop()
            try await Task.sleep(for: .milliseconds(100))
            await notifier.post(Self.notice)
            // A refused connection is retried by the HTTP client itself until the attempt's deadline.
            for _ in 0..<300 where !(await metrics.render()).contains(#"outcome="failed"} 3"#) { try await Task.sleep(for: .milliseconds(50)) }
            #expect(await metrics.render().contains(#"berth_notifications_total{channel="webhook",outcome="failed"} 3"#))
        }
    }

    /// A receiver that never answers in time: `post` returns at once, the queue stays bounded
    /// (the oldest dropped, counted), and every delivery ends at its deadline.
    @Test func aSlowReceiverHoldsNothingUp() async throws {
        let receiver = try await HookReceiver(delay: .seconds(30))
        defer { receiver.stop() }
        let metrics = Metrics()
        let delivery = Notifier.Delivery(attempts: 1, firstRetry: .milliseconds(10), timeout: .milliseconds(300), capacity: 2)
        try await Self.with([Notifier.Target(channel: .webhook, url: receiver.url, events: [.failed])], delivery: delivery, metrics: metrics) {
            notifier in
            let started = ContinuousClock.now
            for _ in 0..<20 { await notifier.post(Self.notice) }
            #expect(ContinuousClock.now - started < .seconds(2), "posting waited for the receiver")
            for _ in 0..<100 where !(await metrics.render()).contains("outcome=\"dropped\"") { try await Task.sleep(for: .milliseconds(50)) }
            let text = await metrics.render()
            #expect(text.contains(#"berth_notifications_total{channel="webhook",outcome="dropped"}"#), "\(text)")
        }
    }

    /// Failures and crash loops are told when they start, not on every retry.
    @Test func noticesAreToldOncePerEpisode() {
        var tracker = NoticeTracker()
        let failing = WatchRound(trigger: Trigger(.retry, "after: engine"), error: "cannot reach the Engine\nmore")
        #expect(tracker.notices(after: failing, stack: "s").map(\.event) == [.failed])
        #expect(tracker.notices(after: failing, stack: "s").isEmpty)
        let looping = WatchRound(trigger: Trigger(.backoff, "crash"), error: "still no Engine", held: ["crash": .seconds(4)])
        let notices = tracker.notices(after: looping, stack: "s")
        #expect(notices.map(\.event) == [.crashLoop] && notices.first?.summary == "crash keeps dying: repairs backed off, next in 4 s")
        #expect(tracker.notices(after: looping, stack: "s").isEmpty)
        // Healthy again, then failing again: told again.
        #expect(tracker.notices(after: WatchRound(trigger: Trigger(.resync, "every 30 s")), stack: "s").isEmpty)
        #expect(tracker.notices(after: failing, stack: "s").first?.details == ["cannot reach the Engine more"])
    }
}

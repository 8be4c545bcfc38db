import BerthController
import Testing

@Suite struct BackoffTests {
    @Test(arguments: [(0, 0), (1, 1), (2, 2), (3, 4), (4, 8), (9, 256), (10, 300), (50, 300)])
    func doublesUpToTheCap(_ attempt: Int, _ seconds: Int64) {
        #expect(Backoff().delay(attempt: attempt) == .seconds(seconds))
    }

    @Test func firstRepairIsImmediateThenDelaysGrow() {
        var tracker = CrashLoopTracker(backoff: Backoff(base: .seconds(1), cap: .seconds(60)), stableAfter: .seconds(30))
        let t0 = ContinuousClock.now
        #expect(tracker.held(at: t0).isEmpty)
        tracker.recordRepairs(["web"], at: t0)
        #expect(tracker.held(at: t0) == ["web": t0 + .seconds(1)])
        #expect(tracker.held(at: t0 + .seconds(1)).isEmpty)
        tracker.recordRepairs(["web"], at: t0 + .seconds(1))
        #expect(tracker.held(at: t0 + .seconds(2)) == ["web": t0 + .seconds(3)])
        tracker.recordRepairs(["web"], at: t0 + .seconds(3))
        #expect(tracker.held(at: t0 + .seconds(3))["web"] == t0 + .seconds(7))
        #expect(tracker.entries["web"]?.failures == 3)
    }

    @Test func staysHealthyLongEnoughAndTheCountResets() {
        var tracker = CrashLoopTracker(backoff: Backoff(base: .seconds(1), cap: .seconds(60)), stableAfter: .seconds(30))
        let t0 = ContinuousClock.now
        for step in 0..<4 { tracker.recordRepairs(["web"], at: t0 + .seconds(step * 10)) }
        #expect(tracker.entries["web"]?.failures == 4)
        tracker.recordRepairs(["web"], at: t0 + .seconds(100))
        #expect(tracker.entries["web"]?.failures == 1)
    }

    /// On a loaded host a round that starts a container can take 15 s; the container dies at
    /// once and the next round finds it. That is a crash loop, however long the rounds took.
    @Test func slowRoundsDoNotMakeACrashLoopLookStable() {
        var tracker = CrashLoopTracker(backoff: Backoff(base: .milliseconds(250), cap: .seconds(300)), stableAfter: .seconds(10))
        let t0 = ContinuousClock.now
        for round in 0..<4 {
            let began = t0 + .seconds(round * 15)
            tracker.recordRepairs(["crash"], at: began + .seconds(15), observedAt: began)
        }
        #expect(tracker.entries["crash"]?.failures == 4)
    }

    /// A wait longer than `stableAfter` is not time the container was up.
    @Test func aLongBackoffDoesNotResetTheCount() {
        var tracker = CrashLoopTracker(backoff: Backoff(base: .seconds(1), cap: .seconds(300)), stableAfter: .seconds(10))
        let t0 = ContinuousClock.now
        var now = t0
        for _ in 0..<8 {
            let due = tracker.entries["crash"]?.notBefore ?? now
            tracker.recordRepairs(["crash"], at: due + .milliseconds(100), observedAt: due)
            now = due + .milliseconds(100)
        }
        #expect(tracker.entries["crash"]?.failures == 8)
        #expect(tracker.held(at: now)["crash"] == now + .seconds(128))
        // Up for 11 s past the end of its wait, then dead: healthy again.
        let later = tracker.entries["crash"]!.notBefore + .seconds(11)
        tracker.recordRepairs(["crash"], at: later, observedAt: later)
        #expect(tracker.entries["crash"]?.failures == 1)
    }

    @Test func servicesAreTrackedIndependently() {
        var tracker = CrashLoopTracker()
        let t0 = ContinuousClock.now
        tracker.recordRepairs(["a", "a", "b"], at: t0)
        #expect(tracker.entries["a"]?.failures == 2)
        #expect(tracker.entries["b"]?.failures == 1)
    }
}

@Suite struct TriggerQueueTests {
    @Test func aBurstBecomesOneBatch() async {
        let queue = TriggerQueue()
        for index in 0..<50 { await queue.push(Trigger(.event, "die c\(index)")) }
        var iterator = queue.doorbell.makeAsyncIterator()
        _ = await iterator.next()
        let batch = await queue.drain()
        #expect(batch.count == 50)
        #expect(await queue.drain().isEmpty)
    }

    @Test func theMostSpecificTriggerNamesTheBatch() {
        #expect([TriggerKind.resync, .event, .backoff].min() == .event)
        #expect([TriggerKind.resync, .manifest, .event].min() == .manifest)
    }
}

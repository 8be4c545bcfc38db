import BerthTesting
import Foundation
import Testing

/// `berth watch` as a process: one per stack, and SIGTERM ends it cleanly.
@Suite struct WatchCommandTests {
    @Test func secondWatchRefusesAndSigtermExitsZero() async throws {
        try await TestStack.with("cw") { stack in
            try stack.write(
                "stack.yaml",
                "kind: Stack\nname: {{stack}}\n---\nkind: Service\nname: web\nimage: \(TestStack.baseImage)\ninit: true\ncommand: [sleep, \"600\"]\n")
            let environment = stack.berthEnvironment
            let watch = Process()
            watch.executableURL = URL(fileURLWithPath: BerthBinary.path)
            watch.arguments = ["watch", stack.directory.path, "--resync", "5", "--listen", "127.0.0.1:0"]
            watch.environment = environment
            let output = Pipe()
            watch.standardOutput = output
            watch.standardError = FileHandle.nullDevice
            let exited = AsyncStream<Int32>.makeStream()
            watch.terminationHandler = { exited.continuation.yield($0.terminationStatus) }
            try watch.run()
            defer { if watch.isRunning { watch.terminate() } }

            for _ in 0..<600 where (try? await stack.containers().first?.state) != "running" { try await Task.sleep(for: .milliseconds(100)) }
            #expect(try await stack.containers().first?.state == "running")

            let second = try await Command.run(BerthBinary.path, ["watch", stack.directory.path], environment: environment)
            #expect(second.status != 0)
            #expect(second.stderr.contains("another Berth process"))

            kill(watch.processIdentifier, SIGTERM)
            var iterator = exited.stream.makeAsyncIterator()
            let status = await iterator.next()
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            try ProcessCrashed.check(watch, command: "berth watch", output: printed)
            #expect(status == 0)
            #expect(printed.contains("[startup: watch started]"))
        }
    }
}

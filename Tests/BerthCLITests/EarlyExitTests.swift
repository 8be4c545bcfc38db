import BerthTesting
import Foundation
import Testing

/// Every way a command can stop early, after it has started connecting to the Engine, ends in a
/// clear error and exit status 1: never a Swift trap ("Client not shut down before the deinit").
/// `Command.run` fails the test if the process dies of a crash signal.
@Suite struct EarlyExitTests {
    static let manifest = "kind: Stack\nname: {{stack}}\n---\nkind: Service\nname: web\nimage: \(TestStack.baseImage)\ncommand: [sleep, \"60\"]\n"

    @Test func applyWhileAnotherProcessHoldsTheStack() async throws {
        try await TestStack.with("ee") { stack in
            try stack.write("stack.yaml", Self.manifest)
            // Another process holds the stack's reconcile lock for a while.
            let lock = stack.directory.appendingPathComponent("\(stack.name).reconcile.lock").path
            let holder = Process()
            holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
            holder.arguments = ["-x", lock, "sleep", "20"]
            try holder.run()
            defer { holder.terminate() }
            try await Task.sleep(for: .milliseconds(300))
            let result = try await stack.berth(["apply", stack.directory.path, "--lock-timeout", "1"])
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.contains("another Berth process"), "\(result.stderr)")
            #expect(try await stack.containers().isEmpty)
        }
    }

    @Test(arguments: [["apply"], ["down"], ["plan"], ["status"]])
    func aCorruptStateFile(_ command: [String]) async throws {
        try await TestStack.with("ee") { stack in
            try stack.write("stack.yaml", Self.manifest)
            try Data(repeating: 0x5a, count: 8192).write(to: URL(fileURLWithPath: stack.statePath))
            let result = try await stack.berth(command + [stack.directory.path])
            #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stderr.contains(stack.statePath), "\(result.stderr)")
            #expect(try await stack.containers().isEmpty)
        }
    }
}

/// A state file that belongs to another user is neither written nor re-permissioned.
@Suite(.enabled(if: getuid() == 0, "needs root to give the file to another user"))
struct ForeignStateFileTests {
    @Test func anotherUsersStateFileIsRefused() async throws {
        try await TestStack.with("fs") { stack in
            try stack.write("stack.yaml", EarlyExitTests.manifest)
            _ = try stack.store()
            #expect(chmod(stack.statePath, 0o644) == 0)
            #expect(chown(stack.statePath, 65534, 65534) == 0)
            let result = try await stack.berth(["apply", stack.directory.path])
            #expect(result.status == 1)
            #expect(result.stderr.contains("belongs to uid 65534"), "\(result.stderr)")
            #expect(try await stack.containers().isEmpty)
            // Reading it is fine: plan neither writes nor re-permissions the file.
            let plan = try await stack.berth(["plan", stack.directory.path])
            #expect(plan.status == 0, "\(plan.stderr)")
            let mode = try FileManager.default.attributesOfItem(atPath: stack.statePath)[.posixPermissions] as? Int
            #expect(mode == 0o644, "left as it was")
        }
    }
}

/// The commands that only read (`plan`, `status`, `history`) work on a state file they cannot
/// write: a read-only disk (here a read-only bind mount) or another user's readable log.
@Suite(.enabled(if: MountProbe.canMountReadOnly(), "needs the right to make a read-only bind mount"))
struct ReadOnlyStateTests {

    @Test func readingCommandsWorkOnAReadOnlyStateFile() async throws {
        try await TestStack.with("ro") { stack in
            try stack.write("stack.yaml", EarlyExitTests.manifest)
            let state = stack.directory.appendingPathComponent("state")
            let view = stack.directory.appendingPathComponent("view")
            try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: view, withIntermediateDirectories: true)
            var environment = ProcessInfo.processInfo.environment
            environment["BERTH_STATE"] = state.appendingPathComponent("berth.db").path
            let applied = try await Command.run(BerthBinary.path, ["apply", stack.directory.path], environment: environment)
            #expect(applied.status == 0, "\(applied.stderr)")

            let mounted = try await Command.run("mount", ["--bind", state.path, view.path])
            try #require(mounted.status == 0, "mount --bind: \(mounted.stderr)")
            defer { Task { _ = try? await Command.run("umount", [view.path]) } }
            _ = try await Command.run("mount", ["-o", "remount,ro,bind", view.path])
            environment["BERTH_STATE"] = view.appendingPathComponent("berth.db").path
            for command in [["plan", stack.directory.path], ["status", stack.directory.path], ["history", "--stack", stack.name]] {
                let result = try await Command.run(BerthBinary.path, command, environment: environment)
                #expect(result.status == 0, "\(command[0]): \(result.stderr)")
            }
            let status = try await Command.run(BerthBinary.path, ["status", stack.directory.path, "--json"], environment: environment)
            #expect(status.stdout.contains("\"inSync\" : true"), "\(status.stdout)")
            let writing = try await Command.run(BerthBinary.path, ["apply", stack.directory.path], environment: environment)
            #expect(writing.status == 1 && writing.stderr.contains("Read-only file system"), "\(writing.stderr)")
        }
    }
}

enum MountProbe {
    /// Whether this machine lets the tests make a read-only bind mount (root, not in a sandbox).
    static func canMountReadOnly() -> Bool {
        guard getuid() == 0 else { return false }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-mount-probe-\(UUID().uuidString.prefix(8))").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func run(_ arguments: [String]) -> Bool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return false }
            process.waitUntilExit()
            return process.terminationStatus == 0
        }
        guard run(["mount", "--bind", directory, directory]) else { return false }
        defer { _ = run(["umount", directory]) }
        return run(["mount", "-o", "remount,ro,bind", directory])
    }
}

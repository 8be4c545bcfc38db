import Foundation

/// Restarts the Docker daemon the tests use, the way an operator or a package upgrade would.
/// Only for the separate engine-restart test run: every other test would see the Engine vanish.
public enum EngineDaemon {
    public static func restart() async throws {
        let systemd = try await Command.run("systemctl", ["is-active", "--quiet", "docker"])
        if systemd.status == 0 {
            let result = try await Command.run("systemctl", ["restart", "docker"])
            guard result.status == 0 else { throw CommandFailure(command: "systemctl restart docker", result: result) }
        } else {
            let pid = try await Command.run("pidof", ["dockerd"]).stdout.split(separator: " ").first.map {
                String($0).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard let pid, let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
                throw CommandFailure(command: "pidof dockerd", result: CommandResult(status: 1, stdout: "", stderr: "no dockerd running"))
            }
            let argv = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            kill(pid_t(pid)!, SIGTERM)
            for _ in 0..<300 where FileManager.default.fileExists(atPath: "/proc/\(pid)") {
                try await Task.sleep(for: .milliseconds(100))
            }
            let quoted = argv.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
            // No pipes: the daemon outlives the launcher and would hold them open forever.
            let launcher = Process()
            launcher.executableURL = URL(fileURLWithPath: "/bin/sh")
            launcher.arguments = ["-c", "nohup \(quoted) >>/tmp/berth-dockerd.log 2>&1 </dev/null &"]
            launcher.standardInput = FileHandle.nullDevice
            launcher.standardOutput = FileHandle.nullDevice
            launcher.standardError = FileHandle.nullDevice
            try launcher.run()
        }
        for _ in 0..<240 {
            if try await Command.run("docker", ["version"]).status == 0 { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw CommandFailure(command: "docker version", result: CommandResult(status: 1, stdout: "", stderr: "dockerd did not come back"))
    }
}

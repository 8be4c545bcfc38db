import BerthTesting
import Foundation
import Testing

/// The exit-code table of the README, and the common mistakes each answered in one line that
/// says what is wrong and what to do: 0 ok, 1 failure, 2 changes pending or drift when asked,
/// 64 wrong usage only.
@Suite struct OperatorErrorTests {
    func berth(_ arguments: [String], state: String = "/nonexistent/berth-test.db") async throws -> CommandResult {
        var environment = ProcessInfo.processInfo.environment
        environment["BERTH_STATE"] = state
        return try await Command.run(BerthBinary.path, arguments, environment: environment)
    }

    /// Mistakes found before any manifest is read or the Engine is asked.
    @Test(
        arguments: [
            (["aply", "manifests/shop"], 64, "'aply' is not a berth command; did you mean 'berth apply'?"),
            (["stauts"], 64, "did you mean 'berth status'?"),
            (["frobnicate"], 64, "`berth --help` lists them"),
            (["apply", "--jsn", "manifests/shop"], 64, "Did you mean '--json'?"),
            (["plan", "/nonexistent/berth-stack"], 1, "no stack directory '/nonexistent/berth-stack'"),
            (["plan", "/etc/hostname"], 1, "'/etc/hostname' is a file, not a stack directory; for a Compose file, give it with -f"),
            (["watch", "manifests/shop", "--listen", "127.0.0.1:99999"], 64, "a port from 0 (any free one) to 65535, not '127.0.0.1:99999'"),
            (["watch", "manifests/shop", "--listen", ":9464"], 64, "not ':9464'"),
            (["watch", "manifests/shop", "--listen", "99999"], 64, "PORT or HOST:PORT with a port from 0 (any free one) to 65535, not '99999'"),
            (["logs", "manifests/shop", "--tail", "many"], 64, "--tail takes a number of lines or `all`"),
            (["exec", "manifests/shop", "web"], 64, "give the command after the service"),
            (["logs", "manifests/shop", "frontnd"], 1, "stack shop has no service 'frontnd'; did you mean 'frontend'?"),
            (["rollback", "manifests/shop", "service-c"], 1, "stack shop has no service 'service-c'; did you mean 'service-b'?"),
        ] as [([String], Int32, String)])
    func usageAndInputMistakes(arguments: [String], status: Int32, message: String) async throws {
        let result = try await berth(arguments.map { $0.hasPrefix("manifests/") ? CLITests.repository.appendingPathComponent($0).path : $0 })
        #expect(result.status == status, "\(arguments): \(result.stderr)")
        #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        #expect(!result.stderr.contains("The file doesn’t exist"), "no Foundation text")
    }

    /// A host port another container publishes: the failed start names that container.
    @Test func aHostPortHeldByAnotherContainerIsNamed() async throws {
        try await TestStack.with("oe") { stack in
            let port = Int.random(in: 20000...40000)
            let hog = "\(stack.name)-hog"
            try await Command.docker("run", "-d", "--name", hog, "-p", "127.0.0.1:\(port):80", TestStack.baseImage, "sleep", "600")
            defer { Task { _ = try? await Command.docker("rm", "-f", hog) } }
            try stack.write(
                "stack.yaml",
                "kind: Stack\nname: {{stack}}\n---\nkind: Service\nname: web\nimage: \(TestStack.baseImage)\ninit: true\ncommand: [sleep, \"600\"]\nports: [\"127.0.0.1:\(port):80\"]\n"
            )
            let applied = try await stack.berth(["apply", stack.directory.path])
            #expect(applied.status == 1)
            #expect(
                applied.stdout.contains("host port \(port) is already published by container \(hog); stop it or publish another port"),
                "\(applied.stdout)")
        }
    }

    /// A failed health gate shows the probe's own words and the container's last lines, with
    /// the secret in them redacted, in apply, status and history.
    @Test func aFailedHealthGateSaysWhy() async throws {
        try await TestStack.with("oe") { stack in
            let secret = "s3cr3t-\(stack.name)"
            try stack.write(
                "compose.yaml",
                """
                name: {{stack}}
                services:
                  web:
                    image: \(TestStack.baseImage)
                    init: true
                    command: [sh, -c, "echo starting with token $$API_TOKEN; exec sleep 600"]
                    environment:
                      API_TOKEN: \(secret)
                    healthcheck:
                      test: [CMD, sh, -c, "echo probe says no; exit 1"]
                      interval: 1s
                      retries: 2

                """)
            let project = ["--file", stack.directory.appendingPathComponent("compose.yaml").path]
            let applied = try await stack.berth(["apply"] + project)
            #expect(applied.status == 1)
            #expect(applied.stdout.contains("last check (exit 1): probe says no"), "\(applied.stdout)")
            #expect(applied.stdout.contains("last output:") && applied.stdout.contains("starting with token <secret>"), "\(applied.stdout)")
            let status = try await stack.berth(["status"] + project)
            #expect(status.stdout.contains("! web") && status.stdout.contains("last check (exit 1): probe says no"), "\(status.stdout)")
            #expect(try await stack.berth(["status", "--detailed-exitcode"] + project).status == 2)
            let history = try await stack.berth(["history", "--stack", stack.name])
            #expect(history.stdout.contains("probe says no"))
            for output in [applied.stdout, applied.stderr, status.stdout, history.stdout] { #expect(!output.contains(secret)) }
        }
    }

    /// An image that is neither on the host nor pullable: what is wrong and what to do, then the
    /// Engine's words. (The registry is a closed loopback port: nothing leaves the host.)
    @Test func anUnpullableImageSaysWhy() async throws {
        try await TestStack.with("oe") { stack in
            try stack.write("stack.yaml", "kind: Stack\nname: {{stack}}\n---\nkind: Service\nname: web\nimage: 127.0.0.1:1/berth-absent/web:1\n")
            let applied = try await stack.berth(["apply", stack.directory.path])
            #expect(applied.status == 1)
            #expect(
                applied.stdout.contains(
                    "image 127.0.0.1:1/berth-absent/web:1 is not on this host and its registry cannot be reached; build it, load it (docker load), or fix its name or tag"
                ), "\(applied.stdout)")
            #expect(applied.stdout.contains("Engine: "))
        }
    }

    /// `watch --listen` on a port already taken ends with why, not with a "serving" line.
    @Test func aListenAddressInUseEndsWatch() async throws {
        try await TestStack.with("oe") { stack in
            try stack.write("stack.yaml", "kind: Stack\nname: {{stack}}\n")
            let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(socket, $0, length) == 0 && listen(socket, 1) == 0 && getsockname(socket, $0, &length) == 0
                }
            }
            try #require(bound)
            let port = Int(UInt16(bigEndian: address.sin_port))
            let watch = try await stack.berth(["watch", stack.directory.path, "--listen", "127.0.0.1:\(port)", "--resync", "600"])
            #expect(watch.status == 1)
            #expect(
                watch.stderr.contains("cannot listen on 127.0.0.1:\(port): Address already in use; choose another --listen address or port"),
                "\(watch.stderr)")
            #expect(!watch.stderr.contains("serving"))
        }
    }

    /// A Compose project applied with -f, imported with a variant, plans no change; `down -p`
    /// removes it by name alone.
    @Test func importThenPlanAndDownByProjectName() async throws {
        try await TestStack.with("oe") { stack in
            let service = { (host: String) in
                "    image: \(TestStack.baseImage)\n    init: true\n    command: [sleep, \"600\"]\n    environment:\n      DB_HOST: \(host)\n      DB_PORT: \"5432\"\n"
            }
            try stack.write(
                "docker-compose.yml",
                "name: {{stack}}\nservices:\n  db:\n    image: \(TestStack.baseImage)\n    init: true\n    command: [sleep, \"600\"]\n  web:\n\(service("db"))    depends_on: [db]\n"
            )
            try stack.write("docker-compose.external-db.yml", "name: {{stack}}\nservices:\n  web:\n\(service("db.internal.example"))")
            let compose = stack.directory.appendingPathComponent("docker-compose.yml").path
            #expect(try await stack.berth(["apply", "-f", compose]).status == 0)
            let native = stack.directory.appendingPathComponent("native").path
            let imported = try await stack.berth([
                "import", "-f", compose, "--variant", "external-db=" + stack.directory.appendingPathComponent("docker-compose.external-db.yml").path,
                "--base-variant", "internal-db", "-o", native,
            ])
            #expect(imported.status == 0, "\(imported.stderr)")
            let plan = try await stack.berth(["plan", native, "--detailed-exitcode"])
            #expect(plan.status == 0, "\(plan.stdout)\(plan.stderr)")
            #expect(plan.stdout.contains("in sync"))

            let down = try await stack.berth(["down", "-p", stack.name])
            #expect(down.status == 0, "\(down.stderr)")
            #expect(try await stack.containers().isEmpty)
        }
    }
}

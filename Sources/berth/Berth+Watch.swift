import ArgumentParser
import BerthController
import BerthEngine
import BerthModel
import Foundation
import Logging
import ServiceLifecycle

extension Berth {
    /// Keeps a stack converged until stopped.
    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "watch",
            abstract: "Keep a stack converged: reconcile on Engine events, manifest edits and a periodic resync.",
            discussion: """
                Runs until SIGTERM or SIGINT, which let the reconcile in flight finish, then exit 0. Each \
                reconcile is logged in the state file with its trigger (startup, event, manifest, resync, \
                backoff, retry). A service that keeps dying, or whose steps keep failing, is repaired with \
                growing delays (0.25 s, 0.5 s, 1 s, … up to 5 min) while the rest of the stack converges; \
                a container someone removed or stopped is repaired at once. Only one watch per stack runs at a time.
                """)

        @OptionGroup var stack: StackOptions
        @OptionGroup var common: CommonOptions
        @Option(help: "Seconds between full resyncs, whatever the events say.")
        var resync = 30
        @Option(help: "Serve /healthz and /metrics on HOST:PORT (e.g. 127.0.0.1:9464).")
        var listen: String?

        func validate() throws {
            guard resync > 0 else { throw ValidationError("--resync must be at least 1 second") }
            if let listen, Self.split(listen) == nil {
                throw ValidationError(
                    "--listen takes HOST:PORT with a port from 0 (any free one) to 65535, not '\(listen)': 127.0.0.1:9464 for this host only, 0.0.0.0:9464 for every interface"
                )
            }
        }

        /// `HOST:PORT`, `[IPv6]:PORT`; nil without a host or with a port out of range.
        static func split(_ address: String) -> (String, Int)? {
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port)
            else { return nil }
            var host = String(address[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return host.isEmpty ? nil : (host, port)
        }

        func run() async throws {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = .info
                return handler
            }
            let logger = Logger(label: "berth.watch")
            let loaded = try stack.load()
            let json = common.json
            do {
                try await withSession(common, stack: loaded.name, purpose: "watch", lockTimeout: .zero) { session in
                    try await watch(loaded, session, logger: logger, json: json)
                }
            } catch let error as LockError {
                throw fail("berth watch: \(error)")
            }
        }

        private func watch(_ loaded: LoadedStack, _ session: Session, logger: Logger, json: Bool) async throws {
            let metrics = Metrics()
            let loop = ControlLoop(
                watching: stack.source.source, options: stack.reconcileOptions, configuration: WatchConfiguration(resync: .seconds(resync)),
                engine: session.engine, store: session.store, metrics: metrics, logger: logger, onRound: Output.watchPrinter(json: json))
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: loop)]
            if let listen, let (host, port) = Self.split(listen) {
                services.append(
                    .init(
                        service: HealthService(server: HealthServer(host: host, port: port, metrics: metrics), address: listen, logger: logger),
                        successTerminationBehavior: .ignore))
            }
            logger.info(
                "watching \(loaded.name) (\(stack.source.source.description)) on \(session.engine.product) \(session.engine.engineVersion) (API \(session.engine.apiVersion)), resync every \(resync)s"
            )
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}

/// Runs the health server as a service of the group: stops when the group shuts down. It says
/// it serves once it is bound (with the port it got), and a failed bind ends `watch` with why.
struct HealthService: Service {
    let server: HealthServer
    let address: String
    let logger: Logger
    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await server.run { [logger] port in logger.info("serving /healthz and /metrics on \(server.host):\(port)") }
            }
        } catch is CancellationError {
            // Graceful shutdown: stopping is the expected way out.
        } catch {
            // NIO says `bind(descriptor:ptr:bytes:): Address already in use (errno: 98)`.
            var reason = "\(error)".components(separatedBy: "): ").last ?? "\(error)"
            if let errno = reason.range(of: " (errno:") {
                reason = String(reason[..<errno.lowerBound]).trimmingCharacters(in: CharacterSet(charactersIn: ")"))
            }
            throw CommandFailure("cannot listen on \(address): \(reason); choose another --listen address or port")
        }
    }
}

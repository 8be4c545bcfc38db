import ArgumentParser
import BerthController
import BerthEngine
import BerthModel
import Foundation

/// How `apply`, `down` and `rollback` show their steps while they run.
enum ProgressMode: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// `tty` on a terminal, else `plain`; nothing beside `--json`'s document.
    case auto
    /// A live line per running step with its elapsed time and latest pull or build output;
    /// finished steps scroll above them.
    case tty
    /// A line as each step starts (`…`) and as it ends (`✓`, `✗`, `-`).
    case plain
    /// One JSON object per event on stderr.
    case json
    case quiet
}

struct ProgressOptions: ParsableArguments {
    @Option(help: "How steps are shown as they run: auto, tty (live lines), plain, json (NDJSON on stderr), quiet.")
    var progress: ProgressMode = .auto

    /// The printer for this run. With `--json` the document owns stdout: progress goes to stderr.
    func printer(json: Bool) -> @Sendable (ExecutionEvent) -> Void {
        let fd = json ? STDERR_FILENO : STDOUT_FILENO
        let mode: ProgressMode =
            switch progress {
            case .auto where json: .quiet
            case .auto: isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb" ? .tty : .plain
            default: progress
            }
        switch mode {
        case .quiet, .auto: return { _ in }
        case .json: return ProgressEvents.printer
        case .plain: return PlainProgress(fd: fd, colour: Colour.enabled(for: fd)).print
        case .tty:
            let live = LiveProgress(fd: fd, colour: Colour.enabled(for: fd))
            return live.print
        }
    }
}

/// How a step's line reads, in every mode.
enum StepLine {
    static func title(_ step: PlanStep) -> String { "\(step.operation.kind) \(step.operation.target) (\(step.cause))" }

    static func finished(_ step: PlanStep, _ result: StepResult, colour: Bool) -> String {
        let (mark, paint): (String, Colour) =
            switch result.status {
            case .succeeded: ("✓", .green)
            case .skipped: ("-", .yellow)
            case .failed: ("✗", .red)
            }
        var line = "\(Colour.paint(mark, paint, colour)) \(title(step)) \(seconds(result.endedAt.timeIntervalSince(result.startedAt)))"
        if let error = result.error { line += "\n    \(error)" }
        return line
    }

    static func seconds(_ interval: TimeInterval) -> String { String(format: "%.2fs", interval) }
}

/// A line per step as it starts and as it ends, for pipes and logs.
struct PlainProgress: Sendable {
    let fd: Int32
    let colour: Bool
    /// Steps that can take seconds get a line when they start too; the rest only when they end.
    static let slow: Set<StepKind> = [.pullImage, .buildImage, .stop, .waitHealthy, .waitCompleted, .drain, .hook]

    func print(_ event: ExecutionEvent) {
        switch event {
        case .started(let step) where Self.slow.contains(step.operation.kind):
            Console.write("… \(StepLine.title(step))\n", to: fd)
        case .finished(let step, let result):
            Console.write(StepLine.finished(step, result, colour: colour) + "\n", to: fd)
        case .output(let step, let text):
            Console.write("    \(step.operation.target): \(text)\n", to: fd)
        case .hookRan(_, _, let hook, let result):
            Console.write("  hook \(hook) exited \(result.exitCode)\n", to: fd)
        case .started, .progress:
            break
        }
    }
}

/// Live lines at the bottom of a terminal: one per running step, redrawn every 200 ms with its
/// elapsed time and its latest output; finished steps print above them and stay.
final class LiveProgress: @unchecked Sendable {
    private let fd: Int32
    private let colour: Bool
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var running: [(id: Int, title: String, started: Date, latest: String?)] = []
    private var drawn = 0
    private var ticker: Task<Void, Never>?

    init(fd: Int32, colour: Bool) {
        self.fd = fd
        self.colour = colour
    }

    func print(_ event: ExecutionEvent) {
        lock.withLock {
            var above = ""
            switch event {
            case .started(let step):
                running.append((step.id, StepLine.title(step), Date(), nil))
                startTicking()
            case .finished(let step, let result):
                running.removeAll { $0.id == step.id }
                above = StepLine.finished(step, result, colour: colour) + "\n"
            case .output(let step, let text), .progress(let step, let text):
                if let index = running.firstIndex(where: { $0.id == step.id }) { running[index].latest = text }
            case .hookRan(_, _, let hook, let result):
                above = "  hook \(hook) exited \(result.exitCode)\n"
            }
            redraw(above: above)
            if running.isEmpty {
                ticker?.cancel()
                ticker = nil
            }
        }
    }

    /// Called with `lock` held.
    private func startTicking() {
        guard ticker == nil else { return }
        ticker = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
                guard let self, !Task.isCancelled else { return }
                self.lock.withLock { self.redraw(above: "") }
            }
        }
    }

    /// Erases the live lines, prints `above`, draws the live lines again. Called with `lock` held.
    private func redraw(above: String) {
        var text = drawn > 0 ? "\u{1B}[\(drawn)A\u{1B}[J" : ""
        text += above
        let now = Date()
        let spinner = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"][Int(now.timeIntervalSince1970 * 5) % 10]
        // A live line that wrapped would take two rows and break the erase: each fits the width.
        let width = max(20, (TerminalSize.current()?.columns ?? 80) - 1)
        for step in running {
            let elapsed = String(format: "%.1fs", now.timeIntervalSince(step.started))
            let line = "\(step.title) \(elapsed)" + (step.latest.map { "  " + $0 } ?? "")
            text += "\(Colour.paint(spinner, .cyan, colour)) \(String(line.prefix(width - 2)))\n"
        }
        drawn = running.count
        Console.write(text, to: fd)
    }
}

/// `--progress json`: one object per event on stderr, for a CI runner or a wrapper to follow.
enum ProgressEvents {
    /// A step's fields are named as in `apply --json`'s steps.
    struct Event: Encodable {
        var schemaVersion = jsonSchemaVersion
        let event: String
        let id: Int
        let action: String
        let target: String
        let reason: String
        var status: String?
        var seconds: Double?
        var error: String?
        var text: String?

        init(_ event: String, _ step: PlanStep) {
            (self.event, id, action, target, reason) = (event, step.id, step.operation.kind.rawValue, step.operation.target, "\(step.cause)")
        }
    }

    @Sendable static func printer(_ event: ExecutionEvent) {
        var line: Event
        switch event {
        case .started(let step):
            line = Event("started", step)
        case .finished(let step, let result):
            line = Event("finished", step)
            line.status =
                switch result.status {
                case .succeeded: "succeeded"
                case .skipped: "skipped"
                case .failed: "failed"
                }
            line.seconds = result.endedAt.timeIntervalSince(result.startedAt)
            line.error = result.error
        case .output(let step, let text):
            line = Event("output", step)
            line.text = text
        case .hookRan(let step, _, let hook, let result):
            line = Event("hook", step)
            line.text = "\(hook) exited \(result.exitCode)"
        case .progress:
            return  // many a second; the layer's state changes come as output
        }
        Console.error(jsonLine(line))
    }
}

import ArgumentParser
import AsyncHTTPClient
import Foundation

extension Berth {
    /// Asks a running `watch` whether it is live or ready, for a container's HEALTHCHECK and
    /// systemd's ExecStartPost: the image has no curl, and Berth is already there.
    struct Probe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "probe",
            abstract: "Ask a running watch's /healthz or /readyz; exit 0 when it answers 200.",
            discussion: "For HEALTHCHECK in deploy/Dockerfile and ExecStartPost in deploy/berth.service. Prints the answer's first line.")

        @Argument(help: "The URL to ask.")
        var url = "http://127.0.0.1:9464/readyz"

        @Option(help: "Keep asking for up to this many seconds until it answers 200.")
        var wait = 0

        @Flag(help: "Print one JSON document instead of human output.")
        var json = false

        func validate() throws {
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), URL(string: url)?.host != nil else {
                throw ValidationError("'\(url)' is not an http:// or https:// URL")
            }
            guard wait >= 0 else { throw ValidationError("--wait takes a number of seconds, 0 or more") }
        }

        func run() async throws {
            let deadline = ContinuousClock.now + .seconds(wait)
            var answer: (status: Int, text: String) = (0, "")
            repeat {
                do {
                    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(3))
                    let body = try await response.body.collect(upTo: 64 * 1024)
                    answer = (Int(response.status.code), String(buffer: body).split(separator: "\n").first.map(String.init) ?? "")
                } catch {
                    answer = (0, "no answer: \(error)")
                }
                if answer.status == 200 || ContinuousClock.now >= deadline { break }
                try await Task.sleep(for: .milliseconds(500))
            } while true
            struct Result: Encodable { let url: String; let status: Int; let answer: String; let ok: Bool }
            if json {
                try printJSON(Result(url: url, status: answer.status, answer: answer.text, ok: answer.status == 200))
            } else {
                print(answer.status == 0 ? answer.text : "\(answer.status) \(answer.text)")
            }
            if answer.status != 200 { throw ExitCode.failure }
        }
    }
}

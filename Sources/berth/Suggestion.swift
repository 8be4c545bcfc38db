import ArgumentParser

/// "Did you mean …?" for a mistyped name: the closest known name by edit distance, when it is
/// close enough to be a typo rather than another word.
enum Suggestion {
    static func closest(to word: String, in candidates: [String]) -> String? {
        let limit = max(1, word.count / 3)
        let scored = candidates.map { ($0, distance(word, $0)) }.filter { $0.1 <= limit }
        return scored.min { ($0.1, $0.0) < ($1.1, $1.0) }?.0
    }

    /// Edit distance counting a swap of two neighbours as one edit (optimal string alignment):
    /// `stauts` is one from `status`, two from `start`.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in stride(from: 1, through: a.count, by: 1) {
            for j in stride(from: 1, through: b.count, by: 1) {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}

/// Usage errors with a "did you mean": ArgumentParser names the unknown subcommand or option;
/// this adds the known one it is closest to.
enum UsageHint {
    /// The message for `error`, raised parsing `arguments` (without the program's name), with
    /// the hint; nil where ArgumentParser's own message says it all.
    static func message(for error: any Error, arguments: [String]) -> String? {
        let message = Berth.message(for: error)
        let subcommands = Berth.configuration.subcommands.map { $0._commandName }
        if let first = arguments.first, !first.hasPrefix("-"), first != "help", !subcommands.contains(first) {
            let hint = Suggestion.closest(to: first, in: subcommands).map { "did you mean 'berth \($0)'?" } ?? "`berth --help` lists them"
            return "'\(first)' is not a berth command; \(hint)"
        }
        guard !message.contains("Did you mean"), let unknown = quoted(after: "Unknown option ", in: message) else { return nil }
        let command = Berth.configuration.subcommands.first { arguments.first == $0._commandName }
        let help = command.map { Berth.helpMessage(for: $0) } ?? Berth.helpMessage()
        let options = Set(help.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "-" }).map(String.init).filter { $0.hasPrefix("--") })
        return Suggestion.closest(to: unknown, in: options.sorted()).map { "\(message); did you mean '\($0)'?" }
    }

    /// The text between the quotes that follow `prefix`.
    private static func quoted(after prefix: String, in message: String) -> String? {
        guard let start = message.range(of: prefix + "'") else { return nil }
        return message[start.upperBound...].split(separator: "'").first.map(String.init)
    }
}

import BerthModel
import Foundation
import Testing

/// Mutated manifests and Compose files through every loading stage (parse, validate, resolve):
/// no crash, no hang, and every rejection is a `ManifestError` with a message and a place.
///
/// CI runs 12,000 inputs from a fixed seed. A longer run: `BERTH_FUZZ_INPUTS=1000000
/// BERTH_FUZZ_SEED=7 swift test --filter LoaderFuzzTests` (see docs/operations.md).
@Suite struct LoaderFuzzTests {
    static let inputs = ProcessInfo.processInfo.environment["BERTH_FUZZ_INPUTS"].flatMap(Int.init) ?? 12_000
    static let seed = ProcessInfo.processInfo.environment["BERTH_FUZZ_SEED"].flatMap(UInt64.init) ?? 20_261_122

    /// SplitMix64: small, fast, and the same sequence on every machine.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Fragments YAML parsers and Berth's readers have to survive.
    static let tokens = [
        "{", "}", "[", "]", ": ", "- ", "-", "${", "${X", "${X:?boom}", "${X:-}", "$$", "$", "&a ", "*a", "*nope", "<<: *a", "!!binary ",
        "!!int ", "!custom ", "---", "...", "\"", "'", "#", "|", ">-", "? ", "~", "null", "-1", "0", "65536", "99999999999999999999999",
        "1e400", "0x1F", "0o17", ".inf", "\t", "\u{0}", "\u{FEFF}", "é", "🙂", "\\", "%YAML 1.1", "&", ",", "=", "127.0.0.1:80:80/udp",
        "1h2m3s", "-5s", "yes", "no", "on", "true", String(repeating: "a", count: 5_000), String(repeating: "[", count: 200),
    ]

    static func mutate(_ text: String, _ random: inout Generator) -> String {
        var lines = text.components(separatedBy: "\n")
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let index = Int.random(in: 0..<max(lines.count, 1), using: &random)
            if lines.isEmpty { lines = [""] }
            let token = tokens.randomElement(using: &random)!
            switch Int.random(in: 0..<9, using: &random) {
            case 0: lines.remove(at: index)
            case 1: lines.insert(lines[index], at: index)
            case 2: lines[index] = token
            case 3:
                let line = lines[index]
                let at = line.index(line.startIndex, offsetBy: Int.random(in: 0...line.count, using: &random))
                lines[index] = String(line[..<at]) + token + String(line[at...])
            case 4: lines[index] = String(repeating: " ", count: Int.random(in: 0...6, using: &random)) + lines[index].drop { $0 == " " }
            case 5: lines.swapAt(index, Int.random(in: 0..<lines.count, using: &random))
            case 6: lines = Array(lines.prefix(index))
            case 7:
                var scalars = Array(lines[index].unicodeScalars)
                if !scalars.isEmpty {
                    scalars[Int.random(in: 0..<scalars.count, using: &random)] = Unicode.Scalar(UInt8.random(in: 32...126, using: &random))
                }
                lines[index] = String(String.UnicodeScalarView(scalars))
            default: lines[index] = lines[index].replacingOccurrences(of: ": ", with: ": " + token)
            }
        }
        return lines.joined(separator: "\n")
    }

    static func seeds(_ example: String) throws -> [String: String] {
        let directory = Fixtures.repository.appendingPathComponent("manifests/\(example)")
        var files: [String: String] = [:]
        for entry in try FileManager.default.contentsOfDirectory(atPath: directory.path)
        where entry.hasSuffix(".yaml") || entry.hasSuffix(".yml") || entry.hasPrefix(".env") {
            files[directory.appendingPathComponent(entry).path] = try String(contentsOf: directory.appendingPathComponent(entry), encoding: .utf8)
        }
        return files
    }

    /// Every error must say what is wrong; parse and validation errors must also say where.
    static func check(_ errors: [ManifestError], input: Int, needsPlace: Bool = true) {
        for error in errors {
            #expect(!error.message.isEmpty, "input \(input)")
            if needsPlace {
                #expect(error.location != nil && error.location!.line >= 1, "input \(input): \(error)")
            }
        }
    }

    @Test(.timeLimit(.minutes(5))) func nativeManifests() throws {
        var random = Generator(state: Self.seed)
        let corpus = try Self.seeds("shop").merging(try Self.seeds("gateway")) { a, _ in a }.filter { $0.key.hasSuffix(".yaml") }
        let paths = corpus.keys.sorted()
        var rejected = 0
        for input in 0..<(Self.inputs / 2) {
            var files = Dictionary(uniqueKeysWithValues: paths.filter { $0.contains("/shop/") == (input % 2 == 0) }.map { ($0, corpus[$0]!) })
            let target = files.keys.sorted().randomElement(using: &random)!
            files[target] = Self.mutate(files[target]!, &random)
            let byName = Dictionary(uniqueKeysWithValues: files.map { (($0.key as NSString).lastPathComponent, $0.value) })
            let (stack, errors) = ManifestParser.parse(files: byName, directory: "/fuzz")
            Self.check(errors, input: input)
            var failed = !errors.isEmpty
            if !failed {
                let invalid = StackValidator.validate(stack)
                Self.check(invalid, input: input)
                failed = !invalid.isEmpty
            }
            if !failed {
                do {
                    _ = try Resolver.resolve(stack, ResolutionRequest(processEnvironment: ["EXTERNAL_DB_HOST": "db.example"]))
                } catch {
                    Self.check(error.errors, input: input, needsPlace: false)
                    failed = true
                }
            }
            if failed { rejected += 1 }
        }
        #expect(rejected > Self.inputs / 10, "the mutations should break most inputs")
        print("fuzz: \(Self.inputs / 2) native inputs, \(rejected) rejected with located errors, seed \(Self.seed)")
    }

    @Test(.timeLimit(.minutes(5))) func composeProjects() throws {
        var random = Generator(state: Self.seed ^ 0xC0FFEE)
        let corpus = try Self.seeds("compose-shop")
        let compose = corpus.keys.sorted().filter { $0.hasSuffix(".yml") }
        let directory = (compose[0] as NSString).deletingLastPathComponent
        var rejected = 0
        for input in 0..<(Self.inputs - Self.inputs / 2) {
            var files = corpus
            let target = corpus.keys.sorted().randomElement(using: &random)!
            files[target] = Self.mutate(files[target]!, &random)
            let options = ComposeOptions(files: input % 3 == 0 ? compose : [directory + "/docker-compose.yml"])
            do {
                _ = try ComposeLoader.load(options, environment: [:]) { files[$0] }
            } catch {
                // A missing `env_file` or an unreadable path is reported against the file that names it.
                Self.check(error.errors, input: input)
                rejected += 1
            }
        }
        #expect(rejected > Self.inputs / 10)
        print("fuzz: \(Self.inputs - Self.inputs / 2) compose inputs, \(rejected) rejected with located errors, seed \(Self.seed)")
    }
}

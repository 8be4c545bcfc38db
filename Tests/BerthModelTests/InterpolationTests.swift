import BerthModel
import Testing

@Suite struct InterpolationTests {
    let variables = ["SET": "value", "EMPTY": "", "PORT": "5432"]

    @Test(arguments: [
        ("plain text", "plain text"),
        ("$SET", "value"),
        ("${SET}", "value"),
        ("x${SET}y", "xvaluey"),
        ("${UNSET:-default}", "default"),
        ("${EMPTY:-default}", "default"),
        ("${EMPTY-default}", ""),
        ("${UNSET-default}", "default"),
        ("${SET:-default}", "value"),
        ("${SET:+replaced}", "replaced"),
        ("${EMPTY:+replaced}", ""),
        ("${EMPTY+replaced}", "replaced"),
        ("${UNSET+replaced}", ""),
        ("$$SET", "$SET"),
        ("cost: $$5", "cost: $5"),
        ("${UNSET:-${SET}}", "value"),
        ("${UNSET:-a-${PORT}-b}", "a-5432-b"),
        ("host:${PORT}", "host:5432"),
        ("trailing $", "trailing $"),
    ])
    func expands(_ input: String, _ expected: String) throws {
        #expect(try Interpolator(variables).interpolate(input).text == expected)
    }

    @Test(arguments: [
        ("${UNSET}", InterpolationFailure.undefined("UNSET")),
        ("$UNSET", InterpolationFailure.undefined("UNSET")),
        ("${UNSET:?set it please}", InterpolationFailure.required("UNSET", message: "set it please")),
        ("${EMPTY:?must not be empty}", InterpolationFailure.required("EMPTY", message: "must not be empty")),
        ("${UNSET?gone}", InterpolationFailure.required("UNSET", message: "gone")),
    ])
    func fails(_ input: String, _ expected: InterpolationFailure) {
        #expect(throws: expected) { try Interpolator(variables).interpolate(input) }
    }

    @Test func requiredEmptyWithoutColonPasses() throws {
        #expect(try Interpolator(variables).interpolate("${EMPTY?msg}").text == "")
    }

    @Test func unterminatedBraceIsASyntaxError() {
        #expect(throws: InterpolationFailure.self) { try Interpolator(variables).interpolate("${SET") }
    }

    @Test func secretnessPropagates() throws {
        let interpolator = Interpolator { name in
            name == "PASSWORD" ? InterpolatedValue("hunter2", isSecret: true) : InterpolatedValue("x")
        }
        #expect(try interpolator.interpolate("postgres://u:${PASSWORD}@db").isSecret)
        #expect(try !interpolator.interpolate("${OTHER}").isSecret)
    }

    @Test func envFilesParse() {
        let parsed = EnvFile.parse("# comment\nA=1\nexport B = two\nC=\"quoted # not a comment\"\nD=x # comment\n\nE=")
        #expect(parsed.map(\.key) == ["A", "B", "C", "D", "E"])
        #expect(parsed.map(\.value) == ["1", "two", "quoted # not a comment", "x", ""])
    }
}

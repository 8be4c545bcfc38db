import BerthModel
import Testing

/// Every problem a stack can have, as the user sees it: file, line, column, field, message.
func problems(_ files: [String: String], profiles: [String]? = nil, environment: String? = nil, process: [String: String] = [:]) -> [ManifestError] {
    let (stack, parseErrors) = ManifestParser.parse(files: files, directory: "/stacks/demo")
    let errors = parseErrors + StackValidator.validate(stack)
    if !errors.isEmpty { return errors }
    do {
        _ = try Resolver.resolve(stack, ResolutionRequest(profiles: profiles, environment: environment, processEnvironment: process))
        return []
    } catch {
        return error.errors
    }
}

/// The one error expected, with its position.
func single(_ files: [String: String], process: [String: String] = [:]) throws -> (String, Int, Int, String) {
    let found = problems(files, process: process)
    try #require(found.count == 1, "expected one error, got: \(found)")
    let error = found[0]
    return (error.location?.file ?? "", error.location?.line ?? 0, error.location?.column ?? 0, error.message)
}

@Suite struct ValidationTests {
    @Test func syntaxError() throws {
        let (file, line, column, message) = try single(["a.yaml": "kind: Service\nname: web\nimage: [unclosed\n"])
        #expect(file == "a.yaml")
        #expect(line == 4)
        #expect(column == 1)
        #expect(message.hasPrefix("YAML syntax error"))
    }

    @Test func unknownKeySuggestsTheNearestOne() throws {
        let (file, line, column, message) = try single(["s.yaml": "kind: Service\nname: web\nimage: app\nhealthchek:\n  test: [CMD, true]\n"])
        #expect((file, line, column) == ("s.yaml", 4, 1))
        #expect(message.contains("unknown key 'healthchek' (did you mean 'healthcheck'?)"))
    }

    @Test func wrongType() throws {
        let found = problems(["s.yaml": "kind: Service\nname: web\nimage: app\nports: \"8080:80\"\ninit: maybe\n"])
        #expect(found.count == 2)
        let ports = try #require(found.first { $0.field == "web.ports" })
        #expect(ports.location == SourceLocation(file: "s.yaml", line: 4, column: 8))
        #expect(ports.message == "expected a list, found '8080:80'")
        let initError = try #require(found.first { $0.field == "web.init" })
        #expect(initError.location?.line == 5)
        #expect(initError.message == "expected true or false, found 'maybe'")
    }

    @Test func missingRequiredField() throws {
        let (_, line, column, message) = try single(["s.yaml": "kind: Service\nname: web\n"])
        #expect((line, column) == (1, 1))
        #expect(message.contains("required field 'image' is missing"))
    }

    @Test func connectionToUnknownService() throws {
        let files = [
            "s.yaml": "kind: Service\nname: web\nimage: app\n",
            "c.yaml":
                "kind: Connection\nname: db\nconsumers: [web, wbe]\ntargets:\n  default: {service: databse, port: 5432}\nenv: {DB_HOST: \"${host}\"}\n",
        ]
        let found = problems(files)
        #expect(found.count == 2)
        let consumer = try #require(found.first { $0.field == "db.consumers[1]" })
        #expect(consumer.location == SourceLocation(file: "c.yaml", line: 3, column: 18))
        #expect(consumer.message == "unknown service 'wbe' (did you mean 'web'?)")
        let target = try #require(found.first { $0.field == "db.targets.default.service" })
        #expect(target.location?.line == 5)
        #expect(target.message.hasPrefix("unknown service 'databse'"))
    }

    @Test func serviceOnUndeclaredNetwork() throws {
        let (file, line, column, message) = try single(["s.yaml": "kind: Service\nname: web\nimage: app\nnetworks: [frontend]\n"])
        #expect((file, line, column) == ("s.yaml", 4, 12))
        #expect(message.contains("unknown network 'frontend'"))
    }

    @Test func undeclaredVolume() throws {
        let (_, line, _, message) = try single(["s.yaml": "kind: Service\nname: web\nimage: app\nvolumes:\n  - data:/var/lib/data\n"])
        #expect(line == 5)
        #expect(message.contains("unknown volume 'data'"))
    }

    @Test func duplicateNames() throws {
        let files = [
            "a.yaml": "kind: Service\nname: web\nimage: app\n",
            "b.yaml": "kind: Service\nname: web\nimage: other\n",
        ]
        let (file, line, column, message) = try single(files)
        #expect((file, line, column) == ("b.yaml", 1, 1))
        #expect(message == "duplicate Service 'web' (first defined at a.yaml:1:1)")
    }

    @Test func dependencyCycle() throws {
        let files = [
            "s.yaml": """
            kind: Service
            name: a
            image: app
            depends_on: [b]
            ---
            kind: Service
            name: b
            image: app
            depends_on: [a]
            """
        ]
        let (file, line, _, message) = try single(files)
        #expect(file == "s.yaml")
        #expect(line == 4)
        #expect(message == "dependency cycle: a → b → a")
    }

    @Test func cycleThroughAConnection() throws {
        let files = [
            "s.yaml": "kind: Service\nname: a\nimage: app\ndepends_on: [b]\n---\nkind: Service\nname: b\nimage: app\n",
            "c.yaml": "kind: Connection\nname: x\nconsumers: [b]\ntargets:\n  default: {service: a, port: 80}\nenv: {}\n",
        ]
        #expect(problems(files).map(\.message) == ["dependency cycle: a → b → a"])
    }

    @Test func variableDefinedNowhere() throws {
        let files = [
            "s.yaml": "kind: Service\nname: web\nimage: app\nenvironment:\n  NODE: ${NODE_NAME}\n",
            "e.yaml": "kind: Environment\nname: dev\nvariables: {OTHER: x}\n",
        ]
        let (file, line, column, message) = try single(files)
        #expect((file, line, column) == ("s.yaml", 5, 9))
        #expect(message.contains("variable 'NODE_NAME' is not defined"))
    }

    @Test func requiredVariableMessage() throws {
        let files = ["s.yaml": "kind: Service\nname: web\nimage: app\nenvironment:\n  HOST: ${DB_HOST:?set DB_HOST to the database host}\n"]
        let (_, line, _, message) = try single(files)
        #expect(line == 5)
        #expect(message == "DB_HOST: set DB_HOST to the database host")
    }

    @Test func portOutOfRange() throws {
        let (file, line, column, message) = try single(["s.yaml": "kind: Service\nname: web\nimage: app\nports:\n  - \"70000:80\"\n"])
        #expect((file, line, column) == ("s.yaml", 5, 5))
        #expect(message == "port 70000 is out of range 1...65535")
    }

    @Test func portOutOfRangeAfterInterpolation() throws {
        let files = ["s.yaml": "kind: Service\nname: web\nimage: app\nports:\n  - \"${PORT}:80\"\n"]
        let found = problems(files, process: ["PORT": "0"])
        #expect(found.map(\.message) == ["port 0 is out of range 1...65535"])
        #expect(found.first?.location?.line == 5)
    }

    @Test func unknownKind() throws {
        let (_, line, column, message) = try single(["s.yaml": "kind: Servce\nname: web\n"])
        #expect((line, column) == (1, 7))
        #expect(message.contains("unknown kind 'Servce' (did you mean 'Service'?)"))
    }

    @Test func allErrorsAreReportedAtOnce() {
        let files = [
            "a.yaml": "kind: Service\nname: web\nimage: app\nportz: []\nnetworks: [nope]\n",
            "b.yaml": "kind: Service\nname: api\nimage: app\ndepends_on: [ghost]\nrestart: sometimes\n",
        ]
        let found = problems(files)
        #expect(found.count == 4, "\(found)")
        #expect(Set(found.map(\.shortDescription)) == ["unknownKey", "unknownReference", "invalidValue"])
    }

    @Test func unknownProfileOnTheCommandLine() {
        let files = [
            "stack.yaml": "kind: Stack\nname: demo\nprofiles: [a, b]\n",
            "s.yaml": "kind: Service\nname: web\nimage: app\n",
        ]
        #expect(problems(files, profiles: ["c"]).map(\.message) == ["unknown profile 'c'; the stack declares: a, b"])
    }

    /// Files outside the stack directory are read only from directories the Stack lists.
    @Test func filesOutsideTheStackDirectoryNeedReadOutside() throws {
        let environment = "---\nkind: Environment\nname: prod\nenv_files: [../shared/prod.env, local.env]\nsecrets: {P: {file: /run/secrets/p}}\n"
        let refused = ManifestParser.parse(files: ["s.yaml": "kind: Stack\nname: s\n" + environment], directory: "/stacks/s").0
        #expect(StackValidator.validate(refused).map(\.field) == ["prod.env_files[0]", "prod.secrets.P"])
        let allowed = ManifestParser.parse(
            files: ["s.yaml": "kind: Stack\nname: s\nread_outside: [/run/secrets, ../shared]\n" + environment], directory: "/stacks/s"
        ).0
        #expect(StackValidator.validate(allowed).isEmpty)
        // `..` cannot climb out through an allowed directory's name.
        let sibling = ManifestParser.parse(
            files: [
                "s.yaml": "kind: Stack\nname: s\nread_outside: [../shared]\n"
                    + environment.replacingOccurrences(of: "../shared/prod.env", with: "../shared-other/x.env")
            ],
            directory: "/stacks/s"
        ).0
        #expect(StackValidator.validate(sibling).map(\.field).contains("prod.env_files[0]"))
    }
}

import BerthModel
import Testing

@Suite struct ResolutionTests {
    @Test func internalDatabaseProfile() throws {
        let state = try Fixtures.resolve("shop")
        #expect(state.profiles == ["internal-db"])
        #expect(state.environment == "dev")
        #expect(state.containers.map(\.service) == ["database", "frontend", "service-b", "service-d"])
        let b = try #require(state.container("service-b"))
        #expect(b.variable("DB_HOST")?.value == "database")
        #expect(b.variable("DB_PORT")?.value == "5432")
        #expect(b.variable("DB_NAME")?.value == "sf1_db")
        #expect(b.variable("DB_PASSWORD")?.isSecret == true)
        #expect(b.variable("TZ")?.value == "Asia/Seoul")
        #expect(b.image == "berth-demo/shop-app:1.0")
        #expect(b.dependsOn.map { "\($0.service):\($0.condition)" } == ["database:healthy"])
        #expect(b.ports.map(\.description) == ["127.0.0.1:18080:8080/tcp"])
        #expect(state.volumes.map(\.engineName) == ["shop_db-data"])
    }

    /// The same stack under `external-db`: no database container, consumers re-pointed, nothing else.
    @Test func externalDatabaseChangesExactlyWhatItShould() throws {
        let internalDB = try Fixtures.resolve("shop", profiles: ["internal-db"])
        let external = try Fixtures.resolve("shop", profiles: ["external-db"])
        #expect(external.containers.map(\.service) == ["frontend", "service-b", "service-d"])
        #expect(internalDB.container("frontend")?.specHash == external.container("frontend")?.specHash)
        #expect(external.volumes.isEmpty)
        for service in ["service-b", "service-d"] {
            let before = try #require(internalDB.container(service))
            let after = try #require(external.container(service))
            #expect(SpecHash.differences(from: before, to: after) == ["env DB_HOST"])
            #expect(after.variable("DB_HOST")?.value == "berth-external-db")
            #expect(after.variable("DB_PORT")?.value == "5432")
            #expect(after.dependsOn.map(\.service) == (service == "service-d" ? ["service-b"] : []))
            #expect(before.specHash != after.specHash)
        }
    }

    @Test func environmentsPinDifferentVersions() throws {
        let (stack, files) = try Fixtures.stack("shop")
        let prod = try Resolver.resolve(
            stack, ResolutionRequest(environment: "prod", processEnvironment: ["SHOP_PROD_DB_PASSWORD": "p"], files: files))
        #expect(prod.container("service-b")?.image == "berth-demo/shop-app:1.1")
        #expect(prod.container("service-b")?.ports.first?.published == 8080)
        let dev = try Fixtures.resolve("shop", environment: "dev")
        #expect(dev.container("service-b")?.image == "berth-demo/shop-app:1.0")
    }

    /// A variable whose name says it holds a secret is redacted even when its value came from
    /// plain text: any case, the marker anywhere in the name, and not a near miss.
    @Test(arguments: [
        ("DB_PASSWORD", true), ("password", true), ("x_Passwd_2", true), ("GITHUB_TOKEN", true), ("my_api_key", true),
        ("APIKEY", true), ("ssh_private_key", true), ("AWS_CREDENTIALS", true), ("SECRET", true), ("clientSecretValue", true),
        ("PASS", false), ("TOKE", false), ("API-KEY", false), ("", false), ("DB_HOST", false), ("KEYRING", false), ("ключ", false),
    ])
    func secretLookingNames(name: String, secret: Bool) {
        #expect(SecretNames.looksSecret(name) == secret)
    }

    @Test func secretsAreRedacted() throws {
        let state = try Fixtures.resolve("shop").redacted
        let password = try #require(state.container("database")?.variable("POSTGRES_PASSWORD"))
        #expect(password.value.hasPrefix("<secret sha256:"))
        #expect(!password.value.contains("s3cret"))
    }

    @Test func gatewayAddressComesFromTheObservedNetwork() throws {
        let observed = try Fixtures.resolve("gateway", facts: NetworkFacts(gateways: ["Module_vSwitch": "10.255.254.254"]))
        #expect(observed.container("piccolo")?.variable("DOCKER_GATEWAY")?.value == "10.255.254.254")
        #expect(observed.pendingFacts.isEmpty)
        // Before the network exists, the pinned subnet gives Docker's default gateway.
        let fresh = try Fixtures.resolve("gateway")
        #expect(fresh.container("piccolo")?.variable("DOCKER_GATEWAY")?.value == "10.255.254.1")
        #expect(fresh.networks.map(\.engineName) == ["Module_vSwitch"])
    }

    @Test func unpinnedNetworkFactIsPendingUntilObserved() throws {
        let files = [
            "s.yaml":
                "kind: Network\nname: app\n---\nkind: Service\nname: web\nimage: x\nnetworks: [app]\nenvironment: {GW: \"${network.app.gateway}\"}\n"
        ]
        let state = try Fixtures.inline(files)
        #expect(state.pendingFacts == ["network.app.gateway"])
    }
}

@Suite struct SpecHashTests {
    let base = """
        kind: Service
        name: web
        image: app
        command: [httpd, -f]
        environment: {A: "1", B: "2"}
        ports: ["8080:80"]
        volumes: ["data:/data"]
        ---
        kind: Volume
        name: data
        """

    func hash(_ text: String, process: [String: String] = [:]) throws -> String {
        try #require(Fixtures.inline(["s.yaml": text], process: process).container("web")).specHash
    }

    @Test func stableAcrossRunsKeyOrderAndDocumentOrder() throws {
        let reordered = """
            kind: Volume
            name: data
            ---
            ports: ["8080:80"]
            environment: {B: "2", A: "1"}
            volumes: ["data:/data"]
            command: [httpd, -f]
            name: web
            image: app
            kind: Service
            """
        #expect(try hash(base) == hash(base))
        #expect(try hash(base) == hash(reordered))
    }

    @Test(arguments: [
        ("env value", "A: \"1\"", "A: \"9\""),
        ("image version", "image: app", "image: app:2"),
        ("port", "\"8080:80\"", "\"8081:80\""),
        ("mount", "\"data:/data\"", "\"data:/var/data\""),
        ("command", "[httpd, -f]", "[httpd, -v]"),
    ])
    func changesWhenARecreateIsNeeded(_ what: String, _ from: String, _ to: String) throws {
        #expect(try hash(base) != hash(base.replacingOccurrences(of: from, with: to)), "\(what)")
    }

    /// Every stored field of `ContainerSpec` is either hashed or listed as not recreating, and
    /// the hash encodes exactly the listed recreating fields: a new field must take a side.
    @Test func everyFieldIsHashedOrDeliberatelyLeftOut() throws {
        let spec = try #require(Fixtures.inline(["s.yaml": base]).container("web"))
        let fields = Mirror(reflecting: spec).children.compactMap(\.label)
        let recreating = SpecHash.recreating.map(\.property)
        #expect(
            Set(fields) == Set(recreating).union(SpecHash.inPlace.keys),
            "unlisted: \(Set(fields).subtracting(recreating).subtracting(SpecHash.inPlace.keys))")
        #expect(Set(recreating).isDisjoint(with: SpecHash.inPlace.keys))
        #expect(Set(SpecHash.encodedProperties) == Set(recreating))
    }

    /// Hashes stamped by earlier versions stay valid: a change here recreates every container
    /// of every user on upgrade, and must come with an upgrade path.
    @Test func hashOfAKnownSpecNeverChanges() throws {
        let hash = try hash(base)
        #expect(hash == "f1b386386f4d102b51ea020515de0046")
    }

    @Test func ignoresWhatDoesNotNeedARecreate() throws {
        let withHook = base + "\n---\nkind: Service\nname: other\nimage: app\n"
        #expect(try hash(base) == hash(withHook))
        let withDependency =
            base.replacingOccurrences(of: "image: app\n", with: "image: app\ndepends_on: [other]\nhooks: [{name: init, command: [x]}]\n")
            + "\n---\nkind: Service\nname: other\nimage: app\n"
        #expect(try hash(base) == hash(withDependency))
    }
}

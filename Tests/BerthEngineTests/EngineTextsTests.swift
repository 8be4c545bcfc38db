import BerthEngine
import Testing

/// The Engine's English texts Berth reads, by table, with messages as the Engines here wrote them.
@Suite struct EngineTextsTests {
    @Test(arguments: [
        (
            "driver failed programming external connectivity on endpoint shop-web (1a2b): Bind for 0.0.0.0:8080 failed: port is already allocated",
            true
        ),
        ("cannot listen on the TCP port: listen tcp4 0.0.0.0:8080: bind: address already in use", true),
        (
            "OCI runtime create failed: container_linux.go:380: starting container process caused: exec: \"nope\": executable file not found in $PATH",
            false
        ),
        ("", false),
    ])
    func portTaken(_ message: String, _ taken: Bool) {
        #expect(EngineTexts.isPortTaken(message) == taken)
    }

    @Test(arguments: [
        ("error while removing network: network shop_default id 3f2a has active endpoints", true),
        ("rpc error: code = FailedPrecondition desc = network ya9je6866l707ajlfgu0rfeqf is in use by task 34kc5bywkzutj7y530fjr6r6p", true),
        ("network shop_default not found", false),
    ])
    func networkInUse(_ message: String, _ inUse: Bool) {
        #expect(EngineTexts.isNetworkInUse(message) == inUse)
    }

    @Test(arguments: [
        ("remove shop_data: volume is in use - [3f2a9c0d1e]", true),
        ("volume shop_data is being used by the following container(s): 3f2a9c0d1e: volume is being used", true),
        ("get shop_data: no such volume", false),
    ])
    func volumeInUse(_ message: String, _ inUse: Bool) {
        #expect(EngineTexts.isVolumeInUse(message) == inUse)
    }

    @Test(
        arguments: [
            (
                "Get \"https://registry.invalid/v2/\": dial tcp: lookup registry.invalid on 127.0.0.53:53: no such host",
                EngineTexts.PullFailure.unresolvable
            ),
            ("Get \"https://r.example/v2/\": dial tcp: lookup r.example: server misbehaving", .unresolvable),
            ("Get \"http://127.0.0.1:5999/v2/\": dial tcp 127.0.0.1:5999: connect: connection refused", .unreachable),
            ("Get \"https://10.0.0.1/v2/\": dial tcp 10.0.0.1:443: i/o timeout", .unreachable),
            ("manifest for 127.0.0.1:5000/berth/nope:1 not found: manifest unknown: manifest unknown", .notFound),
            (
                "pull access denied for nope, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
                .denied
            ),
            ("Head \"https://r.example/v2/app/manifests/1\": unauthorized: authentication required", .denied),
            ("denied: requested access to the resource is denied", .denied),
            ("write /var/lib/docker/tmp/GetImageBlob: no space left on device", .other),
        ] as [(String, EngineTexts.PullFailure)])
    func pullFailures(_ message: String, _ failure: EngineTexts.PullFailure) {
        #expect(EngineTexts.pullFailure(message) == failure)
    }

    @Test(
        arguments: [
            ("Up 3 minutes (healthy)", "healthy"),
            ("Up 2 seconds (health: starting)", "starting"),
            ("Up 40 seconds (unhealthy)", "unhealthy"),
            ("Up 3 minutes", nil),
            ("Exited (0) 5 seconds ago", nil),
        ] as [(String, String?)])
    func healthFromStatus(_ status: String, _ health: String?) {
        #expect(EngineTexts.health(fromStatus: status) == health)
    }
}

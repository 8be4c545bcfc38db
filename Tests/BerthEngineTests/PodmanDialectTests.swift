import BerthEngine
import Foundation
import Testing

/// Podman's answers, as measured on Podman 4.3's Docker-compatible API, in Docker's words.
@Suite struct PodmanDialectTests {
    @Test(arguments: [
        ("Docker/20.10.24+dfsg1 (linux)", EngineProduct.docker), ("Libpod/4.3.1 (linux)", .podman), ("Engine", .docker),
        ("Podman Engine", .podman),
    ])
    func productFromTheServerHeader(_ server: String, _ expected: EngineProduct) {
        #expect(EngineProduct(server: server) == expected)
    }

    @Test func eventFiltersUsePodmansActionNames() {
        let filters = PodmanDialect.eventFilters(["type": ["container"], "event": ["kill", "die", "destroy", "health_status", "disconnect"]])
        #expect(filters == ["type": ["container"], "event": ["kill", "died", "remove", "health_status", "disconnect"]])
    }

    static func event(_ json: String) throws -> EngineEvent {
        try JSONDecoder().decode(EngineEvent.self, from: Data(json.utf8))
    }

    /// Each row: an event as Podman sends it → the action and attributes Berth sees (nil: dropped).
    @Test(
        arguments: [
            (
                #"{"Type":"container","Action":"remove","Actor":{"ID":"c1","Attributes":{"name":"web","berth.stack":"s"}},"timeNano":1}"#,
                "destroy", ["name": "web", "berth.stack": "s"]
            ),
            (
                #"{"Type":"container","Action":"die","Actor":{"ID":"c1","Attributes":{"name":"web"}},"timeNano":1}"#,
                "die", ["name": "web"]
            ),
            (
                #"{"Type":"container","Action":"health_status","HealthStatus":"unhealthy","Actor":{"ID":"c1","Attributes":{"name":"web"}},"timeNano":1}"#,
                "health_status: unhealthy", ["name": "web"]
            ),
            (
                #"{"Type":"container","Action":"health_status","HealthStatus":"healthy","Actor":{"ID":"c1","Attributes":{"name":"web"}},"timeNano":1}"#,
                nil, [:]
            ),
            (
                #"{"Type":"network","Action":"disconnect","Actor":{"ID":"c1ffee","Attributes":{"name":"web","image":""}},"timeNano":1}"#,
                "disconnect", ["container": "c1ffee", "containerName": "web"]
            ),
            (
                #"{"Type":"network","Action":"disconnect","Actor":{"ID":"n1","Attributes":{"name":"s_default","container":"c1ffee"}},"timeNano":1}"#,
                "disconnect", ["name": "s_default", "container": "c1ffee"]
            ),
        ] as [(String, String?, [String: String])])
    func eventsInDockersWords(_ json: String, _ action: String?, _ attributes: [String: String]) throws {
        let normalized = PodmanDialect.normalized(try Self.event(json))
        #expect(normalized?.action == action)
        if action != nil { #expect(normalized?.actor.attributes == attributes) }
    }
}

import BerthController
import BerthEngine
import BerthModel
import BerthTesting
import Foundation
import Testing

/// Whether the image behind a tag changed is decided by what runs: the `ImageID` a container was
/// made from against the tag's image `Id`, both read from the same Engine; the digest recorded for
/// a rollback is the registry's, from `RepoDigests`. Under Docker's graph drivers an image's id is
/// its config's digest and the registry digest differs from it; under the containerd image store
/// the id is the digest of the image index (or manifest), the registry digest is the same, and a
/// container also names its platform's manifest. Both shapes, each checked against the published
/// spec of a version that has them, must lead to the same decisions.
@Suite struct ImageIdentityTests {
    struct Store: CustomTestStringConvertible, Sendable {
        let name: String
        let version: String
        /// The image's `Id` and its registry digest, before and after the tag moved.
        let id: String, digest: String
        let movedID: String, movedDigest: String
        /// The containerd store's platform manifest of a container (`ImageManifestDescriptor`).
        let platformManifest: String?
        var testDescription: String { name }
    }

    static let stores = [
        Store(
            name: "graph drivers (API 1.41)", version: "1.41", id: hash("a"), digest: hash("1"), movedID: hash("b"), movedDigest: hash("2"),
            platformManifest: nil),
        Store(
            name: "containerd image store (API 1.55)", version: "1.55", id: hash("1"), digest: hash("1"), movedID: hash("2"),
            movedDigest: hash("2"), platformManifest: hash("3")),
    ]

    static func hash(_ character: Character) -> String { "sha256:" + String(repeating: character, count: 64) }
    static let reference = "127.0.0.1:5000/shop/web:1"

    static let desired: DesiredState = {
        let files = ["s.yaml": "kind: Stack\nname: shop\n---\nkind: Service\nname: web\nimage: \(reference)\n"]
        let (stack, errors) = ManifestParser.parse(files: files, directory: "/stacks/shop")
        precondition(errors.isEmpty, "\(errors)")
        return try! BerthModel.Resolver.resolve(stack, ResolutionRequest())
    }()

    /// The spec's example answers of `store.version`, made to say what this host has; each is
    /// checked against that version's schema before Berth decodes it.
    static func answers(_ store: Store, imageID: String, digest: String) throws -> (ContainerSummary, ImageDetails) {
        let url = BerthBinary.repository.appendingPathComponent("Tests/BerthEngineTests/Fixtures/engine-api/v\(store.version).json")
        let spec = try JSONSchema(contentsOf: url)
        let examples = (try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])?["examples"] as? [String: Any] ?? [:]
        let web = try #require(desired.containers.first)

        var image = examples["imageInspect"] as? [String: Any] ?? [:]
        image["Id"] = imageID
        image["RepoTags"] = [reference]
        image["RepoDigests"] = ["127.0.0.1:5000/shop/web@" + digest]
        image["Config"] = ["Labels": NSNull()]
        if store.platformManifest != nil {
            image["Descriptor"] = ["mediaType": "application/vnd.oci.image.index.v1+json", "digest": imageID, "size": 856]
        }
        var row = (examples["containerList"] as? [Any])?.first as? [String: Any] ?? [:]
        row["Id"] = String(repeating: "c", count: 64)
        row["Names"] = ["/" + web.name]
        row["Image"] = reference
        row["ImageID"] = store.id
        row["Labels"] = ["berth.stack": "shop", "berth.service": "web", "berth.spec-hash": web.specHash, "berth.depends-on": ""]
        row["State"] = "running"
        row["Status"] = "Up 2 hours"
        row["HostConfig"] = ["NetworkMode": "shop_default"]
        row["NetworkSettings"] = ["Networks": ["shop_default": ["NetworkID": "net-shop", "IPAddress": "172.18.0.2"]]]
        if let manifest = store.platformManifest {
            row["ImageManifestDescriptor"] = ["mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest, "size": 424]
        }
        for (value, name) in [(image as Any, "imageInspect"), ([row], "containerList")] {
            let violations = spec.violations(of: value, definition: "response:" + name)
            #expect(violations.isEmpty, "v\(store.version) \(name): \(violations)")
        }
        let decode = { (value: Any) in try JSONSerialization.data(withJSONObject: value) }
        return (try JSONDecoder().decode(ContainerSummary.self, from: decode(row)), try JSONDecoder().decode(ImageDetails.self, from: decode(image)))
    }

    static func plan(_ container: ContainerSummary, _ image: ImageDetails) -> Plan {
        let network = ObservedNetwork(
            id: "net-shop", name: "shop_default", labels: ["berth.stack": "shop"], driver: "bridge", internal: false, subnet: "172.18.0.0/16",
            gateway: "172.18.0.1")
        let observed = ObservedState(
            containers: [ObservedContainer(container)], networks: [network], volumes: [], images: [reference: ObservedImage(image)])
        return Planner.plan(desired: desired, observed: observed)
    }

    @Test(arguments: stores) func decisionsFollowWhatRunsInBothStores(store: Store) throws {
        // The tag still names the image the container was made from: nothing to do.
        let (container, image) = try Self.answers(store, imageID: store.id, digest: store.digest)
        #expect(container.imageID == image.id)
        let same = Self.plan(container, image)
        #expect(same.isConverged, "\(store.name): \(same.description)")
        // The digest kept for a rollback is the registry's: what `repo@digest` pulls again.
        #expect(ObservedImage(image).digest(for: Self.reference) == store.digest)

        // The tag moved (a pull, a build): the container is made again from the new image.
        let (_, moved) = try Self.answers(store, imageID: store.movedID, digest: store.movedDigest)
        let recreate = Self.plan(container, moved)
        #expect(!recreate.isConverged)
        #expect(
            recreate.description.contains("image changed: \(store.id.prefix(19)) → \(store.movedID.prefix(19))"),
            "\(store.name): \(recreate.description)")
        #expect(ObservedImage(moved).digest(for: Self.reference) == store.movedDigest)
    }
}

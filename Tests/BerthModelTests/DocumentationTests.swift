import BerthModel
import Foundation
import Testing

/// The examples in docs/manifests.md must parse: no unknown key, no wrong type.
@Suite struct DocumentationTests {
    @Test func everyExampleInTheManifestGuideParses() throws {
        let guide = try String(contentsOf: Fixtures.repository.appendingPathComponent("docs/manifests.md"), encoding: .utf8)
        let blocks = guide.components(separatedBy: "```yaml\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(blocks.count == 6)
        for block in blocks {
            let (_, errors) = ManifestParser.parse(files: ["guide.yaml": block], directory: "/stacks/shop")
            #expect(errors.isEmpty, "\(errors)\n\(block)")
        }
    }
}

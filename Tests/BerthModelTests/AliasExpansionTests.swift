import BerthModel
import Testing

/// A "billion laughs": nine anchors of ten references each. Refused at once, at the anchor, in
/// both dialects, without walking the 10⁹ values.
@Suite struct AliasExpansionTests {
    static func bomb(indent: String) -> String {
        var lines = ["\(indent)labels: &a0 {x: lol}", "\(indent)environment:"]
        for level in 1...9 {
            let references = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
            lines.append("\(indent)  a\(level): &a\(level) [\(references)]")
        }
        return lines.joined(separator: "\n")
    }

    @Test func nativeManifest() {
        let text = "kind: Stack\nname: p\n---\nkind: Service\nname: web\nimage: app\n" + Self.bomb(indent: "")
        let (_, errors) = ManifestParser.parse(files: ["s.yaml": text], directory: "/stacks/p")
        #expect(errors.map(\.description).count == 1)
        #expect(
            errors.first?.description.hasPrefix("s.yaml:7:9: this document expands to more than 200000 values through YAML aliases") == true,
            "\(errors)")
    }

    @Test func composeFile() {
        let text = "services:\n  web:\n    image: app\n" + Self.bomb(indent: "    ")
        let message = ComposeTests.loadError(["compose.yaml": text])
        #expect(message.contains("compose.yaml:4:21: this document expands to more than 200000 values through YAML aliases"), "\(message)")
    }
}

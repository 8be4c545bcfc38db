import Foundation

/// Base64 as age writes it in headers: the standard alphabet without padding, canonical only
/// (a different encoding of the same bytes is refused, so a header has exactly one form).
enum RawBase64 {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        guard !text.contains("="), !text.contains("\n"), !text.contains("\r") else { return nil }
        let padded = String(text) + String(repeating: "=", count: (4 - text.count % 4) % 4)
        guard let data = Data(base64Encoded: padded) else { return nil }
        let bytes = [UInt8](data)
        return encode(bytes) == text ? bytes : nil
    }
}

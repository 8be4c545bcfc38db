import BerthModel
import BerthSecrets
import Foundation

/// Reads a stack's encrypted secret files and the age identities that open them. The identity
/// file's path comes only from Berth's own environment (`BERTH_AGE_IDENTITY`, which
/// `--age-identity` sets), never from a manifest: a repository holds ciphertext, a host holds keys.
enum EncryptedSecrets {
    static let identityVariable = "BERTH_AGE_IDENTITY"

    static func read(_ manifest: StackManifest, environment: [String: String]) -> SealedFiles {
        let paths = Resolver.sealedFiles(manifest)
        guard !paths.isEmpty else { return SealedFiles() }
        var sealed = SealedFiles()
        for path in paths {
            if let bytes = try? TextFile.bytes(path) { sealed.contents[path] = bytes }
        }
        guard let identityPath = environment[identityVariable], !identityPath.isEmpty else { return sealed }
        do {
            sealed.identities = try AgeIdentity.parseFile(try TextFile.read(identityPath))
        } catch let error as TextFile.Unreadable {
            sealed.identityProblem = "cannot read the age identity file '\(identityPath)' (from --age-identity or \(identityVariable)): \(error)"
        } catch {
            sealed.identityProblem = "the age identity file '\(identityPath)' is not usable: \(error)"
        }
        return sealed
    }
}

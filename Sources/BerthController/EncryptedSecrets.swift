import BerthModel
public import BerthSecrets
import Foundation

/// Reads a stack's encrypted secret files and the age identities that open them. The identity
/// file's path comes only from Berth's own environment (`BERTH_AGE_IDENTITY`, which
/// `--age-identity` sets), never from a manifest: a repository holds ciphertext, a host holds keys.
public enum EncryptedSecrets {
    public static let identityVariable = "BERTH_AGE_IDENTITY"

    /// Why an identity file cannot be used, in words that name the file but never its content.
    public struct IdentityProblem: Error, CustomStringConvertible {
        public let description: String
    }

    /// The identities in the file at `path` (read with the limits of every file Berth reads).
    public static func identities(at path: String) throws(IdentityProblem) -> [AgeIdentity] {
        do {
            return try AgeIdentity.parseFile(try TextFile.read(path))
        } catch let error as TextFile.Unreadable {
            throw IdentityProblem(description: "cannot read the age identity file '\(path)' (from --age-identity or \(identityVariable)): \(error)")
        } catch {
            throw IdentityProblem(description: "the age identity file '\(path)' is not usable: \(error)")
        }
    }

    static func read(_ manifest: StackManifest, environment: [String: String]) -> SealedFiles {
        let paths = Resolver.sealedFiles(manifest)
        guard !paths.isEmpty else { return SealedFiles() }
        var sealed = SealedFiles()
        for path in paths {
            if let bytes = try? TextFile.bytes(path) { sealed.contents[path] = bytes }
        }
        guard let identityPath = environment[identityVariable], !identityPath.isEmpty else { return sealed }
        do {
            sealed.identities = try identities(at: identityPath)
        } catch {
            sealed.identityProblem = error.description
        }
        return sealed
    }
}

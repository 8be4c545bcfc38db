import Foundation
import NIOSSL

extension EngineEndpoint.TLSFiles {
    /// The client side of `DOCKER_TLS_VERIFY`: trust only the given CA, verify the Engine's
    /// certificate and host name, and present the client certificate.
    ///
    /// Errors name the file's role and its base name only: `DOCKER_CERT_PATH` and the key's
    /// contents stay out of messages, and so out of logs.
    func clientConfiguration() throws -> TLSConfiguration {
        func load<Value>(_ role: String, _ path: String, _ read: (String) throws -> Value) throws -> Value {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw EngineError.transport(
                    "DOCKER_TLS_VERIFY is set but the \(role) (\((path as NSString).lastPathComponent) in DOCKER_CERT_PATH) cannot be read")
            }
            do {
                return try read(path)
            } catch {
                throw EngineError.transport(
                    "the \(role) (\((path as NSString).lastPathComponent) in DOCKER_CERT_PATH) is not valid PEM")
            }
        }
        var config = TLSConfiguration.makeClientConfiguration()
        config.minimumTLSVersion = .tlsv12
        config.certificateVerification = .fullVerification
        config.trustRoots = .certificates(try load("CA certificate", caCertificate) { try NIOSSLCertificate.fromPEMFile($0) })
        config.certificateChain = try load("client certificate", certificate) { try NIOSSLCertificate.fromPEMFile($0) }
            .map { .certificate($0) }
        config.privateKey = .privateKey(try load("client key", privateKey) { try NIOSSLPrivateKey(file: $0, format: .pem) })
        return config
    }
}

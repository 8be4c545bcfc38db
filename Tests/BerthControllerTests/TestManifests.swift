import BerthTesting

/// A small stack for converge tests: a "database" with a named volume and a healthcheck, a web
/// service that connects to it, both on the base image (nothing to build or pull).
enum TestManifests {
    static let stack = """
        kind: Stack
        name: {{stack}}
        default_environment: test
        ---
        kind: Volume
        name: data
        """

    static let services = """
        kind: Service
        name: db
        image: \(TestStack.baseImage)
        init: true
        command: ["sh", "-c", "mkdir -p /data/www && [ -f /data/www/index.html ] || echo fresh > /data/www/index.html; exec httpd -f -p 5432 -h /data/www"]
        volumes: ["data:/data"]
        environment: {DB_PASSWORD: "${DB_PASSWORD}"}
        healthcheck: {test: ["CMD", "timeout", "1", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:5432/"], interval: 300ms, retries: 20}
        ---
        kind: Service
        name: web
        image: \(TestStack.baseImage)
        init: true
        command: ["httpd", "-f", "-p", "80", "-h", "/www"]
        environment: {MODE: "${MODE}"}
        """

    static let connection = """
        kind: Connection
        name: database
        consumers: [web]
        targets:
          default: {service: db, port: 5432}
        env:
          DB_HOST: ${host}
          DB_PORT: ${port}
          DB_PASSWORD: ${DB_PASSWORD}
        """

    static let environment = """
        kind: Environment
        name: test
        variables: {MODE: one}
        secrets: {DB_PASSWORD: {file: secret.txt}}
        """

    static let secret = "pa55-\(UInt32.random(in: 100_000...999_999))-word"

    static func write(_ stack: TestStack) throws {
        try stack.write("stack.yaml", Self.stack)
        try stack.write("services.yaml", services)
        try stack.write("connections.yaml", connection)
        try stack.write("environments.yaml", environment)
        try stack.write("secret.txt", secret + "\n")
    }
}

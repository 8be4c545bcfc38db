// swift-tools-version:6.0
import PackageDescription

/// Module dependencies point toward `BerthModel`, the pure core:
/// `berth` → `BerthController` → (`BerthEngine`, `BerthStore`) → `BerthModel` → `BerthSecrets`
/// (the age and SOPS formats, pure like the model).
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
]

/// The `berth` users run starts faster and maps less memory linked statically: no shared Swift
/// and Foundation libraries to load and relocate (a no-op apply ~0.8× the time), no exported
/// symbol table, and (lld's packed relocations) ~27 KB of relocations where there were 3 MB.
/// The objects are the ones the dynamic build compiles, so Foundation's static archives are named
/// here: `-static-stdlib` alone names only what the shared Foundation pulls in by itself.
///
/// The code it runs is laid out together: `Sources/berth/Link/hot-functions.order` (written by
/// scripts/hot-functions) puts the functions start-up, a reconcile and a watch call at the front of
/// `.text`, so they sit on ~7 MB of pages instead of faulting in 64 KiB windows all over the 32 MB
/// (an idle watch: 35 → 23 MiB resident). Functions are movable one by one only when compiled into
/// sections of their own: `scripts/build` passes `-function-sections` to every module.
let link = "\(Context.packageDirectory)/Sources/berth/Link"
let staticRelease: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-static-stdlib", "-use-ld=lld",
            "-lFoundation", "-lCoreFoundation", "-lFoundationInternationalization", "-l_FoundationICU",
            "-lFoundationEssentials", "-l_FoundationCollections", "-l_FoundationCShims", "-lswiftSynchronization", "-lstdc++",
            "-Xlinker", "--no-export-dynamic", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
            "-Xlinker", "--symbol-ordering-file=\(link)/hot-functions.order", "-Xlinker", "--no-warn-symbol-ordering",
            "-Xlinker", "--script=\(link)/private-functions.ld",
        ], .when(platforms: [.linux], configuration: .release))
]

let package = Package(
    name: "Berth",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "berth", targets: ["berth"]),
        .library(name: "BerthModel", targets: ["BerthModel"]),
        .library(name: "BerthSecrets", targets: ["BerthSecrets"]),
        .library(name: "BerthEngine", targets: ["BerthEngine"]),
        .library(name: "BerthStore", targets: ["BerthStore"]),
        .library(name: "BerthController", targets: ["BerthController"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    ],
    targets: [
        .target(
            name: "BerthSecrets",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "BerthModel",
            dependencies: [
                "BerthSecrets",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "BerthEngine",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "BerthStore",
            dependencies: [
                "BerthModel",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "BerthController",
            dependencies: [
                "BerthModel", "BerthEngine", "BerthStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "berth",
            dependencies: [
                "BerthController", "BerthModel", "BerthEngine", "BerthStore", "BerthSecrets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Link"],
            swiftSettings: strict,
            linkerSettings: staticRelease
        ),
        .executableTarget(
            name: "berth-bench",
            dependencies: [
                "BerthEngine", "BerthStore", "BerthTesting", .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "BerthTesting",
            dependencies: [
                "BerthModel", "BerthEngine", "BerthController", "BerthStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "BerthModelTests", dependencies: ["BerthModel", "BerthSecrets"], swiftSettings: strict),
        .testTarget(name: "BerthSecretsTests", dependencies: ["BerthSecrets"], swiftSettings: strict),
        .testTarget(
            name: "BerthEngineTests", dependencies: ["BerthEngine", "BerthTesting"], exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(
            name: "BerthStoreTests", dependencies: ["BerthStore", "BerthModel", .product(name: "GRDB", package: "GRDB.swift")], swiftSettings: strict),
        .testTarget(
            name: "BerthControllerTests",
            dependencies: [
                "BerthController", "BerthTesting", "BerthModel", "BerthEngine", "BerthStore",
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BerthCLITests", dependencies: ["BerthTesting", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)

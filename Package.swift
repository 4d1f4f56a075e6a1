// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Threadlog",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "threadlog", targets: ["threadlog"]),
        .library(name: "EventLog", targets: ["EventLog"]),
        .library(name: "Messaging", targets: ["Messaging"]),
        .library(name: "Engine", targets: ["Engine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // The LMDB C library, found through pkg-config; nothing but a module map and a shim header.
        .systemLibrary(
            name: "CLMDB",
            path: "Sources/CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // Bytes and positions: the append-only log on LMDB. The only importer of CLMDB.
        .target(
            name: "EventLog",
            dependencies: [
                "CLMDB",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The same log on PostgreSQL, for several nodes on one database. The only importer of PostgresNIO
        // besides threadlog-bench, whose raw PostgreSQL baseline drives it directly.
        .target(
            name: "PostgresEventLog",
            dependencies: [
                "EventLog",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The pure domain: commands, events, states, deciders. Foundation only.
        .target(name: "Messaging"),
        // The glue: command handling (load, fold, decide, append) over the log and the domain.
        .target(
            name: "Engine",
            dependencies: [
                "EventLog", "Messaging", "Projections", "SMTP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Pure read-model definitions: what each view keeps and how an event changes it.
        .target(name: "Projections", dependencies: ["Messaging"]),
        // A small SMTP client over SwiftNIO, with STARTTLS and implicit TLS through NIOSSL; and the
        // receiving side: a minimal SMTP listener and the reading of received messages.
        .target(
            name: "SMTP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Consumer groups and webhooks: checkpoints and delivery state beside the views, delivery by HTTP.
        .target(
            name: "Subscriptions",
            dependencies: [
                "Engine", "EventLog", "Messaging",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Routes, DTOs, auth and error mapping; the only importer of Hummingbird.
        .target(
            name: "HTTPAPI",
            dependencies: [
                "Engine", "Messaging", "Projections", "Subscriptions",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The web console: server-rendered pages over the same engine and queries as the API.
        .target(
            name: "WebConsole",
            dependencies: [
                "Engine", "HTTPAPI", "Messaging",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The client of a running service's event feed, for `threadlog tail --url`.
        .target(
            name: "EventFeed",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tools/EventFeed"
        ),
        .executableTarget(
            name: "threadlog",
            dependencies: [
                "EventLog", "PostgresEventLog", "Messaging", "Projections", "Engine", "HTTPAPI", "WebConsole", "Subscriptions",
                "SMTP", "EventFeed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/threadlog"
        ),
        // A child process for the crash tests: appends in a loop and reports each acknowledged append.
        .executableTarget(
            name: "threadlog-probe",
            dependencies: ["EventLog", "Engine"],
            path: "Tests/Probe"
        ),
        // Temporary directories and child processes for the tests.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // What every event-log backend must do: checks any backend's tests run against fresh stores
        // of their own making.
        .target(name: "EventStoreConformance", dependencies: ["EventLog"], path: "Tests/EventStoreConformance"),
        // Besides the modules they import, test targets name the executables they run as child
        // processes (`threadlog`, `threadlog-probe`), so those are built before the tests run.
        .testTarget(
            name: "EventLogTests",
            dependencies: ["EventLog", "EventStoreConformance", "PostgresEventLog", "TestSupport", "threadlog-probe", "threadlog"]
        ),
        .testTarget(
            name: "EngineTests",
            dependencies: ["Engine", "EventLog", "Messaging", "TestSupport"]
        ),
        .testTarget(
            name: "ProjectionsTests",
            dependencies: ["Projections", "Engine", "EventLog", "Messaging", "TestSupport", "threadlog-probe", "threadlog",
                .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "SMTPTests",
            dependencies: ["SMTP", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "NotificationTests",
            dependencies: [
                "Engine", "EventLog", "Messaging", "SMTP", "TestSupport", "threadlog",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        .testTarget(
            name: "HTTPAPITests",
            dependencies: [
                "HTTPAPI", "Engine", "EventFeed", "EventLog", "Messaging", "PostgresEventLog", "Subscriptions", "TestSupport",
                "threadlog",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "WebConsoleTests",
            dependencies: [
                "WebConsole", "HTTPAPI", "Engine", "EventLog", "SMTP", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "MessagingTests",
            dependencies: [
                "Messaging",
                "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        // The baseline of the benchmarks: the same writes through plain LMDB C calls.
        .target(
            name: "RawLMDB",
            path: "Benchmarks/RawLMDB",
            linkerSettings: [.linkedLibrary("lmdb")]
        ),
        .executableTarget(
            name: "threadlog-bench",
            dependencies: [
                "EventLog", "PostgresEventLog", "RawLMDB", "Engine", "HTTPAPI", "Messaging", "Projections",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/threadlog-bench"
        ),
    ]
)

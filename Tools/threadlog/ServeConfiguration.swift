import ArgumentParser
import Engine
import Foundation
import Logging

/// Every setting of `threadlog serve`, read once from its flags and the environment before anything is
/// opened (a bad value is refused first) and passed down; below the tool nothing reads the environment.
/// The README's configuration table lists them with their defaults.
struct ServeConfiguration: Sendable {
    /// `LOG_LEVEL` (default info).
    var logLevel: Logger.Level
    /// `--host`, `THREADLOG_HOST` (default 127.0.0.1).
    var host: String
    /// `--port`, `THREADLOG_PORT` (default 8080; 0 for any free one).
    var port: Int
    /// `THREADLOG_MAX_BODY` (bytes, default 1 MiB).
    var maxBody: Int
    /// `THREADLOG_MAX_BLOB` (bytes, default 10 MiB).
    var maxBlob: Int
    /// `THREADLOG_HEADER_TIMEOUT_MS` (default 10000).
    var headerTimeout: Duration
    /// `THREADLOG_IDLE_TIMEOUT_MS` (default 60000).
    var idleTimeout: Duration
    /// `THREADLOG_PROJECTION_INTERVAL_MS` (default 500; `nil` when unset).
    var projectionInterval: Duration?
    /// `THREADLOG_COMMIT_GATHER_US` (default 1000; `nil` when unset).
    var gatherDelay: Duration?
    /// `THREADLOG_ADMIN_TOKEN`, when set and not empty.
    var adminToken: String?
    /// `THREADLOG_CONSOLE` (on, the default, or off).
    var console: Bool
    /// `THREADLOG_PUBLIC_URL` is HTTPS: the console's cookies are `Secure`.
    var secureCookies: Bool
    /// `THREADLOG_WEBHOOK_BACKOFF_MS` (default 1000).
    var webhookBackoff: Duration
    /// `THREADLOG_SMTP_URL` is set (mail goes out, given `THREADLOG_MAIL_FROM` too).
    var smtpURLSet: Bool
    /// `THREADLOG_INBOUND_SMTP` and its companions; `nil` when unset (no listener).
    var inbound: Inbound?
    /// `THREADLOG_REPLY_REQUIRE_FROM` (on, or off, the default).
    var requireMatchingFrom: Bool
    /// The environment the mail settings are read from once the data directory (the reply-address key)
    /// is known: `mail(dataRoot:)`.
    private var environment: [String: String]

    struct Inbound: Sendable {
        var host: String
        var port: Int
        /// `THREADLOG_INBOUND_HOSTNAME` (default threadlog).
        var hostname: String
        /// `THREADLOG_INBOUND_MAX_BYTES` (default 10 MiB).
        var maxBytes: Int
        /// `THREADLOG_INBOUND_TIMEOUT_MS` (default 300000).
        var timeout: Duration
    }

    init(environment: [String: String], host: String?, port: Int?) throws {
        self.environment = environment
        logLevel = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        self.host = host ?? environment["THREADLOG_HOST"] ?? "127.0.0.1"
        guard let port = port ?? (environment["THREADLOG_PORT"].map { Int($0) } ?? 8080), (0...65535).contains(port)
        else { throw ValidationError("the port must be a number from 0 to 65535") }
        self.port = port
        maxBody = try Serve.byteLimit(environment["THREADLOG_MAX_BODY"], default: 1 << 20, name: "THREADLOG_MAX_BODY")
        maxBlob = try Serve.byteLimit(environment["THREADLOG_MAX_BLOB"], default: 10 << 20, name: "THREADLOG_MAX_BLOB")
        headerTimeout = try Serve.milliseconds(
            environment["THREADLOG_HEADER_TIMEOUT_MS"], default: 10_000, name: "THREADLOG_HEADER_TIMEOUT_MS")
        idleTimeout = try Serve.milliseconds(
            environment["THREADLOG_IDLE_TIMEOUT_MS"], default: 60_000, name: "THREADLOG_IDLE_TIMEOUT_MS")
        projectionInterval = try projectionIntervalSetting(environment)
        if let text = environment["THREADLOG_COMMIT_GATHER_US"], !text.isEmpty {
            guard let microseconds = Int(text), (0...100_000).contains(microseconds) else {
                throw ToolFailure("THREADLOG_COMMIT_GATHER_US must be a number of microseconds from 0 to 100000")
            }
            gatherDelay = .microseconds(microseconds)
        }
        adminToken = environment["THREADLOG_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        switch environment["THREADLOG_CONSOLE"] ?? "on" {
        case "on", "": console = true
        case "off": console = false
        default: throw ToolFailure("THREADLOG_CONSOLE must be on or off")
        }
        secureCookies = environment["THREADLOG_PUBLIC_URL"]?.lowercased().hasPrefix("https://") ?? false
        webhookBackoff = try Serve.milliseconds(
            environment["THREADLOG_WEBHOOK_BACKOFF_MS"], default: 1000, name: "THREADLOG_WEBHOOK_BACKOFF_MS")
        smtpURLSet = !(environment["THREADLOG_SMTP_URL"]?.isEmpty ?? true)
        if let listen = environment["THREADLOG_INBOUND_SMTP"], !listen.isEmpty {
            let (host, port) = try inboundAddress(listen)
            inbound = Inbound(
                host: host, port: port,
                hostname: environment["THREADLOG_INBOUND_HOSTNAME"].flatMap { $0.isEmpty ? nil : $0 } ?? "threadlog",
                maxBytes: try Serve.byteLimit(
                    environment["THREADLOG_INBOUND_MAX_BYTES"], default: 10 << 20, name: "THREADLOG_INBOUND_MAX_BYTES"),
                timeout: try Serve.milliseconds(
                    environment["THREADLOG_INBOUND_TIMEOUT_MS"], default: 300_000, name: "THREADLOG_INBOUND_TIMEOUT_MS"))
        }
        // Read only when there is a listener, as before: without one the setting is not used.
        requireMatchingFrom = inbound == nil ? false : try requireMatchingFromSetting(environment)
    }

    /// The mail settings, with the reply-address key of `dataRoot`.
    func mail(dataRoot: String) throws -> NotificationConfiguration {
        try NotificationConfiguration(environment: environment, dataRoot: dataRoot)
    }
}

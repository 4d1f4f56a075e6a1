import ArgumentParser
import Engine
import EventLog
import Foundation
import HTTPAPI
import Logging
import PostgresEventLog
import SMTP
import Subscriptions
import WebConsole

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP service on an embedded event log.",
        discussion: """
            Environment: THREADLOG_DATA, THREADLOG_HOST, THREADLOG_PORT, THREADLOG_ADMIN_TOKEN, \
            THREADLOG_MAX_BODY (bytes, default 1 MiB), THREADLOG_MAX_BLOB (bytes, default 10 MiB), \
            THREADLOG_SMTP_URL, THREADLOG_MAIL_FROM, THREADLOG_SMTP_CA_FILE, THREADLOG_PROJECTION_INTERVAL_MS (default 500), THREADLOG_COMMIT_GATHER_US (default 1000), \
            THREADLOG_HEADER_TIMEOUT_MS (default 10000), THREADLOG_IDLE_TIMEOUT_MS (default 60000), \
            THREADLOG_CONSOLE (on, or off for no web console), THREADLOG_PUBLIC_URL, THREADLOG_REPLY_ADDRESS, \
            THREADLOG_INBOUND_SMTP (host:port), THREADLOG_INBOUND_MAX_BYTES, THREADLOG_INBOUND_TIMEOUT_MS, \
            THREADLOG_INBOUND_HOSTNAME, THREADLOG_REPLY_REQUIRE_FROM, LOG_LEVEL. Without THREADLOG_ADMIN_TOKEN the first \
            start prints a generated admin token once; only its SHA-256 is kept (DIR/admin-token.sha256).
            """
    )

    @OptionGroup var options: DataOptions

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "The address to listen on (default: $THREADLOG_HOST or 127.0.0.1).")
    var host: String?

    @Option(help: "The port to listen on, 0 for any free one (default: $THREADLOG_PORT or 8080).")
    var port: Int?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let logger = {
            var logger = Logger(label: "threadlog")
            logger.logLevel = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return logger
        }()
        let host = host ?? environment["THREADLOG_HOST"] ?? "127.0.0.1"
        guard let port = port ?? (environment["THREADLOG_PORT"].map { Int($0) } ?? 8080), (0...65535).contains(port)
        else { throw ValidationError("the port must be a number from 0 to 65535") }
        let maxBody = try Self.byteLimit(
            environment["THREADLOG_MAX_BODY"], default: 1 << 20, name: "THREADLOG_MAX_BODY")
        let maxBlob = try Self.byteLimit(
            environment["THREADLOG_MAX_BLOB"], default: 10 << 20, name: "THREADLOG_MAX_BLOB")
        let headerTimeout = try Self.milliseconds(
            environment["THREADLOG_HEADER_TIMEOUT_MS"], default: 10_000, name: "THREADLOG_HEADER_TIMEOUT_MS")
        let idleTimeout = try Self.milliseconds(
            environment["THREADLOG_IDLE_TIMEOUT_MS"], default: 60_000, name: "THREADLOG_IDLE_TIMEOUT_MS")
        // Checked before anything is opened or created; the projectors read it again.
        _ = try CommitPacer.interval(environment)
        var logOptions = EventLogOptions()
        if let text = environment["THREADLOG_COMMIT_GATHER_US"], !text.isEmpty {
            guard let microseconds = Int(text), (0...100_000).contains(microseconds) else {
                throw ToolFailure("THREADLOG_COMMIT_GATHER_US must be a number of microseconds from 0 to 100000")
            }
            logOptions.gatherDelay = .microseconds(microseconds)
        }

        // With a store URL the log is on PostgreSQL; the views, blobs and admin token stay in the directory,
        // which then holds no log of its own.
        // A bad URL or an unreachable server is refused before the directory is created.
        let postgres = try storeOptions.urlBesideData.map { url in
            try PostgresEventStore.open(
                url: url, options: PostgresEventLogOptions(gatherDelay: logOptions.gatherDelay), logger: logger)
        }
        let data: DataDirectory
        let store: any EventStore
        let serviceLock: ServiceLock
        do {
            data =
                postgres != nil
                ? try StoreOptions.nodeDirectory(options.directory, create: true)
                : try DataDirectory(options.directory, create: true)
            // Before the log is opened or anything bound: a second service on the directory stops here.
            serviceLock = try ServiceLock(dataDirectory: data.root)
            store = try postgres ?? LMDBEventStore.open(directory: data.log, options: logOptions, logger: logger)
        } catch {
            postgres?.close()
            throw error
        }
        defer { withExtendedLifetime(serviceLock) {} }
        let adminTokenHash: String
        do {
            adminTokenHash = try Self.adminTokenHash(data: data, environment: environment)
        } catch {
            store.close()
            throw error
        }
        let handler = CommandHandler(store: store, logger: logger)
        let readSide = try Self.makeReadSide(
            store: store, handler: handler, data: data, environment: environment, logger: logger)
        if environment["THREADLOG_SMTP_URL"]?.isEmpty ?? true {
            Self.say("mail is not configured (THREADLOG_SMTP_URL and THREADLOG_MAIL_FROM): notifications wait in the outbox")
        }
        // One blob store and one access check for the API's blob routes and the console's attachments.
        let blobs = try BlobAccess(directory: data.blobs, log: store, handler: handler)
        let console = try Self.makeConsole(
            handler: handler, readSide: readSide, blobs: blobs, maxBlob: maxBlob, adminTokenHash: adminTokenHash,
            dataRoot: data.root, environment: environment, logger: logger)
        let server = try ThreadlogHTTPServer(
            configuration: APIConfiguration(
                host: host, port: port, adminTokenHash: adminTokenHash, blobDirectory: data.blobs,
                maxBodyBytes: maxBody, maxBlobBytes: maxBlob, headerTimeout: headerTimeout, idleTimeout: idleTimeout,
                sharedLog: postgres != nil),
            store: store, handler: handler, readSide: readSide, logger: logger,
            console: console, blobs: blobs,
            onListening: { bound in
                logger.info(
                    "serving",
                    metadata: ["data": "\(data.root)", "address": "\(host):\(bound)", "maxBody": "\(maxBody)"])
                Self.say("listening on http://\(host):\(bound)")
            })
        try await server.runUntilSignalled(logger: logger)
    }

    /// The one place that picks the read side and the services that run beside the server: the
    /// projection-backed read models in `DIR/views`, the notification outbox, its sender and the digest
    /// scheduler, and the daily retention run. (`.logFold(store:handler:)` is the fallback read side that
    /// folds threads from the log instead.) One `ViewStore` serves them all: LMDB allows one handle on an
    /// environment per process.
    static func makeReadSide(
        store: any EventStore, handler: CommandHandler, data: DataDirectory, environment: [String: String],
        logger: Logger
    ) throws -> ReadSide {
        let views = try ViewStore.open(directory: data.views)
        let models = ReadModels(
            log: store, views: views, commitInterval: try CommitPacer.interval(environment), logger: logger)
        // The first command reads the log only after the views' directory snapshot (else all of it).
        if let (directory, position) = try? models.storedDirectory() {
            handler.seedDirectory(directory, at: position)
        }
        // On a PostgreSQL log the leader runs what must happen once across the nodes (Serve+Leader.swift).
        let (notifications, leader) = try Self.notificationServices(
            store: store, views: views, models: models, handler: handler, environment: environment, dataRoot: data.root,
            logger: logger)
        let outbox = try NotificationServices.projector(
            log: store, views: views, environment: environment, dataRoot: data.root, logger: logger)
        var services = notifications
        // Retention erases payloads in place; with several nodes, the elected one runs it.
        if let log = store as? any ErasableLog {
            let retention = RetentionService(
                retention: Retention(
                    log: log, models: models, handler: handler, data: data, logger: logger,
                    beforeCompaction: { try outbox.catchUp() }))
            if let leader { leader.elect(also: retention) } else { services.append(retention) }
        }
        if let inbound = try Self.inboundMail(
            handler: handler, views: views, data: data, environment: environment, logger: logger)
        {
            services.append(inbound)
        }
        // Consumer groups and webhooks keep their state beside the views.
        let subscriptions = try Subscriptions(views: views, log: store)
        services.append(
            WebhookService(
                store: subscriptions.store, log: store,
                settings: WebhookSettings(
                    backoff: try milliseconds(
                        environment["THREADLOG_WEBHOOK_BACKOFF_MS"], default: 1000, name: "THREADLOG_WEBHOOK_BACKOFF_MS")),
                logger: logger))
        if let leader { services.append(leader) }
        return ReadSide.projected(models).adding(services)
            .reporting("notifications", lag: { leader?.isLeading == false ? 0 : try outbox.lag() }).with(subscriptions).with(try Outbox(views: views))
    }

    /// The SMTP listener for replies by mail (`THREADLOG_INBOUND_SMTP=host:port`); it needs
    /// `THREADLOG_REPLY_ADDRESS`, whose tokens are the only recipients it takes.
    static func inboundMail(
        handler: CommandHandler, views: ViewStore, data: DataDirectory, environment: [String: String], logger: Logger
    ) throws -> InboundMailService? {
        guard let listen = environment["THREADLOG_INBOUND_SMTP"], !listen.isEmpty else { return nil }
        let mailIn = try MailInCommand.makeMailIn(
            handler: handler, views: views, data: data, environment: environment, logger: logger)
        let (host, port) = try InboundMailService.address(listen)
        let server = InboundSMTPServer(
            configuration: .init(
                host: host, port: port,
                hostname: environment["THREADLOG_INBOUND_HOSTNAME"].flatMap { $0.isEmpty ? nil : $0 } ?? "threadlog",
                maxMessageBytes: try byteLimit(
                    environment["THREADLOG_INBOUND_MAX_BYTES"], default: 10 << 20, name: "THREADLOG_INBOUND_MAX_BYTES"),
                idleTimeout: try milliseconds(
                    environment["THREADLOG_INBOUND_TIMEOUT_MS"], default: 300_000, name: "THREADLOG_INBOUND_TIMEOUT_MS")),
            receiver: MailInReceiver(mailIn), logger: logger)
        return InboundMailService(server: server) { bound in say("receiving mail on \(host):\(bound)") }
    }

    /// The web console under `/`, unless `THREADLOG_CONSOLE=off`; its cookies are `Secure` when the
    /// public URL is HTTPS. The admin token signs in to its administration and operations pages; with
    /// mail configured, users may sign in by a link mailed to them.
    static func makeConsole(
        handler: CommandHandler, readSide: ReadSide, blobs: BlobAccess, maxBlob: Int, adminTokenHash: String,
        dataRoot: String, environment: [String: String],
        logger: Logger
    ) throws -> WebConsole? {
        switch environment["THREADLOG_CONSOLE"] ?? "on" {
        case "on", "": break
        case "off": return nil
        default: throw ToolFailure("THREADLOG_CONSOLE must be on or off")
        }
        let secure = environment["THREADLOG_PUBLIC_URL"]?.lowercased().hasPrefix("https://") ?? false
        let mail = try NotificationConfiguration(environment: environment, dataRoot: dataRoot)
        let links = mail.smtp.map { _ in
            SignInLinkConfiguration(publicURL: mail.publicURL, messageIDDomain: mail.messageIDDomain)
        }
        // An upload form carries one attachment of the largest size, and the message besides.
        return WebConsole(
            handler: handler, queries: readSide.queries, blobs: blobs,
            configuration: WebConsoleConfiguration(
                secureCookies: secure, adminTokenHash: adminTokenHash, signInLinks: links,
                maxUploadBytes: maxBlob + (1 << 20)),
            operations: ConsoleOperations(outbox: readSide.outbox, lags: { readSide.lags() }), logger: logger)
    }

    /// `THREADLOG_ADMIN_TOKEN` when set; else the hash kept from the first start; else a new token,
    /// printed once, whose hash is kept. The token itself is never written anywhere.
    static func adminTokenHash(data: DataDirectory, environment: [String: String]) throws -> String {
        if let token = environment["THREADLOG_ADMIN_TOKEN"], !token.isEmpty {
            return Tokens.hash(token)
        }
        let file = data.root + "/admin-token.sha256"
        if let kept = FileManager.default.contents(atPath: file) {
            let hash = String(decoding: kept, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard hash.utf8.count == 64 else { throw ToolFailure("\(file) does not hold a SHA-256 hex digest") }
            return hash
        }
        let token = Tokens.generate()
        let hash = Tokens.hash(token)
        let temporary = file + ".tmp"
        guard
            FileManager.default.createFile(
                atPath: temporary, contents: Data((hash + "\n").utf8), attributes: [.posixPermissions: 0o600]),
            rename(temporary, file) == 0
        else { throw ToolFailure("cannot write \(file)") }
        say("admin token: \(token)")
        say("(shown once; only its SHA-256 is kept in \(file))")
        return hash
    }

    /// One unbuffered line on stdout, so a supervising process sees it at once.
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// A timeout setting: 1 ms to an hour.
    static func milliseconds(_ text: String?, default value: Int, name: String) throws -> Duration {
        guard let text, !text.isEmpty else { return .milliseconds(value) }
        guard let parsed = Int(text), (1...3_600_000).contains(parsed) else {
            throw ToolFailure("\(name) must be a number of milliseconds from 1 to 3600000")
        }
        return .milliseconds(parsed)
    }

    static func byteLimit(_ text: String?, default value: Int, name: String) throws -> Int {
        guard let text else { return value }
        guard let parsed = Int(text), parsed > 0 else {
            throw ToolFailure("\(name) must be a positive number of bytes")
        }
        return parsed
    }
}

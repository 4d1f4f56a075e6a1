import ArgumentParser
import Engine
import EventLog
import Foundation
import HTTPAPI
import Logging
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
        // Every setting, checked before anything is opened or created.
        let settings = try ServeConfiguration(environment: ProcessInfo.processInfo.environment, host: host, port: port)
        let logger = {
            var logger = Logger(label: "threadlog")
            logger.logLevel = settings.logLevel
            return logger
        }()
        let (host, port, maxBody, maxBlob) = (settings.host, settings.port, settings.maxBody, settings.maxBlob)
        let (headerTimeout, idleTimeout) = (settings.headerTimeout, settings.idleTimeout)
        var logOptions = EventLogOptions()
        if let gatherDelay = settings.gatherDelay { logOptions.gatherDelay = gatherDelay }

        // With a store URL the log is on PostgreSQL; the views, blobs and admin token stay in the directory,
        // which then holds no log of its own.
        // A bad URL or an unreachable server is refused before the directory is created.
        let shared = try storeOptions.urlBesideData.map { url in
            try Backends.sharedLog(url: url, create: true, gatherDelay: logOptions.gatherDelay, logger: logger)
        }
        let data: DataDirectory
        let store: any EventStore
        let serviceLock: ServiceLock
        do {
            data =
                shared != nil
                ? try StoreOptions.nodeDirectory(options.directory, create: true)
                : try DataDirectory(options.directory, create: true)
            // Before the log is opened or anything bound: a second service on the directory stops here.
            serviceLock = try ServiceLock(dataDirectory: data.root)
            store = try shared ?? Backends.localLog(data, writable: true, options: logOptions, logger: logger)
        } catch {
            shared?.close()
            throw error
        }
        defer { withExtendedLifetime(serviceLock) {} }
        let adminTokenHash: String
        do {
            adminTokenHash = try Self.adminTokenHash(data: data, token: settings.adminToken)
        } catch {
            store.close()
            throw error
        }
        let handler = CommandHandler(store: store, logger: logger)
        let readSide = try Self.makeReadSide(
            store: store, handler: handler, data: data, settings: settings, logger: logger)
        if !settings.smtpURLSet {
            Self.say("mail is not configured (THREADLOG_SMTP_URL and THREADLOG_MAIL_FROM): notifications wait in the outbox")
        }
        // One blob store and one access check for the API's blob routes and the console's attachments.
        let blobs = try BlobAccess(directory: data.blobs, handler: handler)
        let console = try Self.makeConsole(
            handler: handler, readSide: readSide, blobs: blobs, maxBlob: maxBlob, adminTokenHash: adminTokenHash,
            dataRoot: data.root, settings: settings, logger: logger)
        let server = try ThreadlogHTTPServer(
            configuration: APIConfiguration(
                host: host, port: port, adminTokenHash: adminTokenHash, blobDirectory: data.blobs,
                maxBodyBytes: maxBody, maxBlobBytes: maxBlob, headerTimeout: headerTimeout, idleTimeout: idleTimeout,
                sharedLog: shared != nil),
            handler: handler, readSide: readSide, logger: logger,
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
    /// scheduler, and the daily retention run. (`.logFold(handler:)` is the fallback read side that
    /// folds threads from the log instead.) One `ViewStore` serves them all: LMDB allows one handle on an
    /// environment per process.
    static func makeReadSide(
        store: any EventStore, handler: CommandHandler, data: DataDirectory, settings: ServeConfiguration,
        logger: Logger
    ) throws -> ReadSide {
        let shared = Backends.coordination(of: store) != nil
        let views = try ViewStore.open(directory: data.views)
        let models = ReadModels(
            log: store, views: views, commitInterval: settings.projectionInterval, logger: logger)
        // The first command reads the log only after the views' directory snapshot (else all of it).
        if let (directory, position) = try? models.storedDirectory() {
            handler.seedDirectory(directory, at: position)
        }
        // On a PostgreSQL log the leader runs what must happen once across the nodes (Serve+Leader.swift).
        let node = try Self.notificationServices(
            store: store, views: views, models: models, handler: handler,
            configuration: try settings.mail(dataRoot: data.root), logger: logger)
        let outbox = node.projector
        let leader = node.leader
        var services = node.everyNode
        // Retention erases payloads in place; with several nodes, the elected one runs it.
        if let log = store as? any ErasableLog {
            let retention = RetentionService(
                retention: Retention(
                    log: log, models: models, handler: handler, data: data, logger: logger,
                    beforeCompaction: { try outbox.catchUp() }))
            if let leader { leader.elect(also: retention) } else { services.append(retention) }
        }
        // On a shared log every node, elected or not, applies the purges to its own files: the attachment
        // files in DIR/blobs and the free pages of its views (the elected node's retention has done so
        // for its own already, which the pass then repeats at no harm; leadership may move).
        if shared {
            // The outbox is derived on the elected node only: there it drops its copies before compaction.
            let purges = NodePurges(
                log: store, models: models, data: data, logger: logger,
                beforeCompaction: { if leader?.isLeading == true { try outbox.catchUp() } })
            try purges.start()
            services.append(NodePurgesService(purges: purges))
        }
        if let inbound = try Self.inboundMail(
            handler: handler, views: views, data: data, settings: settings, logger: logger)
        {
            services.append(inbound)
        }
        // Consumer groups and webhooks keep their state beside the views.
        let subscriptions = try Subscriptions(views: views, log: store)
        services.append(
            WebhookService(
                store: subscriptions.store, log: store,
                settings: WebhookSettings(
                    backoff: settings.webhookBackoff),
                logger: logger))
        if let leader { services.append(leader) }
        return ReadSide.projected(models).adding(services)
            .reporting("notifications", lag: { leader?.isLeading == false ? 0 : try outbox.lag() })
            .with(subscriptions).with(node.outbox)
    }

    /// The SMTP listener for replies by mail (`THREADLOG_INBOUND_SMTP=host:port`); it needs
    /// `THREADLOG_REPLY_ADDRESS`, whose tokens are the only recipients it takes.
    static func inboundMail(
        handler: CommandHandler, views: ViewStore, data: DataDirectory, settings: ServeConfiguration, logger: Logger
    ) throws -> InboundMailService? {
        guard let inbound = settings.inbound else { return nil }
        let mailIn = try MailInCommand.makeMailIn(
            handler: handler, views: views, data: data, mail: try settings.mail(dataRoot: data.root),
            requireMatchingFrom: settings.requireMatchingFrom, logger: logger)
        let (host, port) = (inbound.host, inbound.port)
        let server = InboundSMTPServer(
            configuration: .init(
                host: host, port: port, hostname: inbound.hostname, maxMessageBytes: inbound.maxBytes,
                idleTimeout: inbound.timeout),
            receiver: MailInReceiver(mailIn), logger: logger)
        return InboundMailService(server: server) { bound in say("receiving mail on \(host):\(bound)") }
    }

    /// The web console under `/`, unless `THREADLOG_CONSOLE=off`; its cookies are `Secure` when the
    /// public URL is HTTPS. The admin token signs in to its administration and operations pages; with
    /// mail configured, users may sign in by a link mailed to them.
    static func makeConsole(
        handler: CommandHandler, readSide: ReadSide, blobs: BlobAccess, maxBlob: Int, adminTokenHash: String,
        dataRoot: String, settings: ServeConfiguration,
        logger: Logger
    ) throws -> WebConsole? {
        guard settings.console else { return nil }
        let secure = settings.secureCookies
        let mail = try settings.mail(dataRoot: dataRoot)
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
    static func adminTokenHash(data: DataDirectory, token: String?) throws -> String {
        if let token, !token.isEmpty {
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

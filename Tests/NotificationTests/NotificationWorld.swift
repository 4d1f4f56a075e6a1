import Engine
import EventLog
import Foundation
import Logging
import Messaging
import SMTP
import TestSupport
import Testing

/// A data directory with a log, views and an outbox, and a small directory: the operator `ops` with two
/// handlers, and the customer `acme` with two users.
final class NotificationWorld: Sendable {
    let temp: TempDirectory
    let data: DataDirectory
    let log: LMDBEventStore
    let views: ViewStore
    let models: ReadModels
    let handler: CommandHandler
    let outbox: Outbox
    let logger: Logger

    static let from = "Threadlog <noreply@threadlog.example>"
    static let publicURL = "https://threads.example"

    init() throws {
        temp = try TempDirectory()
        data = try DataDirectory(temp.sub("data"), create: true)
        log = try LMDBEventStore.open(directory: data.log)
        views = try ViewStore.open(directory: data.views)
        models = ReadModels(log: log, views: views)
        handler = CommandHandler(store: log)
        outbox = try Outbox(views: views)
        var logger = Logger(label: "test.notifications")
        logger.logLevel = .critical
        self.logger = logger
    }

    func close() { log.close() }

    static let hash = String(repeating: "b", count: 64)

    /// Parties and users; the outbox starts before them, so everything after is mailed.
    func populate() async throws {
        try await admin(.createParty(id: "ops", name: "Operations", kind: .internal))
        try await admin(.createParty(id: "acme", name: "Acme Supplies", kind: .external))
        try await admin(
            .createUser(
                id: "h1", name: "Hana Handler", email: "hana@ops.example", party: "ops", roles: ["handler"],
                tokenHash: Self.hash))
        try await admin(
            .createUser(
                id: "h2", name: "Hugo Helper", email: "hugo@ops.example", party: "ops", roles: ["handler"],
                tokenHash: Self.hash))
        try await admin(
            .createUser(
                id: "c1", name: "Clara Client", email: "clara@acme.example", party: "acme", roles: [],
                tokenHash: Self.hash))
        try await admin(
            .createUser(
                id: "c2", name: "Carl Customer", email: "carl@acme.example", party: "acme", roles: [],
                tokenHash: Self.hash))
    }

    @discardableResult
    func admin(_ command: Command) async throws -> CommandOutcome {
        try await handler.handle(command, actor: .admin)
    }

    @discardableResult
    func user(_ id: UserID, _ command: Command) async throws -> CommandOutcome {
        try await handler.handle(command, actor: .user(id))
    }

    /// c1 opens a contract thread (with c2 as participant) and its first message.
    func openThread(
        ref: String = "C-1", body: String? = "Is the invoice paid?", structures: [StructureID] = []
    ) async throws -> ThreadID {
        // The contract belongs to c1 and c2's party, and is shared with `structures` (a repeated
        // declaration appends nothing).
        try await admin(.declareSubject(Subject(kind: "contract", ref: ref), parties: ["acme"], structures: structures))
        let outcome = try await user(
            "c1",
            .openThread(
                OpenThread(
                    subjectKind: "contract", subjectRef: ref, title: "Invoice \(ref)", participants: ["c2"],
                    body: body.map { NewMessage(text: $0) })))
        return try #require(outcome.thread)
    }

    func configuration(_ server: SMTPTestServer?, port: Int? = nil) throws -> NotificationConfiguration {
        let smtp = try (server?.url ?? port.map { "smtp://127.0.0.1:\($0)" }).map {
            try SMTPConfiguration(url: $0, from: Self.from, timeout: .seconds(5))
        }
        return NotificationConfiguration(
            smtp: smtp, publicURL: Self.publicURL, pollInterval: .milliseconds(20), initialBackoff: .milliseconds(50),
            maxBackoff: .milliseconds(200), claimLease: .seconds(30))
    }

    /// A populated world mailing through `server`, whose outbox started before its directory (so
    /// everything after is mailed); closed after `body`.
    static func populated(
        mailingTo server: SMTPTestServer,
        _ body: (NotificationWorld, NotificationConfiguration, NotificationProjector) async throws -> Void
    ) async throws {
        let world = try NotificationWorld()
        defer { world.close() }
        let configuration = try world.configuration(server)
        let projector = world.projector(configuration)
        try projector.catchUp()
        try await world.populate()
        try await body(world, configuration, projector)
    }

    func projector(_ configuration: NotificationConfiguration) -> NotificationProjector {
        NotificationProjector(log: log, outbox: outbox, configuration: configuration, logger: logger)
    }

    func sender(_ configuration: NotificationConfiguration) throws -> OutboxSender {
        OutboxSender(
            outbox: outbox, handler: handler, smtp: try #require(configuration.smtp), configuration: configuration,
            logger: logger)
    }

    func digests() -> Digests { Digests(models: models, handler: handler, logger: logger) }

    /// Delivers until nothing is left to deliver (or `timeout`).
    func drain(_ sender: OutboxSender, timeout: Duration = .seconds(20)) async throws {
        let start = ContinuousClock.now
        while try !outbox.undelivered().isEmpty {
            _ = await sender.deliverDue()
            if ContinuousClock.now - start > timeout { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        _ = await sender.deliverDue()
    }

    /// Every mail the server took: `addresses | subject`, in arrival order.
    static func summary(_ server: SMTPTestServer) throws -> [String] {
        try server.messages().parsed().map { "\($0.toAddresses.joined(separator: ",")) | \($0.subject)" }
    }

    /// The events of a type in the log.
    func events(_ type: EventType) throws -> [Recorded<Event>] {
        try log.read(from: 1, limit: 100_000).filter { $0.type == type.rawValue }.map { try $0.decoded() }
    }
}

extension ParsedMail {
    var toAddresses: [String] { to.map(\.address) }
}

import EventLog
import Foundation
import Logging
import ServiceLifecycle

/// What the nodes sharing one log record about outgoing mail (on PostgreSQL: `MailLedger`): the
/// position from which immediate notifications are mailed, and the outcome of each derived mail by
/// its id. Derivation is deterministic (the same log gives the same entries under the same ids on
/// every node), so the node that takes over the sending derives its own outbox and sends only what
/// no node recorded as delivered or refused.
public protocol DeliveryLedger: Sendable {
    /// The shared start of immediate notifications: `proposed` when none is fixed yet.
    func notifyFrom(proposing proposed: UInt64) throws -> UInt64
    /// What became of the mail `id`, `nil` when no node recorded it.
    func outcome(ofMail id: String) throws -> DeliveryOutcome?
    /// Records what became of the mail `id`.
    func record(mail id: String, _ outcome: DeliveryOutcome) throws
}

public enum DeliveryOutcome: Sendable, Hashable {
    case delivered(atMillis: Int64)
    case failed(reason: String)
}

extension OutboxEntry {
    /// Derived from a log event (not a sign-in link or an answer to a refused reply, which belong to
    /// the node that queued them).
    public var isDerived: Bool { position & Outbox.directPositionBit == 0 }
}

extension Outbox {
    /// Starts the cursor, or moves its start of immediate notifications, to the one the nodes share.
    public func start(head: UInt64, backfill: Bool, sharedBy ledger: any DeliveryLedger) async throws {
        let local = try cursor()
        let shared = try ledger.notifyFrom(proposing: local?.notifyFrom ?? (backfill ? 0 : head))
        guard local?.notifyFrom != shared else { return }
        try await views.queuedWrite { txn in
            if try Self.cursor(txn) == nil { try txn.put(Self.metaTable, Self.checkpointKey, Self.encode(0)) }
            try txn.put(Self.metaTable, Self.notifyFromKey, Self.encode(shared))
        }
    }
}

extension Outbox {
    /// Puts the derived entries still claimed back on the pending list, due at `now`: on a node just
    /// elected, a claim can only be left from an earlier life of the node (killed while sending), and
    /// the ledger tells whether that mail went out after all.
    func releaseClaims(now: Int64) async throws {
        for entry in try undelivered() where entry.isDerived && entry.status == .sending {
            try await update(entry.key) { stored in
                guard stored.status == .sending else { return nil }
                var released = stored
                released.status = .pending
                released.claimedUntilMillis = nil
                released.nextAttemptMillis = now
                return released
            }
        }
    }
}

/// The notification services of one of several nodes on a shared log.
public struct NodeNotificationServices: Sendable {
    /// The outbox the elected node derives and sends (and every node's own mails go through).
    public var outbox: Outbox
    /// The outbox projector (its lag for `/metrics`; retention brings it up to the log before compacting).
    public var projector: NotificationProjector
    /// Run by the elected node alone: the outbox projector, the sender of derived mail (through the
    /// ledger) and the digest scheduler.
    public var elected: [any Service]
    /// Run by every node: the sender of the mails queued on this node (sign-in links, answers to
    /// refused replies by mail).
    public var everyNode: [any Service]
    /// Run once each time this node is elected, before `elected` starts: the outbox adopts the shared
    /// start and releases the claims an earlier life of the node left.
    public var prepare: @Sendable () async throws -> Void
}

extension NotificationServices {
    public static func forNodes(
        log: any EventStore, views: ViewStore, readModels: ReadModels, handler: CommandHandler,
        configuration: NotificationConfiguration, ledger: any DeliveryLedger, logger: Logger
    ) throws -> NodeNotificationServices {
        let outbox = try Outbox(views: views)
        let projector = NotificationProjector(log: log, outbox: outbox, configuration: configuration, logger: logger)
        var elected: [any Service] = [
            projector,
            DigestService(
                digests: Digests(models: readModels, handler: handler, logger: logger),
                checkInterval: configuration.digestCheckInterval),
        ]
        var everyNode: [any Service] = []
        if let smtp = configuration.smtp {
            elected.append(
                OutboxSender(
                    outbox: outbox, handler: handler, smtp: smtp, configuration: configuration, logger: logger,
                    include: { $0.isDerived }, ledger: ledger))
            everyNode.append(
                OutboxSender(
                    outbox: outbox, handler: handler, smtp: smtp, configuration: configuration, logger: logger,
                    include: { !$0.isDerived }))
        }
        return NodeNotificationServices(
            outbox: outbox, projector: projector, elected: elected, everyNode: everyNode,
            prepare: {
                try await outbox.start(head: try log.lastPosition(), backfill: configuration.backfill, sharedBy: ledger)
                try await outbox.releaseClaims(now: Int64(Date().timeIntervalSince1970 * 1000))
            })
    }
}

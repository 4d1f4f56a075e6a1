import Engine
import EventLog
import Foundation
import Logging
import PostgresEventLog

/// The one place in the tools that knows the log's backends. It opens the log that a data directory
/// (LMDB) or a store URL (PostgreSQL) names, and it does what only one backend can do: LMDB's
/// consistent copy, PostgreSQL's coordination of several nodes, and the copy from one backend to the
/// other. Every command reaches a backend through here; the rest of the tools see `EventStore` only.
enum Backends {
    /// The LMDB log of a data directory: for appending (created when absent) when `writable`, else an
    /// existing log opened read-only.
    static func localLog(
        _ directory: DataDirectory, writable: Bool, options: EventLogOptions = EventLogOptions(),
        logger: Logger = Logger(label: "threadlog.eventlog")
    ) throws -> any ErasableLog {
        try writable
            ? LMDBEventStore.open(directory: directory.log, options: options, logger: logger)
            : LMDBEventStore.openReadOnly(directory: directory.log, logger: logger)
    }

    /// The log on PostgreSQL at `url`; its tables are created when missing only with `create`. A bad URL
    /// or an unreachable server is a fault.
    static func sharedLog(
        url: String, create: Bool, gatherDelay: Duration? = nil, logger: Logger = Logger(label: "threadlog.eventlog")
    ) throws -> any ErasableLog {
        var options = PostgresEventLogOptions()
        if let gatherDelay { options.gatherDelay = gatherDelay }
        return try PostgresEventStore.open(url: url, create: create, options: options, logger: logger)
    }

    /// What the nodes sharing `log` coordinate through; `nil` for a log that one process owns (LMDB).
    static func coordination(of log: any EventStore) -> NodeCoordination? {
        (log as? PostgresEventStore).map { NodeCoordination(url: $0.url) }
    }

    /// LMDB's consistent copy of a data directory's log into `target` (a new directory); answers the
    /// position the copy holds.
    static func backUpLog(of source: DataDirectory, to target: DataDirectory) throws -> UInt64 {
        let log = try LMDBEventStore.openReadOnly(directory: source.log)
        defer { log.close() }
        return try log.backup(to: target.log)
    }

    /// Copies the LMDB log of the data directory `from` into the log on PostgreSQL at `url` (created
    /// when missing), with positions, times and hashes unchanged, resuming a copy that stopped.
    /// `progress` hears of the events copied and the total after each batch. Answers the first
    /// position copied now, the new head and the target's address.
    static func migrate(
        from: String, to url: String, progress: (_ copied: UInt64, _ total: UInt64) -> Void
    ) throws -> (first: UInt64, head: UInt64, target: String) {
        let source = try LMDBEventStore.openReadOnly(directory: try DataDirectory(from, create: false).log)
        defer { source.close() }
        let target = try PostgresEventStore.open(url: url)
        defer { target.close() }
        let total = try source.lastPosition()
        let first = try target.lastPosition() + 1
        if first > 1 {
            // Resume only a copy of this very log: the chain hash at the target's head must match.
            let targetHead = try target.read(from: first - 1, limit: 1).first
            let sourceAtHead = try source.read(from: first - 1, limit: 1).first
            guard let targetHead, let sourceAtHead, targetHead.chainHash == sourceAtHead.chainHash else {
                throw ToolFailure(
                    "the log at \(target.url) holds \(first - 1) events that are not a beginning of the log in \(from)")
            }
        }
        var next = first
        while next <= total {
            let batch = try source.read(from: next, limit: 2000)
            guard !batch.isEmpty else { break }
            next = try target.importEvents(batch) + 1
            progress(next - 1, total)
        }
        return (first, next - 1, "\(target.url)")
    }
}

extension EventStore {
    /// Visits every event from `position` on until `body` returns false: in one read transaction on
    /// LMDB, in pages elsewhere.
    func forEachEvent(from position: UInt64, _ body: (RecordedEvent) throws -> Bool) throws {
        if let lmdb = self as? LMDBEventStore { return try lmdb.forEach(from: position, body) }
        var next = max(position, 1)
        while true {
            let page = try read(from: next, limit: 2000)
            for event in page {
                guard try body(event) else { return }
            }
            guard let last = page.last, page.count == 2000 else { return }
            next = last.position + 1
        }
    }
}

/// What the nodes on one shared log coordinate through: the ledger of what became of each mail, and
/// the election of the node that runs what must happen once.
struct NodeCoordination: Sendable {
    fileprivate let url: PostgresURL

    /// The shared mail ledger; the caller closes it.
    func mailLedger(logger: Logger) throws -> SharedMailLedger {
        SharedMailLedger(ledger: try MailLedger(url: url, logger: logger))
    }

    /// A campaign for the leader lock.
    func election(logger: Logger) -> any Election {
        LeaderLock(url: url, logger: logger)
    }
}

/// A lock that at most one node holds at a time, and that a node loses with its session.
protocol Election: Sendable {
    /// Takes the lock when it is free; answers whether this node holds it.
    func tryAcquire() async -> Bool
    /// Whether the lock's session is still there.
    func stillHeld() async -> Bool
    /// Gives the lock up.
    func release() async
}

extension LeaderLock: Election {}

/// The mail ledger of the PostgreSQL log, as the outbox sender consults it.
struct SharedMailLedger: DeliveryLedger {
    fileprivate let ledger: MailLedger

    func notifyFrom(proposing proposed: UInt64) throws -> UInt64 { try ledger.notifyFrom(proposing: proposed) }

    func outcome(ofMail id: String) throws -> DeliveryOutcome? {
        switch try ledger.outcome(of: id) {
        case .delivered(let at): .delivered(atMillis: at)
        case .failed(let reason): .failed(reason: reason)
        case nil: nil
        }
    }

    func record(mail id: String, _ outcome: DeliveryOutcome) throws {
        switch outcome {
        case .delivered(let at): try ledger.record(id, .delivered(atMillis: at))
        case .failed(let reason): try ledger.record(id, .failed(reason: reason))
        }
    }

    func close() { ledger.close() }
}

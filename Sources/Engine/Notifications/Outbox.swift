import Crypto
import EventLog
import Foundation
import Messaging

/// The outbox: mails derived from the log, in tables of the view store. Derivation writes a batch's
/// entries and the outbox's own checkpoint in one transaction, so every event is turned into mail
/// exactly once, even across kill -9 and across processes sharing the data directory (LMDB serialises
/// their write transactions, and the checkpoint is checked again inside each one).
public final class Outbox: Sendable {
    let views: ViewStore
    static let entriesTable = "notify.outbox.v1"
    /// Keys of the entries still to deliver (pending or claimed), so a sender never scans history.
    static let pendingTable = "notify.pending.v1"
    /// Delivered or failed digests whose `digest.sent` is still to be appended.
    static let followupsTable = "notify.followups.v1"
    static let metaTable = "notify.meta.v1"
    static let checkpointKey = Array("checkpoint".utf8)
    static let notifyFromKey = Array("notifyFrom".utf8)
    static var tables: [String] { [entriesTable, pendingTable, followupsTable, metaTable, DirectorySnapshots.table] }
    /// The derivation's directory in `DirectorySnapshots`.
    static let directoryOwner = "outbox"

    public init(views: ViewStore) throws {
        self.views = views
        // Opened outside any write transaction, as LMDB requires.
        try views.prepare(tables: Self.tables)
    }

    public struct Cursor: Sendable, Hashable {
        /// The last log position turned into mail.
        public var checkpoint: UInt64
        /// Immediate notifications are derived only for events after this position.
        public var notifyFrom: UInt64
    }

    /// The derivation's cursor; `nil` before the outbox was started.
    public func cursor() throws -> Cursor? {
        try views.read { txn in try Self.cursor(txn) }
    }

    static func cursor(_ txn: borrowing ViewTransaction) throws -> Cursor? {
        guard let checkpoint = try txn.get(metaTable, checkpointKey), let from = try txn.get(metaTable, notifyFromKey)
        else { return nil }
        return Cursor(checkpoint: decode(checkpoint), notifyFrom: decode(from))
    }

    /// Creates the cursor once. A deployment that turns notifications on over an existing log does not
    /// mail its history (unless `backfill`); digests are derived from the start all the same.
    public func start(head: UInt64, backfill: Bool) throws {
        if try cursor() != nil { return }
        try views.write { txn in
            guard try Self.cursor(txn) == nil else { return }
            try txn.put(Self.metaTable, Self.checkpointKey, Self.encode(0))
            try txn.put(Self.metaTable, Self.notifyFromKey, Self.encode(backfill ? 0 : head))
        }
    }

    /// Writes derived entries, scrubs the mails of purged threads, and moves the checkpoint, if it is still
    /// at `expected`. False when another deriver got there first (nothing is written then).
    /// `directory`, when given, is what the derivation's directory became (`DirectorySnapshots`).
    func commit(
        _ entries: [OutboxEntry], scrubbing purged: [ThreadID] = [], from expected: UInt64, to reached: UInt64,
        directory: Directory? = nil
    ) throws -> Bool {
        let encoded = entries.map { ($0.key, $0.encoded()) }
        return try views.write { txn in
            guard let cursor = try Self.cursor(txn), cursor.checkpoint == expected else { return false }
            try DirectorySnapshots.record(Self.directoryOwner, directory, through: reached, txn)
            for (key, value) in encoded {
                try txn.put(Self.entriesTable, key, value)
                try txn.put(Self.pendingTable, key, [])
            }
            if !purged.isEmpty {
                // Retention destroys a purged thread's text everywhere it is kept, the mails about it too.
                var doomed: [([UInt8], OutboxEntry)] = []
                try txn.scan(Self.entriesTable, prefix: []) { key, value in
                    let entry = try OutboxEntry.decode(value)
                    if !Set(entry.threads).isDisjoint(with: purged) { doomed.append((Array(key), entry)) }
                    return true
                }
                for (key, entry) in doomed {
                    try txn.put(Self.entriesTable, key, entry.scrubbed().encoded())
                    try txn.delete(Self.pendingTable, key)
                }
            }
            try txn.put(Self.metaTable, Self.checkpointKey, Self.encode(reached))
            return true
        }
    }

    /// Entries that no event derived (the answers to refused replies by mail) sit after every log
    /// position: their keys start with this bit set.
    static let unloggedPositionBase: UInt64 = 1 << 63

    /// Puts a mail that no event derived into the outbox under `key` (a refusal's command id), once:
    /// a second call with the same key changes nothing. Returns whether it was added.
    @discardableResult
    public func enqueue(
        unlogged key: String, trigger: String, thread: ThreadID?, to: [String], subject: String, body: String,
        messageIDDomain: String, nowMillis: Int64
    ) async throws -> Bool {
        let digest = Array(SHA256.hash(data: Array(key.utf8)))
        let position = Self.unloggedPositionBase | (digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } >> 1)
        let id = "\(trigger).\(String(position & ~Self.unloggedPositionBase, radix: 36))"
        let entry = OutboxEntry(
            id: id, position: position, index: 0, trigger: trigger, thread: thread, threads: thread.map { [$0] } ?? [],
            digest: nil, to: to, cc: [], bcc: [], subject: subject, body: body,
            messageID: "<threadlog.\(id)@\(messageIDDomain)>", status: .pending, attempts: 0, nextAttemptMillis: 0,
            claimedUntilMillis: nil, lastError: nil, deliveredAtMillis: nil, eventMillis: nowMillis)
        return try await views.queuedWrite { txn in
            if try txn.get(Self.entriesTable, entry.key) != nil { return false }
            try txn.put(Self.entriesTable, entry.key, entry.encoded())
            try txn.put(Self.pendingTable, entry.key, [])
            return true
        }
    }

    /// Every entry, in log order.
    public func entries() throws -> [OutboxEntry] {
        try views.read { txn in
            var out: [OutboxEntry] = []
            try txn.scan(Self.entriesTable, prefix: []) { _, value in
                out.append(try OutboxEntry.decode(value))
                return true
            }
            return out
        }
    }

    /// The entries still to deliver, in log order.
    public func undelivered() throws -> [OutboxEntry] {
        try views.read { txn in
            var keys: [[UInt8]] = []
            try txn.scan(Self.pendingTable, prefix: []) { key, _ in
                keys.append(Array(key))
                return true
            }
            return try keys.compactMap { key in try txn.get(Self.entriesTable, key).map { try $0.withUnsafeBytes(OutboxEntry.decode) } }
        }
    }

    /// Changes one entry in a transaction of its own, on the view store's writer thread: `change` sees
    /// the stored entry and returns the new one, or `nil` to leave it. Returns what was stored.
    @discardableResult
    func update(_ key: [UInt8], _ change: @escaping @Sendable (OutboxEntry) -> OutboxEntry?) async throws -> OutboxEntry? {
        try await views.queuedWrite({ txn in
            guard let bytes = try txn.get(Self.entriesTable, key) else { return nil }
            guard var updated = change(try bytes.withUnsafeBytes(OutboxEntry.decode)) else { return nil }
            // A sign-in link is worth nothing after its one delivery: it is not kept beyond it.
            if updated.trigger == Self.signInLinkTrigger, updated.status == .delivered || updated.status == .failed {
                updated.body = ""
            }
            try txn.put(Self.entriesTable, key, updated.encoded())
            switch updated.status {
            case .pending, .sending:
                break
            case .delivered, .failed:
                // Off the pending list and, for a digest, onto the list of deliveries to record, in the
                // same commit: a crash cannot lose the record of a digest that went out.
                try txn.delete(Self.pendingTable, key)
                if updated.isDigest { try txn.put(Self.followupsTable, key, []) }
            }
            return updated
        })
    }

    func followups() throws -> [OutboxEntry] {
        try views.read { txn in
            var keys: [[UInt8]] = []
            try txn.scan(Self.followupsTable, prefix: []) { key, _ in
                keys.append(Array(key))
                return true
            }
            return try keys.compactMap { key in try txn.get(Self.entriesTable, key).map { try $0.withUnsafeBytes(OutboxEntry.decode) } }
        }
    }

    func removeFollowup(_ key: [UInt8]) async throws {
        try await views.queuedWrite({ txn in try txn.delete(Self.followupsTable, key) })
    }

    static func encode(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }

    static func decode(_ bytes: [UInt8]) -> UInt64 {
        bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }
}

import EventLog
import Foundation
import Messaging

/// What an operator does with the outbox: count and list its entries by state, send a refused mail
/// again, and queue a mail that no event derives (the console's sign-in link).
extension Outbox {
    /// The entries by state.
    public struct Counts: Sendable, Hashable, Codable {
        public var pending = 0
        public var sending = 0
        public var delivered = 0
        public var failed = 0
    }

    /// The trigger of a sign-in link mail: its body (the link) is dropped once it is delivered or refused.
    public static let signInLinkTrigger = "signInLink"

    /// Direct mails take log positions from this bit on, far beyond any log's, so their keys never
    /// meet those of derived entries and sort after them.
    static let directPositionBit: UInt64 = 1 << 63

    public func counts() throws -> Counts {
        var counts = Counts()
        for entry in try entries() {
            switch entry.status {
            case .pending: counts.pending += 1
            case .sending: counts.sending += 1
            case .delivered: counts.delivered += 1
            case .failed: counts.failed += 1
            }
        }
        return counts
    }

    /// The entries in these states, newest first, at most `limit`.
    public func entries(in states: Set<OutboxEntry.Status>, limit: Int = 200) throws -> [OutboxEntry] {
        Array(try entries().reversed().lazy.filter { states.contains($0.status) }.prefix(limit))
    }

    /// The entry with this id (`<position>.<index>`), `nil` when there is none.
    public func entry(id: String) throws -> OutboxEntry? {
        guard let key = Self.key(id: id) else { return nil }
        return try views.read { txn in
            try txn.get(Self.entriesTable, key).map { try $0.withUnsafeBytes(OutboxEntry.decode) }
        }
    }

    /// Puts a failed entry back on the pending list with its attempts reset, due at once: the sender
    /// picks it up on its next pass. Only a failed entry whose content is still there (not scrubbed by
    /// retention, not a spent sign-in link) can be sent again.
    public func resend(id: String, now: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) async throws -> ResendOutcome {
        guard let key = Self.key(id: id) else { return .notFound }
        return try await views.queuedWrite { txn in
            guard let bytes = try txn.get(Self.entriesTable, key) else { return .notFound }
            var entry = try bytes.withUnsafeBytes(OutboxEntry.decode)
            guard entry.status == .failed else { return .notFailed(entry.status) }
            guard entry.body != "" || entry.subject != "(purged)", entry.trigger != Self.signInLinkTrigger else {
                return .notResendable
            }
            entry.status = .pending
            entry.attempts = 0
            entry.nextAttemptMillis = now
            entry.claimedUntilMillis = nil
            try txn.put(Self.entriesTable, key, entry.encoded())
            try txn.put(Self.pendingTable, key, [])
            return .requeued(entry)
        }
    }

    public enum ResendOutcome: Sendable, Hashable {
        case requeued(OutboxEntry)
        case notFound
        /// Only a failed entry is sent again; a pending one is already on its way.
        case notFailed(OutboxEntry.Status)
        /// Its content is gone (purged thread, spent sign-in link).
        case notResendable
    }

    /// Queues a mail no event derives, due at once. Its key lies beyond every log position.
    public func enqueue(
        to: [String], subject: String, body: String, trigger: String, messageIDDomain: String,
        now: Int64 = Int64(Date().timeIntervalSince1970 * 1000)
    ) async throws -> OutboxEntry {
        try await views.queuedWrite { txn in
            var generator = SystemRandomNumberGenerator()
            var position: UInt64
            repeat {
                position =
                    Self.directPositionBit | (UInt64(max(now, 0)) << 12)
                    | UInt64.random(in: 0..<4096, using: &generator)
            } while try txn.get(Self.entriesTable, OutboxEntry.key(position: position, index: 0)) != nil
            let id = "\(position).0"
            let entry = OutboxEntry(
                id: id, position: position, index: 0, trigger: trigger, thread: nil, threads: [], digest: nil,
                to: to, cc: [], bcc: [], subject: subject, body: body,
                messageID: "<threadlog.\(id)@\(messageIDDomain)>", status: .pending, attempts: 0,
                nextAttemptMillis: now, claimedUntilMillis: nil, lastError: nil, deliveredAtMillis: nil,
                eventMillis: now)
            try txn.put(Self.entriesTable, entry.key, entry.encoded())
            try txn.put(Self.pendingTable, entry.key, [])
            return entry
        }
    }

    static func key(id: String) -> [UInt8]? {
        let parts = id.split(separator: ".")
        guard parts.count == 2, let position = UInt64(parts[0]), let index = UInt16(parts[1]) else { return nil }
        return OutboxEntry.key(position: position, index: Int(index))
    }
}

import Foundation
import Messaging

/// One mail in the outbox: rendered when derived, so a retry or a resend after a crash sends exactly
/// the same bytes under the same Message-ID.
public struct OutboxEntry: Codable, Sendable, Hashable {
    public enum Status: String, Codable, Sendable {
        /// Waiting for its next attempt.
        case pending
        /// A sender claimed it and is talking to the mail server.
        case sending
        /// The mail server took it.
        case delivered
        /// The mail server refused it for good (5xx); `lastError` says why.
        case failed
    }

    /// The daily digest an entry carries, so its delivery can be recorded as `digest.sent`.
    public struct DigestKey: Codable, Sendable, Hashable {
        public var user: UserID
        public var subject: Subject
        public var day: String
    }

    /// `<position>.<index>`: the log position of the event it was derived from, and its rank there.
    public var id: String
    public var position: UInt64
    public var index: Int
    /// The trigger (`threadOpened`, `messagePosted`, …) or `digest`.
    public var trigger: String
    public var thread: ThreadID?
    /// Every thread the mail tells about (a digest may name several): retention scrubs the mail when
    /// one of them is purged.
    public var threads: [ThreadID]
    public var digest: DigestKey?
    public var to: [String]
    public var cc: [String]
    public var bcc: [String]
    public var subject: String
    public var body: String
    /// Derived from the entry, so a duplicate after a crash is recognisable as the same mail.
    public var messageID: String
    public var status: Status
    public var attempts: Int
    public var nextAttemptMillis: Int64
    public var claimedUntilMillis: Int64?
    public var lastError: String?
    public var deliveredAtMillis: Int64?
    /// The time of the event it was derived from.
    public var eventMillis: Int64
    /// The recipient's reply address (when reply addresses are configured), sent as `Reply-To`: a mail to one
    /// user about one thread.
    public var replyTo: String? = nil

    static func key(position: UInt64, index: Int) -> [UInt8] {
        withUnsafeBytes(of: position.bigEndian, Array.init) + withUnsafeBytes(of: UInt16(index).bigEndian, Array.init)
    }

    var key: [UInt8] { Self.key(position: position, index: index) }

    public var isDigest: Bool { digest != nil }

    /// The mail without its content, after retention purged a thread it tells about; one still to send
    /// is not sent any more.
    func scrubbed() -> OutboxEntry {
        var entry = self
        entry.subject = "(purged)"
        entry.body = ""
        if status == .pending || status == .sending {
            entry.status = .failed
            entry.lastError = "a thread it tells about was purged before delivery"
            entry.claimedUntilMillis = nil
        }
        return entry
    }
}

/// A mail a rule or a digest produced, before it is numbered into the outbox.
struct MailDraft: Sendable, Hashable {
    var trigger: String
    var thread: ThreadID?
    var threads: [ThreadID]
    var digest: OutboxEntry.DigestKey?
    var to: [String]
    var cc: [String]
    var bcc: [String]
    var subject: String
    var body: String
    /// The one user the mail goes to, when replies by mail are on and it concerns a single thread.
    var replyUser: UserID? = nil
}

import Foundation

/// A daily digest was decided for a user and a subject: the mail is due. Appended with the command id
/// `digest:<user>:<kind>:<ref>:<day>`, so however many runs decide the same digest, the log holds it
/// once and exactly one outbox entry is derived from it.
public struct DigestScheduled: Codable, Sendable, Hashable {
    public var user: UserID
    public var subject: Subject
    /// The local calendar day `YYYY-MM-DD` the digest belongs to.
    public var day: String
    /// The threads of the subject with unread messages from the other side, in id order.
    public var threads: [ThreadID]
    /// Their unread messages from the other side, in total.
    public var unread: Int

    public init(user: UserID, subject: Subject, day: String, threads: [ThreadID], unread: Int) {
        self.user = user
        self.subject = subject
        self.day = day
        self.threads = threads
        self.unread = unread
    }
}

/// The digest mail was handed to the mail server (or refused by it for good, with the reason).
public struct DigestSent: Codable, Sendable, Hashable {
    public var user: UserID
    public var subject: Subject
    public var day: String
    /// The Message-ID of the mail, so a duplicate after a crash is recognisable.
    public var messageID: String
    /// Why the mail server refused the mail for good; `nil` when it took it.
    public var failure: String?

    public init(user: UserID, subject: Subject, day: String, messageID: String, failure: String? = nil) {
        self.user = user
        self.subject = subject
        self.day = day
        self.messageID = messageID
        self.failure = failure
    }
}

/// What a user's digest stream says: which digests were decided and which went out.
public struct DigestLedger: Sendable, Hashable {
    public struct Key: Sendable, Hashable {
        public var subject: Subject
        public var day: String

        public init(subject: Subject, day: String) {
            self.subject = subject
            self.day = day
        }
    }

    public var scheduled: [Key: DigestScheduled] = [:]
    public var sent: [Key: DigestSent] = [:]

    public init() {}

    public static func evolve(_ state: DigestLedger, _ recorded: Recorded<Event>) -> DigestLedger {
        var ledger = state
        switch recorded.event {
        case .digestScheduled(let e): ledger.scheduled[Key(subject: e.subject, day: e.day)] = e
        case .digestSent(let e): ledger.sent[Key(subject: e.subject, day: e.day)] = e
        case .partyCreated, .userCreated, .serviceTokenCreated, .userTokenReplaced, .serviceTokenRevoked,
            .structureCreated, .structureMemberAdded,
            .structureMemberRemoved, .categoryCreated, .settingsChanged, .threadOpened, .subjectClaimed,
            .ticketNumbered, .messagePosted, .readMarkerMoved, .handlerAssigned, .threadStatusChanged,
            .threadBlocked, .threadUnblocked, .messageKindChanged, .categoryRetentionSet, .legalHoldPlaced, .legalHoldReleased,
            .threadPurged, .blobUploaded, .subjectDeclared, .threadAttributesChanged, .notePosted, .userUpdated,
            .userDeactivated:
            break
        }
        return ledger
    }

    public static func fold(_ records: some Sequence<Recorded<Event>>) -> DigestLedger {
        records.reduce(DigestLedger(), evolve)
    }
}

extension DigestScheduled {
    /// The command id that makes deciding this digest idempotent across runs and processes.
    public static func commandID(user: UserID, subject: Subject, day: String) -> String {
        "digest:\(user.rawValue):\(subject.kind):\(subject.ref):\(day)"
    }

    /// Whether `day` is a calendar date written `YYYY-MM-DD`.
    public static func isValidDay(_ day: String) -> Bool {
        let parts = day.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let month = Int(parts[1]), let date = Int(parts[2])
        else { return false }
        return (1...12).contains(month) && (1...31).contains(date)
    }
}

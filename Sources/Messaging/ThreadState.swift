import Foundation

public struct PostedMessage: Codable, Sendable, Hashable {
    public var number: Int
    public var author: UserID
    public var kind: MessageKind
    public var format: MessageFormat
    public var text: String
    public var attachments: [Attachment]
    public var timeMillis: Int64
    /// Global log position: compared with structure join positions for visibility.
    public var position: UInt64
    public var concerning: Concerning? = nil
    public var template: String? = nil

    /// Stable id of the message for the outside contract.
    public func id(in thread: ThreadID) -> String { "\(thread.rawValue)/\(number)" }
}

/// A note of the internal side on a thread.
public struct PostedNote: Codable, Sendable, Hashable {
    public var number: Int
    public var author: UserID
    public var text: String
    public var timeMillis: Int64
    public var position: UInt64

    public init(number: Int, author: UserID, text: String, timeMillis: Int64, position: UInt64) {
        self.number = number
        self.author = author
        self.text = text
        self.timeMillis = timeMillis
        self.position = position
    }
}

/// A thread as folded from its own stream.
public struct ThreadState: Codable, Sendable, Hashable {
    public var id: ThreadID
    public var subject: Subject
    public var title: String
    public var category: CategoryID?
    public var priority: Priority
    public var type: ThreadType
    public var importance: Importance
    public var openedBy: UserID
    public var openedAtMillis: Int64
    public var openedAtPosition: UInt64
    /// In the order they were named, without repeats.
    public var participants: [UserID]
    public var structures: [StructureID]
    public var status: ThreadStatus
    public var handler: UserID?
    public var blocked: Bool
    public var messages: [PostedMessage]
    /// The number of the last message each user has read.
    public var readMarkers: [UserID: Int]
    /// Time of the last change other than a read marker; drives inbox order and retention.
    public var lastActivityMillis: Int64
    public var lastPosition: UInt64
    /// Version of the thread's stream after the last folded event.
    public var version: UInt64
    /// A legal hold suspends purging.
    public var legalHold: Bool = false
    /// When retention purged the thread; its content is gone from then on.
    public var purgedAtMillis: Int64? = nil
    /// The position at which an outside answer moved the thread from `waiting` back to `open`, until
    /// a handler acts on it (assigns, changes status or attributes, blocks); an internal answer after
    /// it also ends the "answered by customer" mark (`Access.answeredByCustomer`).
    public var answeredAtPosition: UInt64? = nil
    /// Notes of the internal side, in order; never shown to outside readers.
    public var notes: [PostedNote] = []
    /// Handler roles added to this thread when it was opened, besides its category's.
    public var roles: [Role] = []

    public var isPurged: Bool { purgedAtMillis != nil }

    public var messageCount: Int { messages.count }

    /// The human number of a numbered kind (`TT8` for a ticket), `nil` for other kinds.
    public var number: String? {
        switch SubjectRule(kind: subject.kind) {
        case .numbered: subject.ref
        case .onePerSubject, .free: nil
        }
    }

    public func readMarker(of user: UserID) -> Int { readMarkers[user] ?? 0 }
}

/// The claim on a one-thread-per-subject subject, folded from `subject-<kind>-<ref>`.
public struct SubjectClaim: Sendable, Hashable {
    public var subject: Subject
    public var thread: ThreadID
}

/// The ticket counter, folded from `tickets`.
public struct TicketCounter: Sendable, Hashable {
    public var lastNumber: Int = 0

    public init(lastNumber: Int = 0) { self.lastNumber = lastNumber }
}

import EventLog
import Messaging
import Projections

// What the read side answers: plain values. Their property names are the outside contract's field
// names; how they are written as JSON is the HTTP layer's (HTTPAPI's DTOs+Read.swift). The read
// models behind them live in Projections.

public struct SubjectDTO: Sendable, Hashable {
    public var kind: String
    public var ref: String
    public init(kind: String, ref: String) {
        self.kind = kind
        self.ref = ref
    }
}

/// What every answer about a thread says of it, once: the thread of `GET /v1/threads/{id}` and of
/// a write's answer (``ThreadDetail``) and each row of `GET /v1/inbox` (``InboxItem``) carry it (on the
/// wire, its fields flattened into theirs).
public struct ThreadSummary: Sendable, Hashable {
    public var id: String
    /// The human number of numbered kinds (`TT5`); in the inbox, the subject's ref for the others.
    public var number: String?
    public var subject: SubjectDTO
    public var title: String
    public var status: String
    public var priority: String
    public var type: String
    public var importance: String
    public var category: String?
    /// Absent when the display policy hides the (internal) handler from the reader.
    public var handler: String?
    /// The messages the reader may see.
    public var messageCount: Int
    /// ISO 8601 time of the last message or change.
    public var lastActivity: String
    /// Absent when the display policy hides the (internal) opener from the reader.
    public var openedBy: String?
    /// The outside party answered while the thread waited on them, and no handler has acted since.
    public var answeredByCustomer: Bool

    public init(
        id: String, number: String?, subject: SubjectDTO, title: String, status: String, priority: String,
        type: String, importance: String, category: String?, handler: String?, messageCount: Int,
        lastActivity: String, openedBy: String?, answeredByCustomer: Bool
    ) {
        self.id = id
        self.number = number
        self.subject = subject
        self.title = title
        self.status = status
        self.priority = priority
        self.type = type
        self.importance = importance
        self.category = category
        self.handler = handler
        self.messageCount = messageCount
        self.lastActivity = lastActivity
        self.openedBy = openedBy
        self.answeredByCustomer = answeredByCustomer
    }
}

/// A thread as its own page and the write answers show it: the summary, and who and what it involves.
@dynamicMemberLookup
public struct ThreadDetail: Sendable, Hashable {
    public var summary: ThreadSummary
    public var blocked: Bool
    public var participants: [String]
    public var structures: [String]

    public init(summary: ThreadSummary, blocked: Bool, participants: [String], structures: [String]) {
        self.summary = summary
        self.blocked = blocked
        self.participants = participants
        self.structures = structures
    }

    public subscript<T>(dynamicMember keyPath: WritableKeyPath<ThreadSummary, T>) -> T {
        get { summary[keyPath: keyPath] }
        set { summary[keyPath: keyPath] = newValue }
    }
}

public struct AuthorDTO: Sendable, Hashable {
    /// Absent when the display policy hides who wrote it.
    public var id: String?
    public var name: String?
    public init(id: String?, name: String?) {
        self.id = id
        self.name = name
    }
}

public struct MessageDTO: Sendable, Hashable {
    public var id: String
    public var number: Int
    public var author: AuthorDTO
    public var time: String
    public var body: String
    public var kind: String
    public var format: String
    public var attachments: [Attachment]
    /// The person or company the message is about; absent when it names none.
    public var concerning: Concerning?
    /// The message template the text was made from; absent when none.
    public var template: String?
    public init(
        id: String, number: Int, author: AuthorDTO, time: String, body: String, kind: String, format: String,
        attachments: [Attachment], concerning: Concerning? = nil, template: String? = nil
    ) {
        self.id = id
        self.number = number
        self.author = author
        self.time = time
        self.body = body
        self.kind = kind
        self.format = format
        self.attachments = attachments
        self.concerning = concerning
        self.template = template
    }

    /// A message of `thread` with its author as `reader` sees them (the display policy applied).
    public init(_ message: PostedMessage, of thread: ThreadState, for reader: UserID, in directory: Directory) {
        let author = Access.authorDisplay(author: message.author, reader: reader, thread: thread, in: directory)
        self.init(
            id: message.id(in: thread.id), number: message.number,
            author: AuthorDTO(id: author.id?.rawValue, name: author.name),
            time: ISOTime.format(millis: message.timeMillis), body: message.text, kind: message.kind.rawValue,
            format: message.format.rawValue, attachments: message.attachments, concerning: message.concerning,
            template: message.template)
    }
}

public struct ContactDTO: Sendable, Hashable {
    /// Absent for internal users the display policy hides from the reader (`name` is then the
    /// workgroup's or the policy's text).
    public var id: String?
    public var name: String
    public var party: String
    public var `internal`: Bool
    public init(id: String?, name: String, party: String, internal: Bool) {
        self.id = id
        self.name = name
        self.party = party
        self.internal = `internal`
    }
}

/// `GET /v1/threads/{id}`.
public struct ThreadView: Sendable, Hashable {
    public var thread: ThreadDetail
    public var messages: [MessageDTO]
    public var contacts: [ContactDTO]
    public var unread: Int
    /// The internal side's notes; absent (not empty) for outside readers.
    public var notes: [NoteDTO]?
    /// Which of the visible messages `messages` holds, when the view was asked for a window of them.
    public var page: MessagePage?
    public init(
        thread: ThreadDetail, messages: [MessageDTO], contacts: [ContactDTO], unread: Int, notes: [NoteDTO]? = nil,
        page: MessagePage? = nil
    ) {
        self.thread = thread
        self.messages = messages
        self.contacts = contacts
        self.unread = unread
        self.notes = notes
        self.page = page
    }
}

/// Which of a thread's visible messages a thread view holds: the newest `limit` (no bound), the newest
/// `limit` numbered below `before`, or the oldest `limit` numbered above `after`; always oldest first.
public struct MessageWindow: Sendable, Hashable {
    public static let defaultLimit = 100
    public static let maxLimit = 200
    public var limit: Int
    public var before: Int?
    public var after: Int?
    public init(limit: Int = MessageWindow.defaultLimit, before: Int? = nil, after: Int? = nil) {
        self.limit = limit
        self.before = before
        self.after = after
    }
}

/// The window a thread view answered with, and the cursors of its neighbours.
public struct MessagePage: Sendable, Hashable {
    public var limit: Int
    /// Visible messages older than the first one answered exist; fetch them with `before`.
    public var hasOlder: Bool
    /// Visible messages newer than the last one answered exist; fetch them with `after`.
    public var hasNewer: Bool
    /// Pass as `before` for the previous (older) page; absent when there is none.
    public var before: Int?
    /// Pass as `after` for the next (newer) page; absent when there is none.
    public var after: Int?
    public init(limit: Int, hasOlder: Bool, hasNewer: Bool, before: Int?, after: Int?) {
        self.limit = limit
        self.hasOlder = hasOlder
        self.hasNewer = hasNewer
        self.before = before
        self.after = after
    }
}

/// A note of the internal side, as internal readers see it.
public struct NoteDTO: Sendable, Hashable {
    public var number: Int
    public var author: AuthorDTO
    public var time: String
    public var body: String
    public init(number: Int, author: AuthorDTO, time: String, body: String) {
        self.number = number
        self.author = author
        self.time = time
        self.body = body
    }
}

/// One row of `GET /v1/inbox`: enough for a ticket list without a request per row.
@dynamicMemberLookup
public struct InboxItem: Sendable, Hashable {
    /// `number` is the ticket number of numbered kinds, else the subject's ref.
    public var summary: ThreadSummary
    /// The handler as the display policy shows them to the reader (a workgroup's name, say).
    public var handlerName: String?
    public var openedByName: String?
    public var unread: Int

    public init(summary: ThreadSummary, handlerName: String?, openedByName: String?, unread: Int) {
        self.summary = summary
        self.handlerName = handlerName
        self.openedByName = openedByName
        self.unread = unread
    }

    public subscript<T>(dynamicMember keyPath: WritableKeyPath<ThreadSummary, T>) -> T {
        get { summary[keyPath: keyPath] }
        set { summary[keyPath: keyPath] = newValue }
    }
}

extension InboxItem {
    /// The item `reader` sees for an inbox row, with the display policy applied to handler and opener.
    public init(_ row: InboxRow, for reader: UserID, in directory: Directory) {
        func shown(_ user: UserID?) -> (id: String?, name: String?) {
            guard let user else { return (nil, nil) }
            let display = Access.authorDisplay(
                author: user, reader: reader, threadStructures: row.structures, in: directory)
            return (display.id?.rawValue, display.name)
        }
        let handler = shown(row.handler)
        let opener = shown(row.openedBy)
        self.init(
            summary: ThreadSummary(
                id: row.thread.rawValue, number: row.number ?? row.subject.ref,
                subject: SubjectDTO(kind: row.subject.kind, ref: row.subject.ref), title: row.title,
                status: row.status.rawValue, priority: row.priority.rawValue, type: row.type.rawValue,
                importance: row.importance.rawValue, category: row.category?.rawValue, handler: handler.id,
                messageCount: row.messageCount, lastActivity: ISOTime.format(millis: row.lastActivityMillis),
                openedBy: opener.id, answeredByCustomer: row.answeredByCustomer),
            handlerName: handler.name, openedByName: opener.name, unread: row.unread)
    }
}

/// `GET /v1/inbox`.
public struct InboxPage: Sendable, Hashable {
    public var items: [InboxItem]
    /// Pass back as `cursor` for the next page; `nil` on the last page.
    public var nextCursor: String?
    public init(items: [InboxItem], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

/// The filters of `GET /v1/inbox`; `nil` means "any".
public struct InboxQuery: Sendable, Hashable {
    public var status: String?
    public var priority: String?
    public var type: String?
    public var category: String?
    /// The party of the thread's opener.
    public var party: String?
    public var handler: String?
    /// `kind` or `kind:ref`.
    public var subject: String?
    /// Case-insensitive text that the title, ticket number, subject ref, a message body the reader
    /// may see, or the opener's or handler's name as the display policy shows them contains.
    public var text: String?
    public var unreadOnly: Bool
    /// `true`: only threads answered by the customer; `false`: only the others.
    public var answeredByCustomer: Bool?
    public var limit: Int
    public var cursor: String?
    /// The order of the items; a sorted inbox (anything but the default `lastActivity`, descending)
    /// pages with offset cursors.
    public var sort: InboxSort = .lastActivity
    public var ascending = false
    /// Only threads with a message of this kind that the reader may see (`task`: threads with tasks).
    public var kind: MessageKind? = nil

    public init(
        status: String? = nil, priority: String? = nil, type: String? = nil, category: String? = nil,
        party: String? = nil, handler: String? = nil, subject: String? = nil, text: String? = nil,
        unreadOnly: Bool = false, limit: Int = 50, cursor: String? = nil
    ) {
        self.status = status
        self.priority = priority
        self.type = type
        self.category = category
        self.party = party
        self.handler = handler
        self.subject = subject
        self.text = text
        self.unreadOnly = unreadOnly
        self.limit = limit
        self.cursor = cursor
    }
}

/// What `GET /v1/inbox?sort=` orders by; ties go newest activity first, then by thread id.
public enum InboxSort: String, Sendable, Hashable, CaseIterable {
    case lastActivity, number, status, priority
}

public struct UnreadThread: Sendable, Hashable {
    public var id: String
    public var unread: Int
    public init(id: String, unread: Int) {
        self.id = id
        self.unread = unread
    }
}

/// `GET /v1/unread`.
public struct UnreadSummary: Sendable, Hashable {
    public var total: Int
    public var threads: [UnreadThread]
    public init(total: Int, threads: [UnreadThread]) {
        self.total = total
        self.threads = threads
    }
}

/// The read side. Every call may pass `minPosition`: it waits (bounded) until the read models have
/// reached that log position, so a caller always sees its own writes. A thread the reader may not see
/// throws `DomainError.threadNotFound`, exactly like a thread that does not exist.
public protocol ReadQueries: Sendable {
    /// The thread with a window of its messages (`nil`: all of them, for the console).
    func threadView(_ id: ThreadID, reader: UserID, window: MessageWindow?, minPosition: UInt64) async throws
        -> ThreadView
    func inbox(_ query: InboxQuery, reader: UserID, minPosition: UInt64) async throws -> InboxPage
    func unread(reader: UserID, minPosition: UInt64) async throws -> UnreadSummary
}

extension ReadQueries {
    /// The thread with all its visible messages.
    public func threadView(_ id: ThreadID, reader: UserID, minPosition: UInt64) async throws -> ThreadView {
        try await threadView(id, reader: reader, window: nil, minPosition: minPosition)
    }
}

import Messaging

/// One thread in one user's inbox: what the inbox shows and filters on.
public struct InboxRow: Codable, Sendable, Hashable {
    public var thread: ThreadID
    public var number: String?
    public var subject: Subject
    public var title: String
    public var status: ThreadStatus
    public var priority: Priority
    public var type: ThreadType
    public var importance: Importance
    public var category: CategoryID?
    public var handler: UserID?
    public var openedBy: UserID
    /// The thread's structures: the display policy's workgroup names come from them.
    public var structures: [StructureID]
    /// The party of the user who opened the thread.
    public var party: PartyID?
    /// The messages this row's user may see.
    public var messageCount: Int
    public var answeredByCustomer: Bool
    public var unread: Int
    public var lastActivityMillis: Int64

    public init(
        thread: ThreadID, number: String?, subject: Subject, title: String, status: ThreadStatus, priority: Priority,
        type: ThreadType, importance: Importance, category: CategoryID?, handler: UserID?, openedBy: UserID,
        structures: [StructureID], party: PartyID?, messageCount: Int, answeredByCustomer: Bool, unread: Int, lastActivityMillis: Int64
    ) {
        self.thread = thread
        self.number = number
        self.subject = subject
        self.title = title
        self.status = status
        self.priority = priority
        self.type = type
        self.importance = importance
        self.category = category
        self.handler = handler
        self.openedBy = openedBy
        self.structures = structures
        self.party = party
        self.messageCount = messageCount
        self.answeredByCustomer = answeredByCustomer
        self.unread = unread
        self.lastActivityMillis = lastActivityMillis
    }

    /// `unread` when the caller counted it already (see `Access.unreadTally`).
    public init(thread: ThreadState, for user: UserID, in directory: Directory, unread: Int? = nil) {
        self.thread = thread.id
        number = thread.number
        subject = thread.subject
        title = thread.title
        status = thread.status
        priority = thread.priority
        type = thread.type
        importance = thread.importance
        category = thread.category
        handler = thread.handler
        openedBy = thread.openedBy
        structures = thread.structures
        party = directory.users[thread.openedBy]?.party
        messageCount = Access.visibleMessageCount(of: thread, for: user, in: directory)
        answeredByCustomer = Access.answeredByCustomer(thread, in: directory)
        self.unread = unread ?? Access.unreadCount(of: thread, for: user, in: directory)
        lastActivityMillis = thread.lastActivityMillis
    }
}

/// Who holds inbox rows for a thread, and under which activity time.
public struct AudienceRow: Codable, Sendable, Hashable {
    public var activityMillis: Int64
    public var users: [UserID]

    public init(activityMillis: Int64, users: [UserID]) {
        self.activityMillis = activityMillis
        self.users = users
    }
}

/// A category's own retention period, overriding the deployment's.
public struct CategoryRetentionSet: Codable, Sendable, Hashable {
    public var category: CategoryID
    /// Days after a thread's last activity; `nil` returns to the deployment's period.
    public var days: Int?

    public init(category: CategoryID, days: Int?) {
        self.category = category
        self.days = days
    }
}

/// A legal hold: the thread is not purged, whatever its age, until the hold is released.
public struct LegalHoldPlaced: Codable, Sendable, Hashable {
    public var thread: ThreadID
    public var reason: String

    public init(thread: ThreadID, reason: String) {
        self.thread = thread
        self.reason = reason
    }
}

public struct LegalHoldReleased: Codable, Sendable, Hashable {
    public var thread: ThreadID

    public init(thread: ThreadID) { self.thread = thread }
}

/// The thread's texts, titles and attachments were destroyed. Who and when are the envelope's actor and
/// time; this event itself stays in the log as the audit trail.
public struct ThreadPurged: Codable, Sendable, Hashable {
    public var thread: ThreadID
    /// Kept so the audit trail still says what the thread was about, and who could see it, once its
    /// other payloads are gone: identifiers only, no content.
    public var subject: Subject
    public var category: CategoryID?
    public var openedBy: UserID
    public var participants: [UserID]
    public var structures: [StructureID]
    public var reason: String
    /// The SHA-256 digests of the thread's attachments (sorted, unique), since v2: every node deletes
    /// its own copies of these files once the purge reaches it, which it cannot learn from the log after
    /// the payloads are erased. A v1 purge upcasts to none.
    public var attachments: [String]
    /// The handler roles added to the thread when it was opened (`nil`: none), since v2: their holders
    /// still learn that the thread was purged (410), like its category's handlers.
    public var roles: [Role]?

    public init(
        thread: ThreadID, subject: Subject, category: CategoryID?, openedBy: UserID, participants: [UserID],
        structures: [StructureID], reason: String, attachments: [String] = [], roles: [Role]? = nil
    ) {
        self.thread = thread
        self.subject = subject
        self.category = category
        self.openedBy = openedBy
        self.participants = participants
        self.structures = structures
        self.reason = reason
        self.attachments = attachments
        self.roles = roles
    }
}

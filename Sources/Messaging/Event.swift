import Foundation

/// Every fact the domain records. The payloads are the JSON `data` of the envelope; their shapes are
/// frozen per schema version (see `Schemas/`).
public enum Event: Sendable, Hashable {
    case partyCreated(PartyCreated)
    case userCreated(UserCreated)
    case serviceTokenCreated(ServiceTokenCreated)
    case structureCreated(StructureCreated)
    case structureMemberAdded(StructureMemberAdded)
    case structureMemberRemoved(StructureMemberRemoved)
    case categoryCreated(CategoryCreated)
    case settingsChanged(SettingsPatch)
    case threadOpened(ThreadOpened)
    case subjectClaimed(SubjectClaimed)
    case ticketNumbered(TicketNumbered)
    case messagePosted(MessagePosted)
    case readMarkerMoved(ReadMarkerMoved)
    case handlerAssigned(HandlerAssigned)
    case threadStatusChanged(ThreadStatusChanged)
    case threadBlocked(ThreadBlocked)
    case threadUnblocked(ThreadUnblocked)
    case categoryRetentionSet(CategoryRetentionSet)
    case legalHoldPlaced(LegalHoldPlaced)
    case legalHoldReleased(LegalHoldReleased)
    case threadPurged(ThreadPurged)
    case digestScheduled(DigestScheduled)
    case digestSent(DigestSent)
    case userTokenReplaced(UserTokenReplaced)
    case serviceTokenRevoked(ServiceTokenRevoked)
    case blobUploaded(BlobUploaded)
    case subjectDeclared(SubjectDeclared)
    case threadAttributesChanged(ThreadAttributesChanged)
    case notePosted(NotePosted)
    case userUpdated(UserUpdated)
    case userDeactivated(UserDeactivated)
    case messageKindChanged(MessageKindChanged)
}

/// The `type` strings of the envelope. New types are added here; a type is never renamed.
public enum EventType: String, Sendable, CaseIterable, Codable {
    case partyCreated = "party.created"
    case userCreated = "user.created"
    case serviceTokenCreated = "service.token_created"
    case structureCreated = "structure.created"
    case structureMemberAdded = "structure.member_added"
    case structureMemberRemoved = "structure.member_removed"
    case categoryCreated = "category.created"
    case settingsChanged = "settings.changed"
    case threadOpened = "thread.opened"
    case subjectClaimed = "subject.claimed"
    case ticketNumbered = "ticket.numbered"
    case messagePosted = "message.posted"
    case readMarkerMoved = "read_marker.moved"
    case handlerAssigned = "handler.assigned"
    case threadStatusChanged = "thread.status_changed"
    case threadBlocked = "thread.blocked"
    case threadUnblocked = "thread.unblocked"
    case categoryRetentionSet = "category.retention_set"
    case legalHoldPlaced = "thread.legal_hold_placed"
    case legalHoldReleased = "thread.legal_hold_released"
    case threadPurged = "thread.purged"
    case digestScheduled = "digest.scheduled"
    case digestSent = "digest.sent"
    case userTokenReplaced = "user.token_replaced"
    case serviceTokenRevoked = "service.token_revoked"
    case blobUploaded = "blob.uploaded"
    case subjectDeclared = "subject.declared"
    case threadAttributesChanged = "thread.attributes_changed"
    case userUpdated = "user.updated"
    case userDeactivated = "user.deactivated"
    case notePosted = "note.posted"
    case messageKindChanged = "message.kind_changed"

    /// The version the encoder writes; older versions are read through upcasters.
    public var latestSchemaVersion: UInt16 {
        switch self {
        case .settingsChanged, .messagePosted: 3
        case .threadStatusChanged, .threadOpened, .threadPurged: 2
        case .partyCreated, .userCreated, .serviceTokenCreated, .userTokenReplaced, .serviceTokenRevoked,
            .structureCreated, .structureMemberAdded,
            .structureMemberRemoved, .categoryCreated, .subjectClaimed,
            .ticketNumbered, .readMarkerMoved, .handlerAssigned, .threadBlocked,
            .threadUnblocked, .messageKindChanged, .categoryRetentionSet, .legalHoldPlaced, .legalHoldReleased,
            .digestScheduled, .digestSent, .blobUploaded, .subjectDeclared, .threadAttributesChanged, .notePosted,
            .userUpdated, .userDeactivated:
            1
        }
    }

    /// Directory events describe who exists and who belongs where; the directory fold reads only these.
    public var isDirectory: Bool {
        switch self {
        case .partyCreated, .userCreated, .serviceTokenCreated, .userTokenReplaced, .serviceTokenRevoked,
            .structureCreated, .structureMemberAdded,
            .structureMemberRemoved, .categoryCreated, .settingsChanged, .categoryRetentionSet, .subjectDeclared,
            .userUpdated, .userDeactivated:
            true
        case .threadOpened, .subjectClaimed, .ticketNumbered, .messagePosted, .readMarkerMoved,
            .handlerAssigned,
            .threadStatusChanged, .threadBlocked, .threadUnblocked, .messageKindChanged, .legalHoldPlaced, .legalHoldReleased, .threadPurged,
            .digestScheduled, .digestSent, .blobUploaded, .threadAttributesChanged, .notePosted:
            false
        }
    }
}

extension Event {
    public var type: EventType {
        switch self {
        case .partyCreated: .partyCreated
        case .userCreated: .userCreated
        case .serviceTokenCreated: .serviceTokenCreated
        case .userTokenReplaced: .userTokenReplaced
        case .serviceTokenRevoked: .serviceTokenRevoked
        case .structureCreated: .structureCreated
        case .structureMemberAdded: .structureMemberAdded
        case .structureMemberRemoved: .structureMemberRemoved
        case .categoryCreated: .categoryCreated
        case .settingsChanged: .settingsChanged
        case .threadOpened: .threadOpened
        case .subjectClaimed: .subjectClaimed
        case .ticketNumbered: .ticketNumbered
        case .messagePosted: .messagePosted
        case .readMarkerMoved: .readMarkerMoved
        case .handlerAssigned: .handlerAssigned
        case .threadStatusChanged: .threadStatusChanged
        case .threadBlocked: .threadBlocked
        case .threadUnblocked: .threadUnblocked
        case .categoryRetentionSet: .categoryRetentionSet
        case .legalHoldPlaced: .legalHoldPlaced
        case .legalHoldReleased: .legalHoldReleased
        case .threadPurged: .threadPurged
        case .digestScheduled: .digestScheduled
        case .digestSent: .digestSent
        case .blobUploaded: .blobUploaded
        case .subjectDeclared: .subjectDeclared
        case .threadAttributesChanged: .threadAttributesChanged
        case .notePosted: .notePosted
        case .userUpdated: .userUpdated
        case .userDeactivated: .userDeactivated
        case .messageKindChanged: .messageKindChanged
        }
    }
}

// MARK: - Directory payloads

public struct PartyCreated: Codable, Sendable, Hashable {
    public var id: PartyID
    public var name: String
    public var kind: PartyKind

    public init(id: PartyID, name: String, kind: PartyKind) {
        self.id = id
        self.name = name
        self.kind = kind
    }
}

public struct UserCreated: Codable, Sendable, Hashable {
    public var id: UserID
    public var name: String
    public var email: String
    public var party: PartyID
    public var roles: [Role]
    /// Lowercase hex SHA-256 of the bearer token; the token itself is never recorded.
    public var tokenHash: String

    public init(
        id: UserID, name: String, email: String, party: PartyID, roles: [Role], tokenHash: String
    ) {
        self.id = id
        self.name = name
        self.email = email
        self.party = party
        self.roles = roles
        self.tokenHash = tokenHash
    }
}

public struct ServiceTokenCreated: Codable, Sendable, Hashable {
    public var id: ServiceID
    public var name: String
    public var tokenHash: String

    public init(id: ServiceID, name: String, tokenHash: String) {
        self.id = id
        self.name = name
        self.tokenHash = tokenHash
    }
}

/// A user's bearer token replaced by a new one; the old token stops working.
public struct UserTokenReplaced: Codable, Sendable, Hashable {
    public var id: UserID
    public var tokenHash: String

    public init(id: UserID, tokenHash: String) {
        self.id = id
        self.tokenHash = tokenHash
    }
}

/// A user's name, e-mail and roles from now on. Messages keep their author; what readers see of the
/// name follows the directory as it is.
public struct UserUpdated: Codable, Sendable, Hashable {
    public var id: UserID
    public var name: String
    public var email: String
    public var roles: [Role]

    public init(id: UserID, name: String, email: String, roles: [Role]) {
        self.id = id
        self.name = name
        self.email = email
        self.roles = roles
    }
}

/// A user who no longer works with the deployment: their token stops working, they get no mail, are
/// assigned nothing, and their name stays on what they wrote.
public struct UserDeactivated: Codable, Sendable, Hashable {
    public var id: UserID

    public init(id: UserID) { self.id = id }
}

/// A service principal's token revoked; the principal reads the event stream no more.
public struct ServiceTokenRevoked: Codable, Sendable, Hashable {
    public var id: ServiceID

    public init(id: ServiceID) {
        self.id = id
    }
}

public struct StructureCreated: Codable, Sendable, Hashable {
    public var id: StructureID
    public var name: String
    public var party: PartyID
    public var shareHistory: Bool

    public init(id: StructureID, name: String, party: PartyID, shareHistory: Bool) {
        self.id = id
        self.name = name
        self.party = party
        self.shareHistory = shareHistory
    }
}

/// The member sees the structure's threads from this event's log position on.
public struct StructureMemberAdded: Codable, Sendable, Hashable {
    public var structure: StructureID
    public var user: UserID

    public init(structure: StructureID, user: UserID) {
        self.structure = structure
        self.user = user
    }
}

public struct StructureMemberRemoved: Codable, Sendable, Hashable {
    public var structure: StructureID
    public var user: UserID

    public init(structure: StructureID, user: UserID) {
        self.structure = structure
        self.user = user
    }
}

public struct CategoryCreated: Codable, Sendable, Hashable {
    public var id: CategoryID
    public var name: String
    public var handlerRoles: [Role]
    public var structures: [StructureID]
    public var defaultRecipients: [UserID]

    public init(
        id: CategoryID, name: String, handlerRoles: [Role], structures: [StructureID],
        defaultRecipients: [UserID]
    ) {
        self.id = id
        self.name = name
        self.handlerRoles = handlerRoles
        self.structures = structures
        self.defaultRecipients = defaultRecipients
    }
}

// MARK: - Thread payloads

public struct ThreadOpened: Codable, Sendable, Hashable {
    public var thread: ThreadID
    /// For tickets the ref is the generated number (`TT7`).
    public var subject: Subject
    public var title: String
    public var category: CategoryID?
    public var priority: Priority
    public var type: ThreadType
    public var importance: Importance
    public var openedBy: UserID
    /// The opener, the named participants and the category's default recipients.
    public var participants: [UserID]
    /// The named structures and the category's structures.
    public var structures: [StructureID]
    /// Handler roles the opener gave access to this thread besides its category's (or the default
    /// ones); absent when none (since schema version 2).
    public var roles: [Role]?

    public init(
        thread: ThreadID, subject: Subject, title: String, category: CategoryID?, priority: Priority,
        type: ThreadType, importance: Importance, openedBy: UserID, participants: [UserID],
        structures: [StructureID], roles: [Role]? = nil
    ) {
        self.thread = thread
        self.subject = subject
        self.title = title
        self.category = category
        self.priority = priority
        self.type = type
        self.importance = importance
        self.openedBy = openedBy
        self.participants = participants
        self.structures = structures
        self.roles = roles
    }
}

/// Written to the subject's own stream with "no stream" expected, so two concurrent opens of a
/// one-thread-per-subject kind cannot both succeed.
public struct SubjectClaimed: Codable, Sendable, Hashable {
    public var subject: Subject
    public var thread: ThreadID

    public init(subject: Subject, thread: ThreadID) {
        self.subject = subject
        self.thread = thread
    }
}

/// Written to the `tickets` stream, whose version is therefore the last number handed out.
public struct TicketNumbered: Codable, Sendable, Hashable {
    public var number: Int
    public var thread: ThreadID

    public init(number: Int, thread: ThreadID) {
        self.number = number
        self.thread = thread
    }
}

/// Schema version 2 added `format` (version 1 payloads are read as `plain`); version 3 the optional
/// `concerning` and `template` (absent before).
public struct MessagePosted: Codable, Sendable, Hashable {
    public var thread: ThreadID
    /// 1 for the first message of the thread, then consecutive.
    public var number: Int
    public var author: UserID
    public var kind: MessageKind
    public var format: MessageFormat
    public var text: String
    public var attachments: [Attachment]
    /// The person or company the message is about.
    public var concerning: Concerning?
    /// The name of the message template the text was made from (one of the settings' at the time).
    public var template: String?

    public init(
        thread: ThreadID, number: Int, author: UserID, kind: MessageKind = .message,
        format: MessageFormat = .plain,
        text: String, attachments: [Attachment] = [], concerning: Concerning? = nil, template: String? = nil
    ) {
        self.thread = thread
        self.number = number
        self.author = author
        self.kind = kind
        self.format = format
        self.text = text
        self.attachments = attachments
        self.concerning = concerning
        self.template = template
    }
}

public struct ReadMarkerMoved: Codable, Sendable, Hashable {
    public var thread: ThreadID
    public var user: UserID
    /// The number of the last message the user has read.
    public var upTo: Int

    public init(thread: ThreadID, user: UserID, upTo: Int) {
        self.thread = thread
        self.user = user
        self.upTo = upTo
    }
}

public struct HandlerAssigned: Codable, Sendable, Hashable {
    public var thread: ThreadID
    public var handler: UserID

    public init(thread: ThreadID, handler: UserID) {
        self.thread = thread
        self.handler = handler
    }
}

public struct ThreadStatusChanged: Codable, Sendable, Hashable {
    public var thread: ThreadID
    public var from: ThreadStatus
    public var to: ThreadStatus
    public var reason: StatusChangeReason

    public init(thread: ThreadID, from: ThreadStatus, to: ThreadStatus, reason: StatusChangeReason) {
        self.thread = thread
        self.from = from
        self.to = to
        self.reason = reason
    }
}

/// A handler changed how a thread is classified after it was opened: every field holds the value
/// from now on. A new category also brings its structures and default recipients, as opening in it
/// would have (`structuresAdded`, `participantsAdded`: only those the thread did not have).
/// A note on a thread that only the internal side sees: never in an outside reader's view, counts,
/// unread, feed or mail. Numbered apart from the messages (1, 2, …), so the messages' numbers show
/// no gaps to outside readers.
public struct NotePosted: Codable, Sendable, Hashable {
    public var thread: ThreadID
    public var number: Int
    public var author: UserID
    public var text: String

    public init(thread: ThreadID, number: Int, author: UserID, text: String) {
        self.thread = thread
        self.number = number
        self.author = author
        self.text = text
    }
}

public struct ThreadAttributesChanged: Codable, Sendable, Hashable {
    public var thread: ThreadID
    public var type: ThreadType
    public var priority: Priority
    public var importance: Importance
    public var category: CategoryID?
    public var participantsAdded: [UserID]
    public var structuresAdded: [StructureID]

    public init(
        thread: ThreadID, type: ThreadType, priority: Priority, importance: Importance, category: CategoryID?,
        participantsAdded: [UserID] = [], structuresAdded: [StructureID] = []
    ) {
        self.thread = thread
        self.type = type
        self.priority = priority
        self.importance = importance
        self.category = category
        self.participantsAdded = participantsAdded
        self.structuresAdded = structuresAdded
    }
}

/// A handler marked an existing message as a task to do (`task`) or back as a plain message.
public struct MessageKindChanged: Codable, Sendable, Hashable {
    public var thread: ThreadID
    public var number: Int
    public var kind: MessageKind

    public init(thread: ThreadID, number: Int, kind: MessageKind) {
        self.thread = thread
        self.number = number
        self.kind = kind
    }
}

public struct ThreadBlocked: Codable, Sendable, Hashable {
    public var thread: ThreadID

    public init(thread: ThreadID) { self.thread = thread }
}

public struct ThreadUnblocked: Codable, Sendable, Hashable {
    public var thread: ThreadID

    public init(thread: ThreadID) { self.thread = thread }
}

/// A user stored a file's bytes. Only its uploader, and the readers of threads whose messages
/// reference it, may attach or download it: knowing a digest grants nothing.
public struct BlobUploaded: Codable, Sendable, Hashable {
    public var sha256: String
    public var size: Int64
    public var uploader: UserID

    public init(sha256: String, size: Int64, uploader: UserID) {
        self.sha256 = sha256
        self.size = size
        self.uploader = uploader
    }
}

/// The parties and structures a subject belongs to (the users of a supplier enabled on a contract):
/// their users, including users created later, and the structures' members (from their joining on,
/// or all with shared history) read and write the subject's threads, and only they and the internal
/// side may open one. A later declaration of the same subject replaces the earlier.
public struct SubjectDeclared: Codable, Sendable, Hashable {
    public var subject: Subject
    public var parties: [PartyID]
    public var structures: [StructureID]

    public init(subject: Subject, parties: [PartyID], structures: [StructureID]) {
        self.subject = subject
        self.parties = parties
        self.structures = structures
    }
}

import Foundation

/// Names of the streams the domain writes. Each aggregate owns one stream; the names embed
/// identifiers, which are validated to a narrow character set for that reason.
public enum StreamName {
    public static func party(_ id: PartyID) -> String { "party-\(id.rawValue)" }
    public static func user(_ id: UserID) -> String { "user-\(id.rawValue)" }
    public static func service(_ id: ServiceID) -> String { "service-\(id.rawValue)" }
    public static func structure(_ id: StructureID) -> String { "structure-\(id.rawValue)" }
    public static func category(_ id: CategoryID) -> String { "category-\(id.rawValue)" }
    public static let settings = "settings"
    public static func thread(_ id: ThreadID) -> String { "thread-\(id.rawValue)" }
    /// The claim of a one-thread-per-subject kind; the kind is a lowercase word without `-`, so the
    /// first `-` after it separates kind and ref unambiguously.
    public static func subject(_ subject: Subject) -> String {
        "subject-\(subject.kind)-\(subject.ref)"
    }
    /// The ticket counter: its version is the last ticket number handed out.
    public static let tickets = "tickets"
    /// A user's daily digests: which were decided and which went out.
    public static func digest(_ user: UserID) -> String { "digest-\(user.rawValue)" }
    /// Who uploaded a blob: one event per uploader.
    public static func blob(_ sha256: String) -> String { "blob-\(sha256)" }
}

extension Event {
    /// The stream an event is appended to.
    public var stream: String {
        switch self {
        case .partyCreated(let e): StreamName.party(e.id)
        case .userCreated(let e): StreamName.user(e.id)
        case .serviceTokenCreated(let e): StreamName.service(e.id)
        case .userTokenReplaced(let e): StreamName.user(e.id)
        case .serviceTokenRevoked(let e): StreamName.service(e.id)
        case .structureCreated(let e): StreamName.structure(e.id)
        case .structureMemberAdded(let e): StreamName.structure(e.structure)
        case .structureMemberRemoved(let e): StreamName.structure(e.structure)
        case .categoryCreated(let e): StreamName.category(e.id)
        case .settingsChanged: StreamName.settings
        case .threadOpened(let e): StreamName.thread(e.thread)
        case .subjectClaimed(let e): StreamName.subject(e.subject)
        case .ticketNumbered: StreamName.tickets
        case .messagePosted(let e): StreamName.thread(e.thread)
        case .readMarkerMoved(let e): StreamName.thread(e.thread)
        case .handlerAssigned(let e): StreamName.thread(e.thread)
        case .threadStatusChanged(let e): StreamName.thread(e.thread)
        case .threadBlocked(let e): StreamName.thread(e.thread)
        case .threadUnblocked(let e): StreamName.thread(e.thread)
        case .messageKindChanged(let e): StreamName.thread(e.thread)
        case .categoryRetentionSet(let e): StreamName.category(e.category)
        case .legalHoldPlaced(let e): StreamName.thread(e.thread)
        case .legalHoldReleased(let e): StreamName.thread(e.thread)
        case .threadPurged(let e): StreamName.thread(e.thread)
        case .digestScheduled(let e): StreamName.digest(e.user)
        case .digestSent(let e): StreamName.digest(e.user)
        case .blobUploaded(let e): StreamName.blob(e.sha256)
        case .subjectDeclared(let e): StreamName.subject(e.subject)
        case .threadAttributesChanged(let e): StreamName.thread(e.thread)
        case .notePosted(let e): StreamName.thread(e.thread)
        case .userUpdated(let e): StreamName.user(e.id)
        case .userDeactivated(let e): StreamName.user(e.id)
        }
    }
}

extension Event {
    /// The thread whose stream holds the event; `nil` for events of other streams.
    public var threadID: ThreadID? {
        switch self {
        case .threadOpened(let e): e.thread
        case .messagePosted(let e): e.thread
        case .readMarkerMoved(let e): e.thread
        case .handlerAssigned(let e): e.thread
        case .threadStatusChanged(let e): e.thread
        case .threadBlocked(let e): e.thread
        case .threadUnblocked(let e): e.thread
        case .messageKindChanged(let e): e.thread
        case .legalHoldPlaced(let e): e.thread
        case .legalHoldReleased(let e): e.thread
        case .threadPurged(let e): e.thread
        case .threadAttributesChanged(let e): e.thread
        case .notePosted(let e): e.thread
        case .partyCreated, .userCreated, .serviceTokenCreated, .userTokenReplaced, .serviceTokenRevoked,
            .structureCreated, .structureMemberAdded,
            .structureMemberRemoved, .categoryCreated, .settingsChanged, .subjectClaimed, .ticketNumbered,
            .categoryRetentionSet, .digestScheduled, .digestSent, .blobUploaded, .subjectDeclared, .userUpdated,
            .userDeactivated:
            nil
        }
    }
}

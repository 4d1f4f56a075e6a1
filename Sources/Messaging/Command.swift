import Foundation

public struct OpenThread: Sendable, Hashable {
    public var subjectKind: String
    /// Required except for numbered kinds (tickets), whose ref is generated.
    public var subjectRef: String?
    public var title: String
    public var category: CategoryID?
    public var priority: Priority
    public var type: ThreadType
    public var importance: Importance
    public var participants: [UserID]
    public var structures: [StructureID]
    /// Handler roles that get access to this thread besides its category's (or the default ones):
    /// internal openers only, and only roles the directory knows.
    public var roles: [Role]
    /// The first message, when given; not posted when a one-thread-per-subject subject already has its
    /// thread (the caller posts it there once it has the existing thread).
    public var body: NewMessage?

    public init(
        subjectKind: String, subjectRef: String? = nil, title: String, category: CategoryID? = nil,
        priority: Priority = .normal, type: ThreadType = .message, importance: Importance = .normal,
        participants: [UserID] = [], structures: [StructureID] = [], roles: [Role] = [], body: NewMessage? = nil
    ) {
        self.subjectKind = subjectKind
        self.subjectRef = subjectRef
        self.title = title
        self.category = category
        self.priority = priority
        self.type = type
        self.importance = importance
        self.participants = participants
        self.structures = structures
        self.roles = roles
        self.body = body
    }
}

/// What a handler may change of a thread after opening it; `nil` keeps the current value.
public struct AttributesPatch: Sendable, Hashable {
    public var type: ThreadType?
    public var priority: Priority?
    public var importance: Importance?
    public var category: CategoryID?

    public init(
        type: ThreadType? = nil, priority: Priority? = nil, importance: Importance? = nil, category: CategoryID? = nil
    ) {
        self.type = type
        self.priority = priority
        self.importance = importance
        self.category = category
    }
}

public struct NewMessage: Sendable, Hashable {
    public var text: String
    public var kind: MessageKind
    public var format: MessageFormat
    public var attachments: [Attachment]
    public var concerning: Concerning?
    /// Must name one of the settings' message templates.
    public var template: String?

    public init(
        text: String, kind: MessageKind = .message, format: MessageFormat = .plain,
        attachments: [Attachment] = [], concerning: Concerning? = nil, template: String? = nil
    ) {
        self.text = text
        self.kind = kind
        self.format = format
        self.attachments = attachments
        self.concerning = concerning
        self.template = template
    }
}

/// Everything that can be asked of the domain. Directory commands are the administrator's; thread
/// commands are a user's.
public enum Command: Sendable, Hashable {
    case createParty(id: PartyID, name: String, kind: PartyKind)
    case createUser(
        id: UserID, name: String, email: String, party: PartyID, roles: [Role], tokenHash: String)
    /// The id of the service principal is the context's `newID`.
    case createServiceToken(name: String, tokenHash: String)
    /// A new token for a user; the old one stops working.
    case replaceUserToken(user: UserID, tokenHash: String)
    /// New values for a user's name, e-mail or roles; `nil` keeps the current one.
    case updateUser(id: UserID, name: String?, email: String?, roles: [Role]?)
    case deactivateUser(UserID)
    case revokeServiceToken(ServiceID)
    case createStructure(id: StructureID, name: String, party: PartyID, shareHistory: Bool)
    case addStructureMember(structure: StructureID, user: UserID)
    case removeStructureMember(structure: StructureID, user: UserID)
    case createCategory(
        id: CategoryID, name: String, handlerRoles: [Role], structures: [StructureID],
        defaultRecipients: [UserID])
    case changeSettings(SettingsPatch)
    /// The administrator's or an internal supervisor's: a message template's text (`nil` removes it).
    case setMessageTemplate(name: String, text: String?)
    /// The thread's id is the context's `newID`.
    case openThread(OpenThread)
    case postMessage(thread: ThreadID, message: NewMessage)
    /// A note only the internal side sees.
    case postNote(thread: ThreadID, text: String)
    case moveReadMarker(thread: ThreadID, upTo: Int)
    case assignHandler(thread: ThreadID, handler: UserID)
    case changeStatus(thread: ThreadID, to: ThreadStatus)
    case blockThread(ThreadID)
    case unblockThread(ThreadID)
    /// A handler's: type, priority, importance or category after opening.
    case changeAttributes(thread: ThreadID, AttributesPatch)
    /// A handler's: marks an existing message as a task to do, or back as a message.
    case changeMessageKind(thread: ThreadID, number: Int, kind: MessageKind)
    /// The administrator's: a category's own retention period (`nil` days: the deployment's).
    case setCategoryRetention(category: CategoryID, days: Int?)
    case placeLegalHold(thread: ThreadID, reason: String)
    case releaseLegalHold(thread: ThreadID)
    /// The administrator's (the retention job acts as the administrator).
    case purgeThread(thread: ThreadID, reason: String)
    /// The digest job's (as the administrator): decide one daily digest, then record its delivery.
    case scheduleDigest(DigestScheduled)
    case recordDigestSent(DigestSent)
    /// A user's: the bytes with this digest and size are stored; records the user as their uploader.
    case recordUpload(sha256: String, size: Int64)
    /// The administrator's or a service's: the parties and structures a subject belongs to.
    case declareSubject(Subject, parties: [PartyID], structures: [StructureID])
}

extension Command {
    /// The streams an engine loads before deciding; every stream a decision writes is among them, and
    /// the versions loaded are the expected versions of the append. The directory is passed whole.
    /// Whether deciding the command names something new after the context's `newID` (a thread, a
    /// service principal); other commands need no id generated.
    public var needsNewID: Bool {
        switch self {
        case .createServiceToken, .openThread: true
        default: false
        }
    }

    public func streamsToLoad(context: CommandContext) -> [String] {
        switch self {
        case .createParty(let id, _, _): [StreamName.party(id)]
        case .createUser(let id, _, _, _, _, _): [StreamName.user(id)]
        case .createServiceToken: [StreamName.service(ServiceID(context.newID))]
        case .replaceUserToken(let user, _): [StreamName.user(user)]
        case .updateUser(let id, _, _, _), .deactivateUser(let id): [StreamName.user(id)]
        case .revokeServiceToken(let id): [StreamName.service(id)]
        case .createStructure(let id, _, _, _): [StreamName.structure(id)]
        case .addStructureMember(let structure, _), .removeStructureMember(let structure, _):
            [StreamName.structure(structure)]
        case .createCategory(let id, _, _, _, _): [StreamName.category(id)]
        case .changeSettings, .setMessageTemplate: [StreamName.settings]
        case .openThread(let open):
            [StreamName.thread(ThreadID(context.newID))] + open.extraStreams
        case .postMessage(let thread, _), .postNote(let thread, _), .moveReadMarker(let thread, _), .assignHandler(let thread, _),
            .changeStatus(let thread, _), .blockThread(let thread), .unblockThread(let thread),
            .changeAttributes(let thread, _), .changeMessageKind(let thread, _, _),
            .placeLegalHold(let thread, _), .releaseLegalHold(let thread), .purgeThread(let thread, _):
            [StreamName.thread(thread)]
        case .setCategoryRetention(let category, _): [StreamName.category(category)]
        case .scheduleDigest(let digest): [StreamName.digest(digest.user)]
        case .recordDigestSent(let sent): [StreamName.digest(sent.user)]
        case .recordUpload(let sha256, _): [StreamName.blob(sha256)]
        case .declareSubject(let subject, _, _):
            [StreamName.subject(Subject(kind: subject.kind, ref: subject.ref.trimmingCharacters(in: .whitespaces)))]
        }
    }
}

extension OpenThread {
    var rule: SubjectRule { SubjectRule(kind: subjectKind) }

    /// The ref as recorded: the claim stream loaded and the one written must have the same name.
    var normalizedRef: String? { subjectRef?.trimmingCharacters(in: .whitespaces) }

    /// The claim stream of a one-thread-per-subject kind, the counter of a numbered kind.
    var extraStreams: [String] {
        switch rule {
        case .onePerSubject:
            guard let ref = normalizedRef, !ref.isEmpty, SubjectRule.isValidKind(subjectKind) else { return [] }
            return [StreamName.subject(Subject(kind: subjectKind, ref: ref))]
        case .numbered:
            return [StreamName.tickets]
        case .free:
            return []
        }
    }
}

import Foundation

/// Every way the domain refuses a command. Closed on purpose: each case is a rule of the domain,
/// mapped to an HTTP answer only at the edge; `code` is part of the outside contract and never changes.
public enum DomainError: Error, Sendable, Hashable {
    /// The actor may see the target but not do this to it.
    case notAllowed(String)
    case duplicateID(String)
    case invalidID(String)
    case invalidName
    case invalidEmail(String)
    case invalidTokenHash
    case unknownParty(PartyID)
    case unknownUser(UserID)
    case unknownService(ServiceID)
    case unknownStructure(StructureID)
    case unknownCategory(CategoryID)
    case notAMember(structure: StructureID, user: UserID)
    case invalidSetting(field: String, reason: String)
    case invalidSubject(String)
    case invalidTitle
    /// The thread does not exist, or the actor may not see it: the two are indistinguishable.
    case threadNotFound(ThreadID)
    /// The subject is not open to the opener: the same answer whether or not it has a thread.
    case subjectNotFound(Subject)
    case threadBlocked(ThreadID)
    case threadClosed(ThreadID)
    /// The thread is resolved and settings do not let a new message reopen it.
    case threadResolved(ThreadID)
    case emptyMessage
    case messageTooLarge(size: Int, limit: Int)
    case attachmentsNotAllowed
    case invalidAttachment(String)
    case readMarkerOutOfRange(upTo: Int, messageCount: Int)
    /// The thread has no message of that number that the user can see.
    case unknownMessage(thread: ThreadID, number: Int)
    /// The user named as handler holds none of the thread's handler roles.
    case notAHandler(UserID)
    case invalidStatusTransition(from: ThreadStatus, to: ThreadStatus)
    /// The thread's content was destroyed by retention; only its audit trail remains.
    case threadPurged(ThreadID)
    /// A legal hold keeps the thread from being purged.
    case legalHold(ThreadID)
    /// A message names a template the settings do not have.
    case unknownTemplate(String)
    /// There is no template of that name to remove.
    case templateNotFound(String)
    /// The person or company a message concerns is not well formed.
    case invalidConcerning(String)
    /// Extra handler roles named by someone who may not add them.
    case rolesNotAllowed
    /// No user, category or default names the role.
    case unknownRole(Role)

    /// Stable snake_case code for clients and logs.
    public var code: String {
        switch self {
        case .notAllowed: "not_allowed"
        case .duplicateID: "duplicate_id"
        case .invalidID: "invalid_id"
        case .invalidName: "invalid_name"
        case .invalidEmail: "invalid_email"
        case .invalidTokenHash: "invalid_token_hash"
        case .unknownParty: "unknown_party"
        case .unknownUser: "unknown_user"
        case .unknownService: "unknown_service"
        case .unknownStructure: "unknown_structure"
        case .unknownCategory: "unknown_category"
        case .notAMember: "not_a_member"
        case .invalidSetting: "invalid_setting"
        case .invalidSubject: "invalid_subject"
        case .invalidTitle: "invalid_title"
        case .threadNotFound: "thread_not_found"
        case .subjectNotFound: "subject_not_found"
        case .threadBlocked: "thread_blocked"
        case .threadClosed: "thread_closed"
        case .threadResolved: "thread_resolved"
        case .threadPurged: "thread_purged"
        case .legalHold: "legal_hold"
        case .emptyMessage: "empty_message"
        case .messageTooLarge: "message_too_large"
        case .attachmentsNotAllowed: "attachments_not_allowed"
        case .invalidAttachment: "invalid_attachment"
        case .readMarkerOutOfRange: "read_marker_out_of_range"
        case .unknownMessage: "message_not_found"
        case .notAHandler: "not_a_handler"
        case .invalidStatusTransition: "invalid_status_transition"
        case .unknownTemplate: "unknown_template"
        case .templateNotFound: "template_not_found"
        case .invalidConcerning: "invalid_concerning"
        case .rolesNotAllowed: "roles_not_allowed"
        case .unknownRole: "unknown_role"
        }
    }

    /// A sentence for people; safe to show to the actor (it reveals nothing they may not see).
    public var message: String {
        switch self {
        case .notAllowed(let what): "Not allowed: \(what)."
        case .duplicateID(let id): "The id '\(id)' is already taken."
        case .invalidID(let id):
            "The id '\(id)' is invalid: use 1 to 100 letters, digits, '_', '-' or '.'."
        case .invalidName: "A name must not be empty and at most 200 characters long."
        case .invalidEmail(let email): "'\(email)' is not an e-mail address."
        case .invalidTokenHash: "A token hash must be 64 lowercase hexadecimal digits (SHA-256)."
        case .unknownParty(let id): "There is no party '\(id)'."
        case .unknownUser(let id): "There is no user '\(id)'."
        case .unknownService(let id): "There is no service principal '\(id)' with a valid token."
        case .unknownStructure(let id): "There is no structure '\(id)'."
        case .unknownCategory(let id): "There is no category '\(id)'."
        case .notAMember(let structure, let user):
            "User '\(user)' is not a member of structure '\(structure)'."
        case .invalidSetting(let field, let reason): "Setting '\(field)' is invalid: \(reason)."
        case .invalidSubject(let reason): "The subject is invalid: \(reason)."
        case .invalidTitle: "A title must not be empty and at most 500 characters long."
        case .threadNotFound(let id): "There is no thread '\(id)'."
        case .subjectNotFound(let subject): "There is no \(subject.kind) '\(subject.ref)' open to you."
        case .threadBlocked(let id):
            "Thread '\(id)' is blocked: outside users cannot post until it is unblocked."
        case .threadClosed(let id): "Thread '\(id)' is closed."
        case .threadPurged(let id): "Thread '\(id)' was purged under the retention policy; only its audit trail remains."
        case .legalHold(let id): "Thread '\(id)' is under legal hold and cannot be purged."
        case .threadResolved(let id):
            "Thread '\(id)' is resolved and cannot be reopened by a new message."
        case .emptyMessage: "A message must not be empty."
        case .messageTooLarge(let size, let limit):
            "The message has \(size) bytes; the limit is \(limit)."
        case .attachmentsNotAllowed: "This deployment does not accept attachments."
        case .invalidAttachment(let name):
            "Attachment '\(name)' needs a name, a content type, a size of at least 0 and a SHA-256 hex digest."
        case .unknownMessage(let thread, let number): "Thread '\(thread)' has no message #\(number)."
        case .readMarkerOutOfRange(let upTo, let count):
            "Cannot mark messages up to #\(upTo) as read: the thread has \(count) messages."
        case .notAHandler(let id): "User '\(id)' holds none of the thread's handler roles."
        case .invalidStatusTransition(let from, let to):
            "A thread cannot go from '\(from.rawValue)' to '\(to.rawValue)'."
        case .unknownTemplate(let name): "There is no message template '\(name)'."
        case .templateNotFound(let name): "There is no message template '\(name)' to remove."
        case .invalidConcerning(let reason): "'concerning' is invalid: \(reason)."
        case .rolesNotAllowed: "Only internal users add handler roles to a thread they open."
        case .unknownRole(let role): "No user, category or default handler setting has the role '\(role)'."
        }
    }
}

extension DomainError: CustomStringConvertible {
    public var description: String { "\(code): \(message)" }
}

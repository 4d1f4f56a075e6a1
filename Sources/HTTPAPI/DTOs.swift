import Engine
import Messaging

// Request and answer bodies of the routes. Field names are the outside contract (API.md).

struct CreatePartyBody: Codable {
    var id: String
    var name: String
    var kind: PartyKind
}

struct CreateUserBody: Codable {
    var id: String
    var name: String
    var email: String
    var party: String
    var roles: [String]
}

struct ServiceTokenBody: Codable {
    var name: String
}

struct CreateStructureBody: Codable {
    var id: String
    var name: String
    var party: String
    var shareHistory: Bool?
}

struct AddMemberBody: Codable {
    var user: String
}

struct CreateCategoryBody: Codable {
    var id: String
    var name: String
    var handlerRoles: [String]
    var structures: [String]?
    var defaultRecipients: [String]?
}

/// `PUT /v1/settings` and `GET /v1/settings`: any subset on the way in, everything on the way out.
struct SettingsBody: Codable {
    struct Retention: Codable {
        var days: Int
    }

    /// `rules: []` means the built-in rules; `enabled: false` means no immediate mail at all.
    struct Notifications: Codable {
        var rules: [NotificationRule]?
        var enabled: Bool?
    }

    var displayPolicy: DisplayPolicy?
    var partyDisplayPolicies: [PartyID: DisplayPolicy]?
    /// Any subset of the digest's fields on the way in.
    var digest: DigestPatch?
    var retention: Retention?
    var notifications: Notifications?
    var allowReopen: Bool?
    var messageSizeLimit: Int?
    var attachmentsAllowed: Bool?
    var defaultHandlerRoles: [Role]?
    var messageTemplates: [String: String]?

    var patch: SettingsPatch {
        SettingsPatch(
            displayPolicy: displayPolicy, partyDisplayPolicies: partyDisplayPolicies, digest: digest,
            retentionDays: retention?.days, notifications: notifications?.rules,
            notificationsEnabled: notifications?.enabled, allowReopen: allowReopen,
            messageSizeLimit: messageSizeLimit, attachmentsAllowed: attachmentsAllowed,
            defaultHandlerRoles: defaultHandlerRoles, messageTemplates: messageTemplates)
    }

    init(_ settings: Settings) {
        displayPolicy = settings.displayPolicy
        partyDisplayPolicies = settings.partyDisplayPolicies
        digest = DigestPatch(settings.digest)
        retention = Retention(days: settings.retentionDays)
        notifications = Notifications(rules: settings.notifications, enabled: settings.notificationsEnabled)
        allowReopen = settings.allowReopen
        messageSizeLimit = settings.messageSizeLimit
        attachmentsAllowed = settings.attachmentsAllowed
        defaultHandlerRoles = settings.defaultHandlerRoles
        messageTemplates = settings.messageTemplates
    }
}

struct SubjectBody: Codable {
    var kind: String
    var ref: String?
}

struct OpenThreadBody: Codable {
    var subject: SubjectBody
    var title: String
    var category: String?
    var priority: Priority?
    var type: ThreadType?
    var importance: Importance?
    var participants: [String]?
    var structures: [String]?
    /// The first message's text.
    var body: String?
    var format: MessageFormat?
    var attachments: [Attachment]?
    /// Of the first message.
    var concerning: Concerning?
    var template: String?
    /// Handler roles that get access to this thread besides its category's (internal openers only).
    var roles: [String]?
}

struct NoteBody: Codable {
    var body: String
}

struct PostMessageBody: Codable {
    var body: String
    var kind: MessageKind?
    var format: MessageFormat?
    var attachments: [Attachment]?
    var concerning: Concerning?
    var template: String?

    /// The usual body, `{"body": "…"}` and nothing else, read without the decoder.
    static func plain(_ members: [String: JSONValue]) -> PostMessageBody? {
        // A NUL goes the long way, to the decoder's refusal.
        guard members.count == 1, case .string(let text)? = members["body"], !text.utf8.contains(0) else { return nil }
        return PostMessageBody(body: text)
    }
}

struct ReadBody: Codable {
    var upTo: Int
}

struct AssignBody: Codable {
    var handler: String
}

struct StatusBody: Codable {
    var status: ThreadStatus
}

struct EmptyBody: Codable {}

struct AttributesBody: Codable {
    var type: ThreadType?
    var priority: Priority?
    var importance: Importance?
    var category: String?
}

struct UpdateUserBody: Codable {
    var name: String?
    var email: String?
    var roles: [String]?
}

struct UserAnswer: Encodable {
    var id: String
    var name: String
    var email: String
    var party: String
    var roles: [String]
    var active: Bool
    var position: UInt64
}

struct LegalHoldBody: Codable {
    var reason: String
}

/// `days: null` (or absent) returns the category to the deployment's period.
struct CategoryRetentionBody: Codable {
    var days: Int?
}

struct LegalHoldAnswer: Encodable {
    var id: String
    var legalHold: Bool
    var position: UInt64
}

struct CategoryRetentionAnswer: Encodable {
    var id: String
    var days: Int?
    var position: UInt64
}

struct CreatedID: Encodable {
    var id: String
    var position: UInt64
}

struct CreatedToken: Encodable {
    var id: String
    var token: String
    var position: UInt64
}

struct MemberAnswer: Encodable {
    var structure: String
    var user: String
    var position: UInt64
}

struct PostedAnswer: Encodable {
    var id: String
    var number: Int
    var position: UInt64

    /// The answer to every post, written directly: the same bytes the encoder gives (sorted keys).
    var json: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96)
        out.append(contentsOf: #"{"id":"#.utf8)
        JSONText.appendString(id, to: &out)
        out.append(contentsOf: #","number":"#.utf8)
        out.append(contentsOf: String(number).utf8)
        out.append(contentsOf: #","position":"#.utf8)
        out.append(contentsOf: String(position).utf8)
        out.append(UInt8(ascii: "}"))
        return out
    }
}

struct ReadAnswer: Encodable {
    var id: String
    var upTo: Int
    var position: UInt64
}

/// A thread's summary after a write, with the position the write reached.
struct ThreadAnswer: Encodable {
    var thread: ThreadDetail
    var position: UInt64

    func encode(to encoder: any Encoder) throws {
        try thread.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(position, forKey: .position)
    }

    private enum Key: String, CodingKey { case position }
}

struct BlobAnswer: Encodable {
    var sha256: String
    var size: Int64
}

struct HealthAnswer: Encodable {
    var status: String
    var position: UInt64
}


/// `POST /v1/subjects`.
struct DeclareSubjectBody: Codable {
    var kind: String
    var ref: String
    var parties: [String]?
    var structures: [String]?
}

struct DeclaredSubject: Codable {
    var subject: SubjectDTO
    var parties: [String]
    var structures: [String]
    var position: UInt64
}

/// `GET /v1/templates`: the message templates by name, for every caller to prefill with.
struct TemplatesBody: Codable, Sendable {
    var templates: [String: String]
}

/// `PUT /v1/templates/{name}`.
struct TemplateBody: Codable {
    var text: String
}

struct TemplateAnswer: Encodable {
    var name: String
    var text: String?
    var position: UInt64
}

import Foundation

/// What an outside reader sees in place of an internal author.
public struct DisplayPolicy: Codable, Sendable, Hashable {
    public enum Mode: String, Codable, Sendable, CaseIterable {
        /// No author at all.
        case none
        /// The name of the author's workgroup (their structure, else their party).
        case workgroup
        /// The author's full name.
        case fullName
        /// A fixed mention such as "Customer service".
        case custom
    }

    public var mode: Mode
    /// Required for `custom`, ignored otherwise.
    public var text: String?

    public init(mode: Mode, text: String? = nil) {
        self.mode = mode
        self.text = text
    }
}

/// Which side of the conversation a daily digest goes to.
public enum DigestAudience: String, Codable, Sendable, CaseIterable {
    /// The operator's own users.
    case `internal`
    /// Users of the outside parties (clients, suppliers, subcontractors).
    case outside
}

public struct DigestSettings: Codable, Sendable, Hashable {
    /// Whether daily digests are decided at all.
    public var enabled: Bool
    /// Local time of day `HH:MM` at which the daily digest goes out.
    public var time: String
    /// `{{subject.ref}}`, `{{subject.kind}}` and `{{thread.title}}` are filled in by the mailer.
    public var subjectTemplate: String
    /// The mail's text: `{{recipient.name}}`, `{{unread}}`, `{{single}}`, `{{subject.kind}}`,
    /// `{{subject.ref}}`, `{{#threads}}{{title}} {{number}} {{link}}{{/threads}}`, `{{link}}`, `{{day}}`.
    public var bodyTemplate: String
    /// The sides whose users get a digest.
    public var audience: [DigestAudience]

    public static let defaultSubjectTemplate = "New messages in Threadlog {{subject.ref}}"
    public static let defaultBodyTemplate = """
        Hello {{recipient.name}},

        you have {{unread}} unread message{{^single}}s{{/single}} about {{subject.kind}} {{subject.ref}}:
        {{#threads}}
        - {{title}}: {{link}}
        {{/threads}}

        Please log in to Threadlog to read them.

        """

    public init(
        time: String = "07:00", subjectTemplate: String = DigestSettings.defaultSubjectTemplate,
        bodyTemplate: String = DigestSettings.defaultBodyTemplate, enabled: Bool = true,
        audience: [DigestAudience] = DigestAudience.allCases
    ) {
        self.time = time
        self.subjectTemplate = subjectTemplate
        self.bodyTemplate = bodyTemplate
        self.enabled = enabled
        self.audience = audience
    }

    /// Whether `user` belongs to a side the digest goes to.
    public func reaches(_ user: UserID, in directory: Directory) -> Bool {
        audience.contains(directory.isInternal(user) ? .internal : .outside)
    }

    /// The settings with the fields the patch names replaced.
    public func applying(_ patch: DigestPatch) -> DigestSettings {
        var digest = self
        if let value = patch.enabled { digest.enabled = value }
        if let value = patch.time { digest.time = value }
        if let value = patch.subjectTemplate { digest.subjectTemplate = value }
        if let value = patch.bodyTemplate { digest.bodyTemplate = value }
        if let value = patch.audience { digest.audience = value.compactMap(DigestAudience.init(rawValue:)) }
        return digest
    }
}

/// A change of the digest settings: absent fields keep their value. (Before `settings.changed` v3 a
/// patch always named `time` and `subjectTemplate`, and the other fields did not exist.)
public struct DigestPatch: Codable, Sendable, Hashable {
    public var enabled: Bool?
    public var time: String?
    public var subjectTemplate: String?
    public var bodyTemplate: String?
    /// `internal`, `outside`: kept as written so that a wrong value is refused by the decider.
    public var audience: [String]?

    public init(
        time: String? = nil, subjectTemplate: String? = nil, bodyTemplate: String? = nil, enabled: Bool? = nil,
        audience: [String]? = nil
    ) {
        self.time = time
        self.subjectTemplate = subjectTemplate
        self.bodyTemplate = bodyTemplate
        self.enabled = enabled
        self.audience = audience
    }

    /// Every field of the settings.
    public init(_ settings: DigestSettings) {
        self.init(
            time: settings.time, subjectTemplate: settings.subjectTemplate, bodyTemplate: settings.bodyTemplate,
            enabled: settings.enabled, audience: settings.audience.map(\.rawValue))
    }
}

/// One rule of the immediate notifications: which event mails whom, and how.
public struct NotificationRule: Codable, Sendable, Hashable {
    public enum Trigger: String, Codable, Sendable, CaseIterable {
        /// A thread was opened: acknowledgement to its author, notice to the handler roles.
        case threadOpened
        /// A message was posted: notice to the other side.
        case messagePosted
        /// A thread changed status.
        case statusChanged
        /// A handler was assigned.
        case handlerAssigned
    }

    /// Who a rule mails; a rule may name several groups per header.
    public enum Recipient: String, Codable, Sendable, CaseIterable {
        /// The user whose action raised the event.
        case author
        /// The user whose action raised the event, when they belong to an outside party (an opening's
        /// acknowledgement goes to the client who asked, not to staff who opened a chat themselves).
        case outsideAuthor
        /// The participants of the other side than the author.
        case otherSide
        /// The internal users holding the thread's handler roles.
        case handlers
        /// The assigned handler.
        case handler
        /// Every participant.
        case participants
    }

    public var on: Trigger
    public var to: [Recipient]
    public var cc: [Recipient]
    /// Fixed addresses, for an archive mailbox for example.
    public var bcc: [String]
    public var subjectTemplate: String
    public var bodyTemplate: String

    public init(
        on: Trigger, to: [Recipient], cc: [Recipient] = [], bcc: [String] = [], subjectTemplate: String,
        bodyTemplate: String
    ) {
        self.on = on
        self.to = to
        self.cc = cc
        self.bcc = bcc
        self.subjectTemplate = subjectTemplate
        self.bodyTemplate = bodyTemplate
    }
}

/// The deployment's settings as the directory holds them after folding every `settings.changed`.
public struct Settings: Sendable, Hashable, Codable {
    public var displayPolicy: DisplayPolicy
    /// Overrides of `displayPolicy` keyed by the reader's party.
    public var partyDisplayPolicies: [PartyID: DisplayPolicy]
    public var digest: DigestSettings
    public var retentionDays: Int
    /// The immediate notification rules; empty: the built-in defaults.
    public var notifications: [NotificationRule]
    /// Whether events mail anyone at once; `false`: no immediate mail (digests are apart).
    public var notificationsEnabled: Bool = true
    /// Whether a message from the outside party reopens a resolved thread (else it is refused).
    public var allowReopen: Bool
    /// Largest message text in UTF-8 bytes.
    public var messageSizeLimit: Int
    public var attachmentsAllowed: Bool
    /// Roles whose internal holders handle threads without a category.
    public var defaultHandlerRoles: [Role]
    /// Message templates by name: texts portals offer to prefill common messages.
    public var messageTemplates: [String: String] = [:]

    public static let defaultRetentionDays = 1461
    public static let defaultMessageSizeLimit = 64 * 1024
    /// Upper bound of `messageSizeLimit`, so that one event stays a small record.
    public static let maximumMessageSizeLimit = 4 * 1024 * 1024

    public init(
        displayPolicy: DisplayPolicy = DisplayPolicy(mode: .workgroup),
        partyDisplayPolicies: [PartyID: DisplayPolicy] = [:],
        digest: DigestSettings = DigestSettings(),
        retentionDays: Int = Settings.defaultRetentionDays,
        notifications: [NotificationRule] = [],
        allowReopen: Bool = true,
        messageSizeLimit: Int = Settings.defaultMessageSizeLimit,
        attachmentsAllowed: Bool = true,
        defaultHandlerRoles: [Role] = [.handler]
    ) {
        self.displayPolicy = displayPolicy
        self.partyDisplayPolicies = partyDisplayPolicies
        self.digest = digest
        self.retentionDays = retentionDays
        self.notifications = notifications
        self.allowReopen = allowReopen
        self.messageSizeLimit = messageSizeLimit
        self.attachmentsAllowed = attachmentsAllowed
        self.defaultHandlerRoles = defaultHandlerRoles
    }

    /// The policy that applies to a reader of `party`.
    public func displayPolicy(forReaderOf party: PartyID) -> DisplayPolicy {
        partyDisplayPolicies[party] ?? displayPolicy
    }
}

/// A partial update of the settings: absent fields keep their value. Also the payload of
/// `settings.changed`, so the log holds exactly what was changed.
public struct SettingsPatch: Codable, Sendable, Hashable {
    public var displayPolicy: DisplayPolicy?
    /// Replaces the whole override map when present.
    public var partyDisplayPolicies: [PartyID: DisplayPolicy]?
    /// Changes the digest's fields it names (since `settings.changed` v3; before, it named them all).
    public var digest: DigestPatch?
    public var retentionDays: Int?
    /// Replaces the whole rule list when present; an empty list: the built-in defaults.
    public var notifications: [NotificationRule]?
    /// `false` switches immediate mail off, `true` on again (since `settings.changed` v3).
    public var notificationsEnabled: Bool?
    public var allowReopen: Bool?
    public var messageSizeLimit: Int?
    public var attachmentsAllowed: Bool?
    public var defaultHandlerRoles: [Role]?
    /// Replaces the whole template set when present (since `settings.changed` v2).
    public var messageTemplates: [String: String]?

    public init(
        displayPolicy: DisplayPolicy? = nil, partyDisplayPolicies: [PartyID: DisplayPolicy]? = nil,
        digest: DigestPatch? = nil, retentionDays: Int? = nil,
        notifications: [NotificationRule]? = nil, notificationsEnabled: Bool? = nil,
        allowReopen: Bool? = nil, messageSizeLimit: Int? = nil, attachmentsAllowed: Bool? = nil,
        defaultHandlerRoles: [Role]? = nil, messageTemplates: [String: String]? = nil
    ) {
        self.messageTemplates = messageTemplates
        self.displayPolicy = displayPolicy
        self.partyDisplayPolicies = partyDisplayPolicies
        self.digest = digest
        self.retentionDays = retentionDays
        self.notifications = notifications
        self.notificationsEnabled = notificationsEnabled
        self.allowReopen = allowReopen
        self.messageSizeLimit = messageSizeLimit
        self.attachmentsAllowed = attachmentsAllowed
        self.defaultHandlerRoles = defaultHandlerRoles
    }

    public var isEmpty: Bool { self == SettingsPatch() }
}

extension Settings {
    public func applying(_ patch: SettingsPatch) -> Settings {
        var settings = self
        if let value = patch.displayPolicy { settings.displayPolicy = value }
        if let value = patch.partyDisplayPolicies { settings.partyDisplayPolicies = value }
        if let value = patch.digest { settings.digest = settings.digest.applying(value) }
        if let value = patch.retentionDays { settings.retentionDays = value }
        if let value = patch.notifications { settings.notifications = value }
        if let value = patch.notificationsEnabled { settings.notificationsEnabled = value }
        if let value = patch.allowReopen { settings.allowReopen = value }
        if let value = patch.messageSizeLimit { settings.messageSizeLimit = value }
        if let value = patch.attachmentsAllowed { settings.attachmentsAllowed = value }
        if let value = patch.defaultHandlerRoles { settings.defaultHandlerRoles = value }
        if let value = patch.messageTemplates { settings.messageTemplates = value }
        return settings
    }
}

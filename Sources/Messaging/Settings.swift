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

public struct DigestSettings: Codable, Sendable, Hashable {
    /// Local time of day `HH:MM` at which the daily digest goes out.
    public var time: String
    /// `{{subject.ref}}`, `{{subject.kind}}` and `{{thread.title}}` are filled in by the mailer.
    public var subjectTemplate: String

    public init(
        time: String = "07:00", subjectTemplate: String = "New messages in Threadlog {{subject.ref}}"
    ) {
        self.time = time
        self.subjectTemplate = subjectTemplate
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
    public var notifications: [NotificationRule]
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
    public var digest: DigestSettings?
    public var retentionDays: Int?
    /// Replaces the whole rule list when present.
    public var notifications: [NotificationRule]?
    public var allowReopen: Bool?
    public var messageSizeLimit: Int?
    public var attachmentsAllowed: Bool?
    public var defaultHandlerRoles: [Role]?
    /// Replaces the whole template set when present (since `settings.changed` v2).
    public var messageTemplates: [String: String]?

    public init(
        displayPolicy: DisplayPolicy? = nil, partyDisplayPolicies: [PartyID: DisplayPolicy]? = nil,
        digest: DigestSettings? = nil, retentionDays: Int? = nil,
        notifications: [NotificationRule]? = nil,
        allowReopen: Bool? = nil, messageSizeLimit: Int? = nil, attachmentsAllowed: Bool? = nil,
        defaultHandlerRoles: [Role]? = nil, messageTemplates: [String: String]? = nil
    ) {
        self.messageTemplates = messageTemplates
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

    public var isEmpty: Bool { self == SettingsPatch() }
}

extension Settings {
    public func applying(_ patch: SettingsPatch) -> Settings {
        var settings = self
        if let value = patch.displayPolicy { settings.displayPolicy = value }
        if let value = patch.partyDisplayPolicies { settings.partyDisplayPolicies = value }
        if let value = patch.digest { settings.digest = value }
        if let value = patch.retentionDays { settings.retentionDays = value }
        if let value = patch.notifications { settings.notifications = value }
        if let value = patch.allowReopen { settings.allowReopen = value }
        if let value = patch.messageSizeLimit { settings.messageSizeLimit = value }
        if let value = patch.attachmentsAllowed { settings.attachmentsAllowed = value }
        if let value = patch.defaultHandlerRoles { settings.defaultHandlerRoles = value }
        if let value = patch.messageTemplates { settings.messageTemplates = value }
        return settings
    }
}

extension ThreadState {
    /// Every field, for stores that keep thread states in their own format.
    public init(
        id: ThreadID, subject: Subject, title: String, category: CategoryID?, priority: Priority, type: ThreadType,
        importance: Importance, openedBy: UserID, openedAtMillis: Int64, openedAtPosition: UInt64,
        participants: [UserID], structures: [StructureID], status: ThreadStatus, handler: UserID?, blocked: Bool,
        messages: [PostedMessage], readMarkers: [UserID: Int], lastActivityMillis: Int64, lastPosition: UInt64,
        version: UInt64, legalHold: Bool = false, purgedAtMillis: Int64? = nil, answeredAtPosition: UInt64? = nil,
        notes: [PostedNote] = [], roles: [Role] = [], memberwise: Void = ()
    ) {
        self.init(
            id: id, subject: subject, title: title, category: category, priority: priority, type: type,
            importance: importance, openedBy: openedBy, openedAtMillis: openedAtMillis,
            openedAtPosition: openedAtPosition, participants: participants, structures: structures, status: status,
            handler: handler, blocked: blocked, messages: messages, readMarkers: readMarkers,
            lastActivityMillis: lastActivityMillis, lastPosition: lastPosition, version: version,
            legalHold: legalHold, purgedAtMillis: purgedAtMillis, answeredAtPosition: answeredAtPosition,
            notes: notes, roles: roles)
    }
}

extension PostedMessage {
    public init(
        number: Int, author: UserID, kind: MessageKind, format: MessageFormat, text: String,
        attachments: [Attachment], timeMillis: Int64, position: UInt64, concerning: Concerning? = nil,
        template: String? = nil, memberwise: Void = ()
    ) {
        self.init(
            number: number, author: author, kind: kind, format: format, text: text, attachments: attachments,
            timeMillis: timeMillis, position: position, concerning: concerning, template: template)
    }
}

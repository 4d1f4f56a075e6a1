import EventLog
import Messaging

extension ThreadSummary {
    /// The summary of a folded thread: for the write answers and both read sides.
    public init(_ state: ThreadState) {
        self.init(
            id: state.id.rawValue, number: state.number,
            subject: SubjectDTO(kind: state.subject.kind, ref: state.subject.ref), title: state.title,
            status: state.status.rawValue, priority: state.priority.rawValue, type: state.type.rawValue,
            importance: state.importance.rawValue, category: state.category?.rawValue,
            handler: state.handler?.rawValue, blocked: state.blocked, messageCount: state.messageCount,
            lastActivity: ISOTime.format(millis: state.lastActivityMillis), openedBy: state.openedBy.rawValue,
            participants: state.participants.map(\.rawValue), structures: state.structures.map(\.rawValue))
    }
}

extension ThreadView {
    /// A folded thread as `reader` sees it: the messages visible to them, authors as the display policy
    /// shows them, everyone who can see the thread, and the reader's unread count.
    public init(_ state: ThreadState, for reader: UserID, in directory: Directory) {
        let messages = Access.visibleMessages(of: state, for: reader, in: directory).map { message in
            let author = Access.authorDisplay(author: message.author, reader: reader, thread: state, in: directory)
            return MessageDTO(
                id: message.id(in: state.id), number: message.number,
                author: AuthorDTO(id: author.id?.rawValue, name: author.name),
                time: ISOTime.format(millis: message.timeMillis), body: message.text, kind: message.kind.rawValue,
                format: message.format.rawValue, attachments: message.attachments)
        }
        let contacts = Access.contacts(of: state, in: directory).map {
            ContactDTO(id: $0.user.rawValue, name: $0.name, party: $0.party.rawValue, internal: $0.isInternal)
        }
        self.init(
            thread: ThreadSummary(state), messages: messages, contacts: contacts,
            unread: Access.unreadCount(of: state, for: reader, in: directory))
    }
}

import EventLog
import Messaging

extension ThreadDetail {
    /// The summary of a folded thread as `reader` sees it, for the write answers and both read sides:
    /// the messages they may see counted, and internal users the display policy hides from them left
    /// out (handler, opener, participants).
    public init(_ state: ThreadState, for reader: UserID, in directory: Directory) {
        let messageCount = Access.visibleMessageCount(of: state, for: reader, in: directory)
        self.init(
            summary: ThreadSummary(
                id: state.id.rawValue, number: state.number,
                subject: SubjectDTO(kind: state.subject.kind, ref: state.subject.ref), title: state.title,
                status: state.status.rawValue, priority: state.priority.rawValue, type: state.type.rawValue,
                importance: state.importance.rawValue, category: state.category?.rawValue,
                handler: Access.shown(state.handler, to: reader, in: directory)?.rawValue,
                messageCount: messageCount, lastActivity: ISOTime.format(millis: state.lastActivityMillis),
                openedBy: Access.shown(state.openedBy, to: reader, in: directory)?.rawValue,
                answeredByCustomer: Access.answeredByCustomer(state, in: directory)),
            blocked: state.blocked,
            participants: state.participants.compactMap { Access.shown($0, to: reader, in: directory)?.rawValue },
            structures: state.structures.map(\.rawValue))
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
        let contacts = Access.contacts(of: state, for: reader, in: directory).map { contact, display in
            ContactDTO(
                id: display.id?.rawValue, name: display.name ?? "", party: contact.party.rawValue,
                internal: contact.isInternal)
        }
        let notes: [NoteDTO]? =
            directory.isInternal(reader)
            ? state.notes.map { note in
                NoteDTO(
                    number: note.number,
                    author: AuthorDTO(id: note.author.rawValue, name: directory.users[note.author]?.name ?? note.author.rawValue),
                    time: ISOTime.format(millis: note.timeMillis), body: note.text)
            } : nil
        self.init(
            thread: ThreadDetail(state, for: reader, in: directory), messages: messages, contacts: contacts,
            unread: Access.unreadCount(of: state, for: reader, in: directory), notes: notes)
    }
}

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
    public init(_ state: ThreadState, for reader: UserID, in directory: Directory, window: MessageWindow? = nil) {
        let visible = Access.visibleMessages(of: state, for: reader, in: directory)
        let (shownMessages, page) = Self.slice(visible, window)
        let messages = shownMessages.map { MessageDTO($0, of: state, for: reader, in: directory) }
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
            unread: Access.unreadCount(of: state, for: reader, in: directory), notes: notes, page: page)
    }

    /// The window's messages (numbers ascend) and what lies beyond them on either side.
    static func slice<C: RandomAccessCollection>(_ visible: C, _ window: MessageWindow?) -> ([PostedMessage], MessagePage?)
    where C.Element == PostedMessage {
        let all = Array(visible)
        guard let window else { return (all, nil) }
        let limit = max(1, window.limit)
        // The range of indices the window may draw from, then its `limit` nearest the cursor.
        let lower = window.after.map { after in all.firstIndex { $0.number > after } ?? all.count } ?? 0
        let upper = window.before.map { before in all.firstIndex { $0.number >= before } ?? all.count } ?? all.count
        let range: Range<Int>
        if lower >= upper {
            range = lower..<lower
        } else if window.after != nil && window.before == nil {
            range = lower..<min(upper, lower + limit)
        } else {
            range = max(lower, upper - limit)..<upper
        }
        let chosen = Array(all[range])
        let hasOlder = range.lowerBound > 0
        let hasNewer = range.upperBound < all.count
        // `before=first` reaches every message below the range, `after=last` every one above it.
        let first = range.lowerBound < all.count ? all[range.lowerBound].number : (all.last?.number ?? 0) + 1
        let last = range.upperBound > 0 ? all[range.upperBound - 1].number : 0
        return (
            chosen,
            MessagePage(
                limit: limit, hasOlder: hasOlder, hasNewer: hasNewer, before: hasOlder ? first : nil,
                after: hasNewer ? last : nil)
        )
    }
}

import Foundation
import Messaging
import Projections

// The inbox's text search, kind filter and orders, shared by both read sides.
extension ReadModels {
    /// Whether `reader`'s view of the thread contains `needle` (lowercased): the title, the ticket
    /// number, the subject's ref, the body of a message they may see, and the opener's and handler's
    /// names and ids as the display policy shows them (a name hidden from the reader never matches).
    /// A purged thread matches nothing: its text is gone.
    public static func textMatches(_ state: ThreadState, needle: String, reader: UserID, in directory: Directory) -> Bool {
        guard !state.isPurged else { return false }
        if needle.isEmpty { return true }
        func has(_ text: String?) -> Bool { text.map { $0.lowercased().contains(needle) } ?? false }
        if has(state.title) || has(state.number) || has(state.subject.ref) { return true }
        for person in [state.openedBy, state.handler].compactMap({ $0 }) {
            let shown = Access.authorDisplay(author: person, reader: reader, thread: state, in: directory)
            if has(shown.name) || has(shown.id?.rawValue) { return true }
        }
        return Access.visibleMessages(of: state, for: reader, in: directory).contains { has($0.text) }
    }

    /// Whether the reader may see a message of this kind on the thread.
    public static func kindMatches(_ state: ThreadState, kind: MessageKind, reader: UserID, in directory: Directory) -> Bool {
        !state.isPurged && Access.visibleMessages(of: state, for: reader, in: directory).contains { $0.kind == kind }
    }

    /// Whether the query needs the thread itself (its messages and people), not only the inbox row.
    public static func needsThread(_ query: InboxQuery) -> Bool { query.text != nil || query.kind != nil }

    /// Whether the query asks for anything but the inbox's own order (newest activity first).
    public static func isSorted(_ query: InboxQuery) -> Bool { query.sort != .lastActivity || query.ascending }

    /// The thread-level filters (`q`, `kind`) for a row that passed `matches`.
    public static func threadMatches(_ state: ThreadState, _ query: InboxQuery, reader: UserID, in directory: Directory) -> Bool {
        if let text = query.text, !textMatches(state, needle: text.lowercased(), reader: reader, in: directory) {
            return false
        }
        if let kind = query.kind, !kindMatches(state, kind: kind, reader: reader, in: directory) { return false }
        return true
    }

    /// `a` comes before `b` in the query's order.
    public static func precedes(_ a: InboxRow, _ b: InboxRow, _ query: InboxQuery) -> Bool {
        func rank<T: CaseIterable & Equatable>(_ value: T) -> Int {
            Array(T.allCases).firstIndex(of: value) ?? 0
        }
        let primary: ComparisonResult
        switch query.sort {
        case .lastActivity:
            primary = a.lastActivityMillis == b.lastActivityMillis ? .orderedSame
                : a.lastActivityMillis < b.lastActivityMillis ? .orderedAscending : .orderedDescending
        case .number:
            primary = (a.number ?? a.subject.ref).compare(b.number ?? b.subject.ref, options: [.numeric, .caseInsensitive])
        case .status:
            let (x, y) = (rank(a.status), rank(b.status))
            primary = x == y ? .orderedSame : x < y ? .orderedAscending : .orderedDescending
        case .priority:
            let (x, y) = (rank(a.priority), rank(b.priority))
            primary = x == y ? .orderedSame : x < y ? .orderedAscending : .orderedDescending
        }
        if primary != .orderedSame { return query.ascending ? primary == .orderedAscending : primary == .orderedDescending }
        if a.lastActivityMillis != b.lastActivityMillis { return a.lastActivityMillis > b.lastActivityMillis }
        return a.thread.rawValue < b.thread.rawValue
    }

    /// One page of already filtered rows in the query's order, with an offset cursor (`cursor` is the
    /// number of items the earlier pages held).
    public static func offsetPage(_ rows: [InboxRow], _ query: InboxQuery, reader: UserID, in directory: Directory) throws
        -> InboxPage
    {
        var offset = 0
        if let cursor = query.cursor {
            guard let value = Int(cursor), value >= 0 else {
                throw InvalidQuery(message: "the cursor is not one this inbox handed out")
            }
            offset = value
        }
        let sorted = rows.sorted { precedes($0, $1, query) }
        let items = sorted.dropFirst(offset).prefix(query.limit).map { InboxItem($0, for: reader, in: directory) }
        let next = offset + items.count < sorted.count ? String(offset + items.count) : nil
        return InboxPage(items: items, nextCursor: next)
    }
}

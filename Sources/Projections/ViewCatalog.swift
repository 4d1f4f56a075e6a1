/// The read models, their versions and their tables. Bumping a version makes the service rebuild that
/// view at start; rows of each version live in tables of their own, so old and new never mix.
public enum ViewName: String, Sendable, CaseIterable, Codable {
    /// Each thread's folded state (fields, messages, read markers) and the fan-out indexes.
    case threads
    /// Per user, the threads they may see, newest activity first, with the filter fields.
    case inbox
    /// Per user and thread, the unread count when it is not zero.
    case unread

    public var version: Int {
        switch self {
        case .threads: 4
        case .inbox: 2
        case .unread: 1
        }
    }

    /// The view's tables; `Table.name(generation:)` gives their names in the store.
    public var tables: [Table] {
        switch self {
        case .threads: [.threads, .threadMessages, .threadsByStructure, .threadsByCategory, .threadsBySubject, .threadsByRole]
        case .inbox: [.inbox, .inboxAudience]
        case .unread: [.unread]
        }
    }
}

/// A table of a view. Keys are built by `ViewKeys`.
public enum Table: String, Sendable, CaseIterable {
    /// thread id → the thread's state without its messages (`ViewCodec`).
    case threads
    /// thread id, 0, message number (u32 BE) → the message (`ViewCodec`); written once per message.
    case threadMessages = "thread_messages"
    /// structure id, 0, thread id → empty.
    case threadsByStructure = "threads_by_structure"
    /// category id (empty for none), 0, thread id → empty.
    case threadsByCategory = "threads_by_category"
    /// subject kind, `-`, ref, 0, thread id → empty.
    case threadsBySubject = "threads_by_subject"
    /// role, 0, thread id → empty: threads opened with extra handler roles.
    case threadsByRole = "threads_by_role"
    /// user id, 0, inverted last-activity ms (8 bytes BE), thread id → `InboxRow` (JSON).
    case inbox
    /// thread id → `AudienceRow` (JSON): who got inbox rows, under which activity key.
    case inboxAudience = "inbox_audience"
    /// user id, 0, thread id → unread count (4 bytes BE).
    case unread

    public var view: ViewName {
        switch self {
        case .threads, .threadMessages, .threadsByStructure, .threadsByCategory, .threadsBySubject, .threadsByRole: .threads
        case .inbox, .inboxAudience: .inbox
        case .unread: .unread
        }
    }

    /// `inbox.v1.g3`: the view's version and the generation being read or built.
    public func name(generation: Int) -> String { "\(rawValue).v\(view.version).g\(generation)" }
}

/// Where a view stands; kept in the store's `views` table, written with the rows it covers.
public struct ViewPointer: Codable, Sendable, Hashable {
    public var version: Int
    /// The generation readers use.
    public var generation: Int
    /// The last log position the view covers.
    public var checkpoint: UInt64

    public init(version: Int, generation: Int, checkpoint: UInt64) {
        self.version = version
        self.generation = generation
        self.checkpoint = checkpoint
    }
}

import EventLog
import Messaging

/// One change of a thread, as a user's feed carries it.
public struct FeedItem: Sendable, Hashable {
    public var position: UInt64
    public var thread: String
    /// The event's type (`message.posted`, `thread.status_changed`, …).
    public var type: String
    public var time: String
    /// For `message.posted`: the message as the display policy shows it to the user.
    public var message: MessageDTO?

    public init(position: UInt64, thread: String, type: String, time: String, message: MessageDTO?) {
        self.position = position
        self.thread = thread
        self.type = type
        self.time = time
        self.message = message
    }
}

/// A user's view of the log: only events of threads they may read, recorded where they may see them
/// (a structure member who joined late sees nothing from before), authors as the display policy shows
/// them. No event store offers such a stream; it is folded here from the thread states.
public enum UserFeed {
    static let shownTypes: Set<String> = Set(
        [
            EventType.threadOpened, .messagePosted, .handlerAssigned, .threadStatusChanged, .threadBlocked,
            .threadUnblocked, .threadAttributesChanged,
        ].map(\.rawValue))

    public static func items(
        _ events: [RecordedEvent], for user: UserID, handler: CommandHandler
    ) throws -> [FeedItem] {
        var directory: Directory?
        var items: [FeedItem] = []
        for event in events where event.stream.hasPrefix("thread-") && !event.isPurged {
            // What readers of a thread see change; not when others read it, nor the administrator's holds.
            if event.type == EventType.readMarkerMoved.rawValue {
                guard event.actor == user.rawValue else { continue }
            } else if !Self.shownTypes.contains(event.type) && event.type != EventType.notePosted.rawValue {
                continue
            }
            let id = ThreadID(String(event.stream.dropFirst("thread-".count)))
            guard let state = try handler.threadState(id), !state.isPurged else { continue }
            let current = try directory ?? handler.currentDirectory()
            directory = current
            guard Access.canRead(user, state, current, atPosition: event.position) else { continue }
            // A note reaches the internal side's feeds only, without its text.
            if event.type == EventType.notePosted.rawValue && !current.isInternal(user) { continue }
            var message: MessageDTO?
            if let posted = state.messages.last(where: { $0.position == event.position }) {
                message = MessageDTO(posted, of: state, for: user, in: current)
            }
            items.append(
                FeedItem(
                    position: event.position, thread: id.rawValue, type: event.type,
                    time: ISOTime.format(millis: event.timeMillis), message: message))
        }
        return items
    }
}

import EventLog
import Foundation
import Messaging
import Projections
import Synchronization

/// The fallback read side: answers every query by folding threads straight from the log (kept
/// current incrementally: each call first folds what was appended since the last one) and applying
/// the pure `Access` rules. Correct, and always at the log's head, so `minPosition` never waits; but
/// every inbox scans all threads, so the projection-backed read models replace it when present
/// (`makeReadQueries` in `threadlog serve` picks the implementation).
public final class LogFoldQueries: ReadQueries {
    private struct State {
        var threads: [ThreadID: ThreadFold] = [:]
        var position: UInt64 = 0
    }

    private let store: any EventStore
    private let handler: CommandHandler
    private let state = Mutex(State())

    /// Folds the log that `handler` appends to.
    public init(handler: CommandHandler) {
        self.store = handler.store
        self.handler = handler
    }

    /// Every thread, folded up to the log's head (or further, if writes land meanwhile).
    private func threads() throws -> [ThreadID: ThreadFold] {
        try state.withLock { state in
            while true {
                let batch = try store.read(from: state.position + 1, limit: 4096)
                guard let last = batch.last else { break }
                for recorded in batch where recorded.stream.hasPrefix("thread-") {
                    let id = ThreadID(String(recorded.stream.dropFirst("thread-".count)))
                    try state.threads[id, default: ThreadFold()].apply(recorded)
                }
                state.position = last.position
            }
            return state.threads
        }
    }

    /// A thread as this read side folded it, `nil` when it does not exist. Not access-checked.
    public func threadState(_ id: ThreadID) throws -> ThreadState? { try threads()[id]?.state }

    /// Every thread as folded, purged ones left out (they leave every inbox, as in the read models).
    private func liveThreads() throws -> some Sequence<ThreadState> {
        try threads().values.lazy.compactMap(\.state).filter { !$0.isPurged }
    }

    public func threadView(_ id: ThreadID, reader: UserID, window: MessageWindow?, minPosition: UInt64) async throws
        -> ThreadView
    {
        let directory = try handler.currentDirectory()
        guard let thread = try threadState(id), Access.canRead(reader, thread, directory) else {
            throw DomainError.threadNotFound(id)
        }
        guard !thread.isPurged else { throw DomainError.threadPurged(id) }
        return ThreadView(thread, for: reader, in: directory, window: window)
    }

    public func inbox(_ query: InboxQuery, reader: UserID, minPosition: UInt64) async throws -> InboxPage {
        let directory = try handler.currentDirectory()
        var rows: [InboxRow] = []
        for thread in try liveThreads() where Access.canRead(reader, thread, directory) {
            let row = InboxRow(thread: thread, for: reader, in: directory)
            guard ReadModels.matches(row, query, needle: nil, reader: reader, in: directory),
                ReadModels.threadMatches(thread, query, reader: reader, in: directory)
            else { continue }
            rows.append(row)
        }
        do {
            return try ReadModels.offsetPage(rows, query, reader: reader, in: directory)
        } catch where !ReadModels.isSorted(query) {
            // The fold has always paged by offset; in its own order an unreadable cursor starts over,
            // as it did. A sorted inbox refuses it, as the read models do.
            var first = query
            first.cursor = nil
            return try ReadModels.offsetPage(rows, first, reader: reader, in: directory)
        }
    }

    public func unread(reader: UserID, minPosition: UInt64) async throws -> UnreadSummary {
        let directory = try handler.currentDirectory()
        var rows: [UnreadThread] = []
        for thread in try liveThreads() where Access.canRead(reader, thread, directory) {
            let count = Access.unreadCount(of: thread, for: reader, in: directory)
            if count > 0 { rows.append(UnreadThread(id: thread.id.rawValue, unread: count)) }
        }
        rows.sort { $0.id < $1.id }
        return UnreadSummary(total: rows.reduce(0) { $0 + $1.unread }, threads: rows)
    }
}

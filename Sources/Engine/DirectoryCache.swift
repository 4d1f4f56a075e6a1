import EventLog
import Messaging
import Synchronization

/// The directory (parties, users, structures, categories, settings) folded from the log (`DirectoryFold`),
/// kept current by reading whatever was appended since the last look.
final class DirectoryCache: Sendable {
    private struct State {
        var directory = Directory()
        var position: UInt64 = 0
    }

    private let store: any EventStore
    private let state = Mutex(State())

    init(store: any EventStore) {
        self.store = store
    }

    /// Starts from `directory` as of `position` (a snapshot of the views) unless the cache is further.
    func seed(_ directory: Directory, at position: UInt64) {
        state.withLock { state in
            guard position > state.position else { return }
            state.directory = directory
            state.position = position
        }
    }

    /// The token revision of the directory as last folded, without reading the log.
    var tokenRevision: Int { state.withLock { $0.directory.tokenRevision } }

    /// The directory as of the log's current head, and that position.
    func current() throws -> (Directory, UInt64) {
        var fold = state.withLock { DirectoryFold($0.directory, at: $0.position) }
        try fold.advance(in: store)
        return keep(fold)
    }

    /// `current()` for async callers: the log's reads are awaited.
    func fetch() async throws -> (Directory, UInt64) {
        var fold = state.withLock { DirectoryFold($0.directory, at: $0.position) }
        try await fold.advance(awaiting: store)
        return keep(fold)
    }

    private func keep(_ fold: DirectoryFold) -> (Directory, UInt64) {
        state.withLock { state in
            // Another caller may have caught up further meanwhile; keep the newer fold.
            if fold.position > state.position {
                state.directory = fold.directory
                state.position = fold.position
            }
        }
        return (fold.directory, fold.position)
    }
}

/// How many log events the directory folds visited in this process (`/metrics`): after a start they
/// read only what the log gained since the views' last snapshot, not the whole log.
public enum DirectoryFolds {
    private static let visited = Atomic<Int>(0)

    public static var eventsRead: Int { visited.load(ordering: .relaxed) }

    static func count(_ events: Int) {
        if events > 0 { visited.add(events, ordering: .relaxed) }
    }
}

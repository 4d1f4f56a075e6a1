import EventLog
import Messaging
import Synchronization

/// The directory (parties, users, structures, categories, settings) folded from the log, kept current
/// by reading whatever was appended since the last look.
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

    /// The token revision of the directory as last folded, without reading the log.
    var tokenRevision: Int { state.withLock { $0.directory.tokenRevision } }

    /// The directory as of the log's current head, and that position.
    func current() throws -> (Directory, UInt64) {
        var (directory, position) = state.withLock { ($0.directory, $0.position) }
        // Usually a few events since the last look: visited in place (only directory events are built),
        // in short reads of at most 4096.
        var full = true
        while full {
            var seen = 0
            try store.forEachDirectoryEvent(from: position + 1) { at, recorded in
                if let recorded { directory = Directory.evolve(directory, try recorded.decoded()) }
                position = at
                seen += 1
                return seen < 4096
            }
            full = seen == 4096
        }
        state.withLock { state in
            // Another caller may have caught up further meanwhile; keep the newer fold.
            if position > state.position {
                state.directory = directory
                state.position = position
            }
        }
        return (directory, position)
    }
}

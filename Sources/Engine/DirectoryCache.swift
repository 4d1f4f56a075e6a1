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
        while true {
            let batch = try store.read(from: position + 1, limit: 4096)
            guard let last = batch.last else { break }
            for recorded in batch where recorded.isDirectoryEvent {
                directory = Directory.evolve(directory, try recorded.decoded())
            }
            position = last.position
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

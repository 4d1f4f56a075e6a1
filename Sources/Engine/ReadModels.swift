import EventLog
import Foundation
import Logging
import Messaging
import Projections
import Synchronization

/// The projection runner and the queries it serves. The runner reads the log in batches and writes each
/// batch's view rows and the views' checkpoints in one transaction of the view store, so a restart
/// (even after kill -9) resumes exactly where the last commit left off. It is a `Service`: catch up,
/// then follow the log until graceful shutdown.
public final class ReadModels: Sendable {
    let log: any EventStore
    let views: ViewStore
    let logger: Logger
    let batchSize: Int
    let maxCachedThreads = 50_000
    let rebuildBatchSize = 50_000

    /// The runner's working state; only the runner (one task at a time) touches it.
    let model = Mutex(ProjectionModel())
    let needsReset = Mutex(true)
    /// What queries see: the directory as of the published position, and who waits for a position.
    struct Published {
        var directory = Directory()
        var position: UInt64 = 0
        /// False until the runner's first batch: the directory is not known before it.
        var ready = false
        var nextID = 0
        var waiters: [Int: (UInt64, CheckedContinuation<Bool, Never>)] = [:]
        var timedOut: Set<Int> = []
    }

    let published = Mutex(Published())
    /// Each view's pointer as last decoded, with the bytes it was decoded from (see `pointers(_:)`).
    let pointerCache = Mutex<[ViewName: (bytes: [UInt8], pointer: ViewPointer)]>([:])
    /// Spaces the runner's commits while the log is busy; a waiting read wakes it.
    let pacer: CommitPacer

    /// `commitInterval` is the shortest time between the starts of two catch-ups of the running service
    /// while the log is busy (see `CommitPacer`); a read waiting for a position does not wait for it.
    public init(
        log: any EventStore, views: ViewStore, batchSize: Int = 2000, commitInterval: Duration? = nil,
        logger: Logger = Logger(label: "threadlog.views")
    ) {
        self.log = log
        self.views = views
        self.batchSize = batchSize
        self.pacer = CommitPacer(interval: commitInterval ?? CommitPacer.defaultInterval)
        self.logger = logger
    }

    /// The position the views have published.
    public var position: UInt64 { published.withLock { $0.position } }

    /// The directory as of the published position.
    var publishedDirectory: Directory { published.withLock { $0.directory } }
}

/// The table names of the generations in use.
struct TableNames {
    let threads, messages, byStructure, byCategory, bySubject, byRole, inbox, inboxAudience, unread: String

    init(_ pointers: [ViewName: ViewPointer]) {
        func name(_ table: Table) -> String { table.name(generation: pointers[table.view]?.generation ?? 1) }
        threads = name(.threads)
        messages = name(.threadMessages)
        byStructure = name(.threadsByStructure)
        byCategory = name(.threadsByCategory)
        bySubject = name(.threadsBySubject)
        byRole = name(.threadsByRole)
        inbox = name(.inbox)
        inboxAudience = name(.inboxAudience)
        unread = name(.unread)
    }

    var all: [String] { [threads, messages, byStructure, byCategory, bySubject, byRole, inbox, inboxAudience, unread] }
}

extension Data {
    var bytes: [UInt8] { [UInt8](self) }
}

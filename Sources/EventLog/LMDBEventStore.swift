import Foundation
import Logging
import Synchronization

/// The append-only log on one LMDB environment. Tables:
/// - `events`: 8-byte big-endian position → record (see `Record`);
/// - `streams`: stream name → version (u64) + position of its last event (u64); each record links back to
///   the previous event of its stream, so no per-event index insert is needed;
/// - `commands`: command id → first and last position of the append that carried it;
/// - `meta`: `magic`, `format` and `head` (last position + chain hash).
///
/// Appends go through one writer thread that coalesces concurrent callers into one transaction and one
/// fsync (group commit). Call `close()` when done.
///
/// `@unchecked Sendable`: the environment is thread-safe for reads (`MDB_NOTLS`), all writes happen on the
/// committer's thread, and the remaining mutable state is behind `Mutex`es.
public final class LMDBEventStore: EventStore, GroupCommitting, @unchecked Sendable {
    public static let formatVersion: UInt32 = 1
    static let magic = Array("threadlog.eventlog".utf8)

    /// Replaced only by `compact()`; a reader that holds the old one finishes on it.
    let envRef: Mutex<LMDBEnvironment>
    var env: LMDBEnvironment { envRef.withLock { $0 } }
    /// Commits hold it shared, `compact()` exclusively: no commit lands in an environment being replaced.
    let swapLock = ReadWriteLock()
    /// Shared by every process that has the log open; `compact()` needs it alone.
    let processLock: ProcessLock?
    let options: EventLogOptions
    let events: LMDBDatabase
    let streams: LMDBDatabase
    let commands: LMDBDatabase
    let meta: LMDBDatabase
    let notifier: CommitNotifier
    let committer: Committer?
    let logger: Logger
    /// Bytes the file system must keep free for an append to be taken (see `EventLogOptions.diskReserve`).
    let reserve: Int
    /// Whether the last commit failed for a full disk: the condition is logged when it starts and ends,
    /// not per append.
    let diskFull = Mutex(false)
    public let path: String

    /// Opens the log in `directory` for appending, creating it when absent.
    public static func open(
        directory: String, options: EventLogOptions = .init(), logger: Logger = Logger(label: "threadlog.eventlog")
    ) throws -> LMDBEventStore {
        try LMDBEventStore(directory: directory, readOnly: false, options: options, logger: logger)
    }

    /// Opens an existing log for reading only; the files are not changed.
    public static func openReadOnly(
        directory: String, logger: Logger = Logger(label: "threadlog.eventlog")
    ) throws -> LMDBEventStore {
        try LMDBEventStore(directory: directory, readOnly: true, options: .init(), logger: logger)
    }

    private init(directory: String, readOnly: Bool, options: EventLogOptions, logger: Logger) throws {
        self.logger = logger
        self.path = directory
        self.options = options
        if !readOnly { try Self.recoverInterruptedCompaction(directory) }
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: directory, isDirectory: &isDir) {
            guard isDir.boolValue else { throw EventLogError(.foreign, "\(directory) is not a directory") }
        } else if readOnly {
            throw EventLogError(.missing, "no event log at \(directory)")
        } else {
            do {
                try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw EventLogError(.storage, "cannot create \(directory): \(error.localizedDescription)")
            }
        }
        if readOnly && !fm.fileExists(atPath: directory + "/data.mdb") {
            throw EventLogError(.missing, "no event log at \(directory)")
        }
        let env: LMDBEnvironment
        do {
            env = try LMDBEnvironment(path: directory, readOnly: readOnly, mapSize: options.initialMapSize, maxDatabases: 8)
        } catch {
            if isForeignFileError(error) {
                throw EventLogError(.foreign, "\(directory) does not hold a Threadlog event log (\(error))")
            }
            throw EventLogError(error)
        }
        envRef = Mutex(env)
        reserve = readOnly ? 0 : options.reserve(at: directory)
        // A reader on read-only media goes without; it then cannot hold back a compaction it would notice.
        processLock = readOnly ? try? ProcessLock(path: directory + ".lock") : try ProcessLock(path: directory + ".lock")
        (events, streams, commands, meta) = try Self.openTables(env, directory: directory, readOnly: readOnly)
        let metaTable = meta
        let head = try mapFailure { try env.read { txn in try Self.storedHead(txn: txn, meta: metaTable) } }
        notifier = CommitNotifier(head: head.position)
        if readOnly {
            committer = nil
        } else {
            committer = Committer(maxGroupEvents: options.maxGroupEvents, gatherDelay: options.gatherDelay)
            committer?.start(name: "threadlog.log", target: self)
        }
    }

    /// Commits since the log was opened and the appends they carried; their ratio is the mean group size.
    public var groupStatistics: (commits: UInt64, appends: UInt64) { notifier.groupStatistics }

    /// When the last commit of this process became visible to readers (tail latency is measured from it).
    public var lastCommitInstant: ContinuousClock.Instant { notifier.lastPublish }

    /// Stops accepting appends, finishes the queued ones and wakes every subscriber.
    public func close() {
        committer?.close()
        notifier.close()
    }
}

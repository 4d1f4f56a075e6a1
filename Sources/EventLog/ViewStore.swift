import Foundation
import Logging
import Synchronization

/// The read models' own LMDB environment beside the log, so projecting never holds the log's write
/// lock. Named tables of bytes; the projection runner writes each batch's rows and its checkpoint in
/// one transaction. Knows tables, keys and bytes, not the views.
///
/// `@unchecked Sendable`: reads may run on any thread (`MDB_NOTLS`); a write transaction begins and ends
/// inside one synchronous closure, so on one thread; table handles are opened in transactions of their own
/// under `tables`' lock, as LMDB requires.
public final class ViewStore: @unchecked Sendable {
    static let magic = Array("threadlog.views".utf8)
    public static let formatVersion: UInt32 = 1

    /// The environment and the table handles opened in it; replaced together by `compact()`.
    private struct Handles {
        var env: LMDBEnvironment
        var tables: [String: LMDBDatabase]
    }

    private let handles: Mutex<Handles>
    private let swapLock = ReadWriteLock()
    /// The writer lane: the thread every write runs on (see `write(_:)`), started at its first use.
    private let lanes = Mutex<Lane?>(nil)
    /// Shared by every process that has the views open; `compact()` needs it alone.
    private let processLock: ProcessLock?
    var env: LMDBEnvironment { handles.withLock { $0.env } }
    private let logger: Logger
    public let path: String
    public let readOnly: Bool

    public static func open(
        directory: String, readOnly: Bool = false, initialMapSize: Int = 256 << 20,
        logger: Logger = Logger(label: "threadlog.views")
    ) throws -> ViewStore {
        try ViewStore(directory: directory, readOnly: readOnly, mapSize: initialMapSize, logger: logger)
    }

    private init(directory: String, readOnly: Bool, mapSize: Int, logger: Logger) throws {
        self.path = directory
        self.readOnly = readOnly
        self.logger = logger
        let fm = FileManager.default
        if !fm.fileExists(atPath: directory + "/data.mdb") {
            guard !readOnly else { throw EventLogError(.missing, "no views at \(directory)") }
            do {
                try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw EventLogError(.storage, "cannot create \(directory): \(error.localizedDescription)")
            }
        }
        if !readOnly { try LMDBEventStore.recoverInterruptedCompaction(directory) }
        let env: LMDBEnvironment
        do {
            env = try LMDBEnvironment(path: directory, readOnly: readOnly, mapSize: mapSize, maxDatabases: 256, durableMeta: false)
        } catch {
            if isForeignFileError(error) { throw EventLogError(.foreign, "\(directory) does not hold Threadlog views") }
            throw EventLogError(error)
        }
        handles = Mutex(Handles(env: env, tables: [:]))
        processLock = readOnly ? try? ProcessLock(path: directory + ".lock") : try ProcessLock(path: directory + ".lock")
        try prepare(tables: ["meta"])
        let stamp = try read { txn in try txn.get("meta", Array("magic".utf8)) }
        if let stamp {
            guard stamp == Self.magic else { throw EventLogError(.foreign, "\(directory) does not hold Threadlog views") }
        } else if !readOnly {
            // Before the store is shared: no other writer exists yet.
            try writeOnLane { txn, _ in try txn.put("meta", Array("magic".utf8), Self.magic) }
        }
    }

    /// Opens the tables (creating them unless read-only) so transactions can use them.
    public func prepare(tables names: [String]) throws {
        try handles.withLock { handles in
            let missing = names.filter { handles.tables[$0] == nil }
            guard !missing.isEmpty else { return }
            let opened = try mapFailure { try handles.env.openDatabases(missing, create: !readOnly) }
            handles.tables.merge(opened) { old, _ in old }
        }
    }

    /// A short read transaction. A table that does not exist reads as empty.
    public func read<R>(_ body: (borrowing ViewTransaction) throws -> R) throws -> R {
        let current = handles.withLock { $0 }
        return try mapFailure {
            try current.env.read(wrappedIn: { ViewTransaction(txn: $0, tables: current.tables) }) { txn in try body(txn) }
        }
    }

    /// A write transaction: committed when `body` returns, aborted when it throws. When the map is full
    /// the transaction is aborted, the map grows and `body` runs again in a new transaction, so `body`
    /// must not have effects outside the transaction; a body that has (state it changes in place) uses
    /// `write(attempts:)`, which tells it that it runs again.
    ///
    /// Every write runs on the store's writer lane (`threadlog.vwrite`), its single writer: the calling
    /// thread waits meanwhile. For threads of their own (the projectors' catch-ups); async code uses
    /// `queuedWrite(_:)`, which waits without holding a thread.
    @available(*, noasync, message: "await queuedWrite(_:), which holds no thread of the cooperative pool")
    public func write<R>(_ body: (borrowing ViewTransaction) throws -> R) throws -> R {
        try write(attempts: { txn, _ in try body(txn) })
    }

    /// A write transaction as `write(_:)`, whose body learns which attempt it is (1, then 2 and on after
    /// the map grew): a body that keeps state outside the transaction starts that over on a later one.
    @available(*, noasync, message: "await queuedWrite(attempts:), which holds no thread of the cooperative pool")
    public func write<R>(attempts body: (borrowing ViewTransaction, _ attempt: Int) throws -> R) throws -> R {
        guard !readOnly else { throw EventLogError(.readOnly, "the views at \(path) are open read-only") }
        let lane = self.lane()
        if lane.isCurrent { return try writeOnLane(body) }
        return try withoutActuallyEscaping(body) { body in
            let job = LaneJob(body: { try self.writeOnLane(body) })
            lane.thread.submit { job.run() }
            job.done.wait()
            return try job.result!.get()
        }
    }

    /// A write transaction as `write(_:)`, run on the store's writer lane: an async caller (a request
    /// handler, the mail sender) waits for it, and for LMDB's writer lock, without holding a thread of
    /// the cooperative pool. The body runs again after the map grew, as in `write(_:)`.
    public func queuedWrite<R: Sendable>(
        _ body: @escaping @Sendable (borrowing ViewTransaction) throws -> R
    ) async throws -> R {
        try await queuedWrite(attempts: { txn, _ in try body(txn) })
    }

    /// `queuedWrite(_:)` whose body learns which attempt it is, as in `write(attempts:)`.
    public func queuedWrite<R: Sendable>(
        attempts body: @escaping @Sendable (borrowing ViewTransaction, _ attempt: Int) throws -> R
    ) async throws -> R {
        guard !readOnly else { throw EventLogError(.readOnly, "the views at \(path) are open read-only") }
        return try await lane().thread.run { try self.writeOnLane(body) }
    }

    /// The nice value the lane adds to the process's own: the lane runs the projectors' batches, which
    /// ran on their catch-up threads at that lower priority, so request threads still come first when
    /// the machine is saturated.
    static let laneNiceness: Int32 = 10

    /// The writer lane, started at its first use.
    private func lane() -> Lane {
        lanes.withLock { lane in
            if let lane { return lane }
            let started = Lane(thread: SerialThread(name: "threadlog.vwrite", niceness: Self.laneNiceness))
            started.thread.submit { started.owner.withLock { $0 = pthread_self() } }
            lane = started
            return started
        }
    }

    private final class Lane: Sendable {
        let thread: SerialThread
        /// The lane's thread, known once its first job ran.
        let owner = Mutex<pthread_t?>(nil)
        init(thread: SerialThread) { self.thread = thread }

        /// Whether the caller runs on the lane (a body that writes again runs at once, not queued behind itself).
        var isCurrent: Bool {
            owner.withLock { owner in owner.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
        }
    }

    /// A synchronous caller's write handed to the lane; the caller waits on `done` until it ran, so the
    /// body (which may capture the caller's state) never outlives the call.
    private final class LaneJob<R>: @unchecked Sendable {
        private var body: (() throws -> R)?
        private(set) var result: Result<R, any Error>?
        let done = DispatchSemaphore(value: 0)
        init(body: @escaping () throws -> R) { self.body = body }

        func run() {
            result = Result { try body!() }
            body = nil
            done.signal()
        }
    }

    /// The write itself; only ever on the lane (or while the store opens, before anyone else can write).
    private func writeOnLane<R>(_ body: (borrowing ViewTransaction, _ attempt: Int) throws -> R) throws -> R {
        guard !readOnly else { throw EventLogError(.readOnly, "the views at \(path) are open read-only") }
        return try swapLock.withReadLock {
            var attempt = 0
            while true {
                let current = handles.withLock { $0 }
                attempt += 1
                do {
                    return try current.env.write(wrappedIn: { ViewTransaction(txn: $0, tables: current.tables) }) { txn in
                        try body(txn, attempt)
                    }
                } catch let failure as LMDBFailure where failure.isMapFull {
                    let size = current.env.mapSize * 2
                    logger.info("views map full; growing", metadata: ["size": "\(size)"])
                    try mapFailure { try current.env.setMapSize(size) }
                } catch let failure as LMDBFailure {
                    throw EventLogError(failure, path: path)
                }
            }
        }
    }

    /// Rewrites the views into a compacted copy (free pages, which may still hold removed rows, are
    /// left out) and swaps it in; writers wait meanwhile, readers finish on the old copy. Returns false,
    /// changing nothing, while another process has the views open.
    @discardableResult
    public func compact() throws -> Bool {
        guard !readOnly else { throw EventLogError(.readOnly, "the views at \(path) are open read-only") }
        guard let processLock else { return false }
        return try processLock.whileAlone { try swapLock.withWriteLock {
            let current = handles.withLock { $0 }
            let old = try replaceWithCompactedCopy(current.env, at: path)
            let replacement = try mapFailure {
                try LMDBEnvironment(path: path, readOnly: false, mapSize: current.env.mapSize, maxDatabases: 256, durableMeta: false)
            }
            // The same tables, opened before anyone sees the new environment.
            let tables = try mapFailure { try replacement.openDatabases(Array(current.tables.keys), create: false) }
            handles.withLock { $0 = Handles(env: replacement, tables: tables) }
            try? FileManager.default.removeItem(atPath: old)
        } }
    }

    /// Bytes in use by the environment's file.
    public var fileSize: Int {
        (try? FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as? Int) ?? 0
    }
}

/// One transaction on the view store; cannot escape the closure that received it.
public struct ViewTransaction: ~Copyable {
    fileprivate let txn: LMDBTransaction
    fileprivate let tables: [String: LMDBDatabase]

    /// Takes over `txn`, which the environment hands only to the wrapper it then lends to `body`.
    fileprivate init(txn: consuming LMDBTransaction, tables: [String: LMDBDatabase]) {
        self.txn = txn
        self.tables = tables
    }

    private func table(_ name: String) throws -> LMDBDatabase {
        guard let table = tables[name] else {
            throw EventLogError(.invalidArgument, "view table '\(name)' was not prepared")
        }
        return table
    }

    /// Whether `table` was prepared before this transaction began (see `ViewStore.prepare(tables:)`).
    public func hasTable(_ table: String) -> Bool { tables[table] != nil }

    public func get(_ table: String, _ key: [UInt8]) throws -> [UInt8]? {
        guard let db = tables[table] else { return nil }
        return try txn.get(db, key)
    }

    /// Calls `body` with the value's bytes, valid only during the call; `nil` when absent.
    public func withValue<R>(_ table: String, _ key: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        guard let db = tables[table] else { return try body(nil) }
        return try txn.get(db, key, body)
    }

    public func put(_ table: String, _ key: [UInt8], _ value: [UInt8]) throws {
        try txn.put(try self.table(table), key, value)
    }

    /// Puts a row unless one with that key is there: a lookup dirties no page, an overwrite does.
    public func putIfAbsent(_ table: String, _ key: [UInt8], _ value: [UInt8]) throws {
        if try withValue(table, key, { $0 == nil }) { try put(table, key, value) }
    }

    public func delete(_ table: String, _ key: [UInt8]) throws {
        try txn.delete(try self.table(table), key)
    }

    /// Removes every row of the table.
    public func empty(_ table: String) throws {
        guard let db = tables[table] else { return }
        try txn.empty(db)
    }

    /// Rows in key order from the first key ≥ `from` while keys start with `prefix`, until `body`
    /// returns false. Value bytes are valid only during the call.
    public func scan(
        _ table: String, prefix: [UInt8], from: [UInt8]? = nil,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        guard let db = tables[table] else { return }
        try txn.scan(db, from: from ?? prefix) { key, value in
            guard key.starts(with: prefix) else { return false }
            return try body(key, value)
        }
    }

    public func count(_ table: String) throws -> Int {
        guard let db = tables[table] else { return 0 }
        return try txn.count(db)
    }
}

/// A view transaction belongs to the thread and the closure that began it.
@available(*, unavailable)
extension ViewTransaction: Sendable {}

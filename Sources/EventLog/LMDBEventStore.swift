import Foundation
import Logging
import Synchronization

/// Options of an LMDB-backed log.
public struct EventLogOptions: Sendable {
    /// The memory map's first size; it grows by doubling whenever a commit needs more.
    public var initialMapSize: Int = 256 << 20
    /// Most events one group commit takes; a single larger append still commits alone.
    public var maxGroupEvents: Int = 8192
    /// How long the writer gathers appends for its next commit while the log is busy (at least
    /// `Committer.busyAppends` appends arrived during the previous commit); zero commits at once.
    /// Fewer, larger commits cost far less per append (each commit writes pages and waits for two
    /// flushes); a quiet log is never delayed.
    public var gatherDelay: Duration = .milliseconds(1)
    /// Appends are refused (`storageFull`) while the file system holding the log has less than this
    /// free, so that the read models and the outbox beside it can still write what the log already
    /// holds. `nil`: 1/64 of the file system, at least 256 KiB and at most 64 MiB; 0: no reserve.
    public var diskReserve: Int? = nil

    public init(
        initialMapSize: Int = 256 << 20, maxGroupEvents: Int = 8192, gatherDelay: Duration = .milliseconds(1),
        diskReserve: Int? = nil
    ) {
        self.initialMapSize = initialMapSize
        self.maxGroupEvents = maxGroupEvents
        self.gatherDelay = gatherDelay
        self.diskReserve = diskReserve
    }

    /// The reserve in bytes for a log at `path`.
    func reserve(at path: String) -> Int {
        if let diskReserve { return max(0, diskReserve) }
        guard let size = fileSystemBytes(path) else { return 0 }
        return min(max(size / 64, 256 << 10), 64 << 20)
    }
}

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
public final class LMDBEventStore: EventStore, @unchecked Sendable {
    public static let formatVersion: UInt32 = 1
    static let magic = Array("threadlog.eventlog".utf8)

    /// Replaced only by `compact()`; a reader that holds the old one finishes on it.
    private let envRef: Mutex<LMDBEnvironment>
    var env: LMDBEnvironment { envRef.withLock { $0 } }
    /// Commits hold it shared, `compact()` exclusively: no commit lands in an environment being replaced.
    let swapLock = ReadWriteLock()
    /// Shared by every process that has the log open; `compact()` needs it alone.
    private let processLock: ProcessLock?
    private let options: EventLogOptions
    let events: LMDBDatabase
    let streams: LMDBDatabase
    let commands: LMDBDatabase
    let meta: LMDBDatabase
    let notifier: CommitNotifier
    let committer: Committer?
    let logger: Logger
    /// Bytes the file system must keep free for an append to be taken (see `EventLogOptions.diskReserve`).
    private let reserve: Int
    /// Whether the last commit failed for a full disk: the condition is logged when it starts and ends,
    /// not per append.
    private let diskFull = Mutex(false)
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
            committer?.start(store: self)
        }
    }

    /// Opens the four tables, creating them in a new environment, and checks that this is our log.
    private static func openTables(
        _ env: LMDBEnvironment, directory: String, readOnly: Bool
    ) throws -> (LMDBDatabase, LMDBDatabase, LMDBDatabase, LMDBDatabase) {
        let meta: LMDBDatabase
        do {
            meta = try env.openDatabase("meta", create: false)
        } catch let failure as LMDBFailure where isNotFound(failure) {
            let main = try env.openDatabase(nil, create: false)
            let isEmpty = try env.read { txn in try txn.count(main) == 0 }
            guard isEmpty else {
                throw EventLogError(.foreign, "\(directory) holds an LMDB environment that is not a Threadlog event log")
            }
            guard !readOnly else { throw EventLogError(.missing, "no event log at \(directory)") }
            meta = try mapFailure { try env.openDatabase("meta", create: true) }
        } catch let failure as LMDBFailure {
            throw EventLogError(failure)
        }
        let (magic, format) = try mapFailure {
            try env.read { txn in
                (try txn.get(meta, Array("magic".utf8)).map(Array.init), try txn.get(meta, Array("format".utf8)).map(Array.init))
            }
        }
        if magic == nil && !readOnly {
            // A new log: stamp it.
            try mapFailure {
                try env.write { txn in
                    try txn.put(meta, Array("magic".utf8), Self.magic)
                    try txn.put(meta, Array("format".utf8), withUnsafeBytes(of: formatVersion.bigEndian) { Array($0) })
                }
            }
        } else {
            guard magic == Self.magic, let format, format.count == 4 else {
                throw EventLogError(.foreign, "\(directory) holds an LMDB environment that is not a Threadlog event log")
            }
            let version = format.withUnsafeBytes { Record.loadBE($0, 0, as: UInt32.self) }
            guard version <= formatVersion else {
                throw EventLogError(
                    .newerFormat,
                    "the event log at \(directory) has format \(version); this build reads format \(formatVersion) and older"
                )
            }
        }
        return try mapFailure {
            (
                try env.openDatabase("events", create: !readOnly), try env.openDatabase("streams", create: !readOnly),
                try env.openDatabase("commands", create: !readOnly), meta
            )
        }
    }

    struct Head {
        var position: UInt64
        var chain: [UInt8]
    }

    static let headKey = Array("head".utf8)

    private static func storedHead(txn: borrowing LMDBTransaction, meta: LMDBDatabase) throws -> Head {
        guard let raw = try txn.get(meta, headKey) else { return Head(position: 0, chain: Record.genesis) }
        guard raw.count == 40 else { throw EventLogError(.corrupt, "the log's head record is damaged") }
        return Head(position: Record.loadBE(raw, 0, as: UInt64.self), chain: Array(raw[8..<40]))
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

    // MARK: Appending

    public func append(_ request: AppendRequest) async throws -> AppendResult {
        guard let committer else { throw EventLogError(.readOnly, "the event log at \(path) is open read-only") }
        try Self.validate(request)
        return try await withCheckedThrowingContinuation { continuation in
            committer.enqueue(Committer.Pending(request: request, continuation: continuation))
        }
    }

    static func validate(_ request: AppendRequest) throws {
        func check(_ value: String, _ what: String, allowEmpty: Bool) throws {
            let count = value.utf8.count
            if count == 0 && !allowEmpty { throw EventLogError(.invalidArgument, "\(what) must not be empty") }
            if count > Record.maxStringBytes {
                throw EventLogError(.invalidArgument, "\(what) is longer than \(Record.maxStringBytes) bytes")
            }
        }
        guard !request.writes.isEmpty else { throw EventLogError(.invalidArgument, "an append needs at least one stream") }
        if let id = request.commandID { try check(id, "command id", allowEmpty: false) }
        var seen = Set<String>()
        for write in request.writes {
            try check(write.stream, "stream name", allowEmpty: false)
            guard seen.insert(write.stream).inserted else {
                throw EventLogError(.invalidArgument, "stream '\(write.stream)' appears twice in one append")
            }
            guard !write.events.isEmpty else {
                throw EventLogError(.invalidArgument, "the append to stream '\(write.stream)' has no events")
            }
            for event in write.events {
                try check(event.type, "event type", allowEmpty: false)
                try check(event.actor, "actor", allowEmpty: true)
                try check(event.correlationID, "correlation id", allowEmpty: true)
                guard event.data.count < Int(UInt32.max) else { throw EventLogError(.invalidArgument, "payload too large") }
            }
        }
    }

    /// Commits one group on the writer thread; returns one outcome per request, in order, and the
    /// log's last position after the commit.
    func commitGroup(_ requests: [AppendRequest]) -> (outcomes: [Result<AppendResult, any Error>], head: UInt64) {
        swapLock.withReadLock { commitGroupLocked(requests) }
    }

    private func commitGroupLocked(_ requests: [AppendRequest]) -> (outcomes: [Result<AppendResult, any Error>], head: UInt64) {
        let env = self.env
        if reserve > 0, let available = availableBytes(path), available < reserve {
            let fault = EventLogError(
                .storageFull, "the disk holding \(path) is full (\(available) bytes free, \(reserve) kept in reserve)")
            noteDiskFull(true, fault)
            return (requests.map { _ in .failure(fault) }, notifier.head)
        }
        while true {
            var outcomes: [Result<AppendResult, any Error>] = []
            outcomes.reserveCapacity(requests.count)
            do {
                let commitTime = Self.nowMillis()
                let position = try env.write { txn in
                    // The head is read inside the transaction, never cached: other processes (the digest
                    // and retention commands beside a running service) append to the same log.
                    let head = try Self.storedHead(txn: txn, meta: meta)
                    var working = head
                    var buffer: [UInt8] = []
                    buffer.reserveCapacity(1024)
                    for request in requests {
                        outcomes.append(
                            try apply(request, txn: txn, head: &working, commitTime: commitTime, buffer: &buffer))
                    }
                    if working.position != head.position {
                        var value = Record.key(working.position)
                        value.append(contentsOf: working.chain)
                        try txn.put(meta, Self.headKey, value)
                    }
                    return working.position
                }
                noteDiskFull(false, nil)
                return (outcomes, position)
            } catch let failure as LMDBFailure where failure.isMapFull {
                let newSize = env.mapSize * 2
                logger.info("event log map full; growing", metadata: ["size": "\(newSize)"])
                do {
                    try env.setMapSize(newSize)
                } catch {
                    // The address space is exhausted: as good as a full disk, and it may pass as well.
                    let fault = EventLogError(.storageFull, "cannot grow the event log's map: \(error)")
                    noteDiskFull(true, fault)
                    return (requests.map { _ in .failure(fault) }, notifier.head)
                }
            } catch {
                // LMDB aborted the transaction: nothing of the group was written and the next one starts afresh.
                let fault = (error as? LMDBFailure).map { EventLogError($0, path: path) } ?? error
                if let fault = fault as? EventLogError, fault.code == .storageFull {
                    noteDiskFull(true, fault)
                } else {
                    logger.error("event log commit failed", metadata: ["error": "\(error)"])
                }
                return (requests.map { _ in .failure(fault) }, notifier.head)
            }
        }
    }

    /// Logs when appends start failing for a full disk, and when they succeed again.
    private func noteDiskFull(_ full: Bool, _ fault: EventLogError?) {
        let changed = diskFull.withLock { state in
            defer { state = full }
            return state != full
        }
        guard changed else { return }
        if full {
            logger.error(
                "disk full: appends are refused until space returns; reads go on",
                metadata: ["path": "\(path)", "error": "\(fault?.message ?? "")"])
        } else {
            logger.notice("disk space returned: appends are taken again", metadata: ["path": "\(path)"])
        }
    }

    /// Checks and writes one append inside the group's transaction. A refusal writes nothing.
    private func apply(
        _ request: AppendRequest, txn: borrowing LMDBTransaction, head: inout Head, commitTime: Int64, buffer: inout [UInt8]
    ) throws -> Result<AppendResult, any Error> {
        if let id = request.commandID, let first = try txn.get(commands, Array(id.utf8)) {
            let firstPosition = Record.loadBE(first, 0, as: UInt64.self)
            let lastPosition = Record.loadBE(first, 8, as: UInt64.self)
            return .success(try recordedResult(txn: txn, first: firstPosition, last: lastPosition))
        }
        var heads: [StreamHead?] = []
        heads.reserveCapacity(request.writes.count)
        for write in request.writes {
            let current = try streamHead(txn: txn, write.stream)
            let matches: Bool
            switch write.expected {
            case .any: matches = true
            case .noStream: matches = current == nil
            case .exactly(let version): matches = (current?.version ?? 0) == version
            }
            guard matches else {
                return .failure(VersionConflict(stream: write.stream, expected: write.expected, actual: current?.version))
            }
            heads.append(current)
        }
        let first = head.position + 1
        var versions: [String: UInt64] = [:]
        let commandID = request.commandID ?? ""
        for (write, current) in zip(request.writes, heads) {
            var version = current?.version ?? 0
            var previous = current?.lastPosition ?? 0
            for event in write.events {
                version += 1
                let position = head.position + 1
                head.chain = Record.encode(
                    into: &buffer, position: position, stream: write.stream, version: version, previousInStream: previous,
                    event: event, timeMillis: event.timeMillis ?? commitTime, commandID: commandID, previousChain: head.chain)
                try txn.put(events, Record.key(position), buffer, append: true)
                head.position = position
                previous = position
            }
            var value = Record.key(version)
            value.append(contentsOf: Record.key(previous))
            try txn.put(streams, Array(write.stream.utf8), value)
            versions[write.stream] = version
        }
        if let id = request.commandID {
            var value = Record.key(first)
            value.append(contentsOf: Record.key(head.position))
            try txn.put(commands, Array(id.utf8), value)
        }
        return .success(AppendResult(firstPosition: first, lastPosition: head.position, streamVersions: versions, deduplicated: false))
    }

    /// The result of an earlier append, rebuilt from its events.
    private func recordedResult(txn: borrowing LMDBTransaction, first: UInt64, last: UInt64) throws -> AppendResult {
        var versions: [String: UInt64] = [:]
        try txn.scan(events, from: Record.key(first)) { key, value in
            guard let position = Record.position(ofKey: key), position <= last else { return false }
            guard let view = RecordView(value) else { throw EventLogError(.corrupt, "record at position \(position) is damaged") }
            versions[view.stream] = max(versions[view.stream] ?? 0, view.version)
            return true
        }
        return AppendResult(firstPosition: first, lastPosition: last, streamVersions: versions, deduplicated: true)
    }

    private func streamHead(txn: borrowing LMDBTransaction, _ stream: String) throws -> StreamHead? {
        guard let raw = try txn.get(streams, Array(stream.utf8)) else { return nil }
        guard raw.count == 16 else { throw EventLogError(.corrupt, "the head of stream '\(stream)' is damaged") }
        return StreamHead(version: Record.loadBE(raw, 0, as: UInt64.self), lastPosition: Record.loadBE(raw, 8, as: UInt64.self))
    }

    static func nowMillis() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    // MARK: Erasing

    /// Erases the payloads of the events at `positions` in place: each record keeps its envelope and
    /// payload digest (so the hash chain still verifies) and is marked purged. Returns how many records
    /// changed (already erased ones do not count). The old bytes may linger in LMDB's free pages until
    /// `compact()` rewrites the file.
    public func erase(positions: [UInt64]) throws -> Int {
        guard !env.readOnly else { throw EventLogError(.readOnly, "the event log at \(path) is open read-only") }
        return try swapLock.withReadLock {
            try mapFailure {
                try env.write { txn in
                    var erased = 0
                    for position in positions {
                        guard let raw = try txn.get(events, Record.key(position)) else {
                            throw EventLogError(.invalidArgument, "no event at position \(position)")
                        }
                        guard let view = RecordView(raw) else { throw EventLogError(.corrupt, "record at position \(position) is damaged") }
                        if view.isPurged { continue }
                        var record = Array(UnsafeRawBufferPointer(rebasing: raw[0..<view.stringsEnd]))
                        record[1] |= Record.purgedFlag
                        record.replaceSubrange(40..<44, with: [0, 0, 0, 0])
                        try txn.put(events, Record.key(position), record)
                        erased += 1
                    }
                    return erased
                }
            }
        }
    }

    /// Rewrites the log into a compacted copy (free pages, which may still hold erased bytes, are left
    /// out) and swaps it in. Appends wait meanwhile; readers finish on the old copy, whose files are
    /// then deleted. Interrupted at any point, the next open completes or undoes the swap. Returns false,
    /// changing nothing, while another process has the log open (it would go on using the old files).
    @discardableResult
    public func compact() throws -> Bool {
        guard !env.readOnly else { throw EventLogError(.readOnly, "the event log at \(path) is open read-only") }
        guard let processLock else { return false }
        return try processLock.whileAlone { try swapLock.withWriteLock {
            let old = try replaceWithCompactedCopy(env, at: path)
            let replacement = try mapFailure {
                try LMDBEnvironment(path: path, readOnly: false, mapSize: max(options.initialMapSize, env.mapSize), maxDatabases: 8)
            }
            let reopened = try Self.openTables(replacement, directory: path, readOnly: false)
            guard reopened == (events, streams, commands, meta) else {
                throw EventLogError(.storage, "the compacted log at \(path) opened its tables differently; restart the service")
            }
            envRef.withLock { $0 = replacement }
            try? FileManager.default.removeItem(atPath: old)
            logger.info("event log compacted", metadata: ["path": "\(path)"])
        } }
    }

    /// Finishes or undoes a compaction that a crash interrupted: the copy is complete before any rename.
    static func recoverInterruptedCompaction(_ path: String) throws {
        let fm = FileManager.default
        let fresh = path + ".compact"
        let old = path + ".old"
        if !fm.fileExists(atPath: path) {
            if fm.fileExists(atPath: fresh + "/data.mdb") {
                try fm.moveItem(atPath: fresh, toPath: path)
            } else if fm.fileExists(atPath: old) {
                try fm.moveItem(atPath: old, toPath: path)
            }
        }
        try? fm.removeItem(atPath: fresh)
        try? fm.removeItem(atPath: old)
    }

    // MARK: Reading

    public func read(from position: UInt64, limit: Int) throws -> [RecordedEvent] {
        var out: [RecordedEvent] = []
        guard limit > 0 else { return out }
        // Most reads find a few events (a follower asking what came since its last look); a large
        // reservation up front would cost more than the array's doublings for the few large reads.
        out.reserveCapacity(min(limit, 16))
        try forEach(from: position) { event in
            out.append(event)
            return out.count < limit
        }
        return out
    }

    /// Visits events from `position` on until `body` returns false, in one short read transaction.
    /// Faster than `read` for scans: no array of results is built.
    public func forEach(from position: UInt64, _ body: (RecordedEvent) throws -> Bool) throws {
        try forEachRecord(from: position) { position, view in try body(view.recorded(position: position)) }
    }

    /// Visits the stored records in place; events of other types than `types` cost no allocation.
    public func forEach(
        from position: UInt64, ofTypes types: [[UInt8]], _ body: (UInt64, RecordedEvent?) throws -> Bool
    ) throws {
        try forEachRecord(from: position) { position, view in
            let type = view.typeBytes
            let wanted = types.contains { $0.count == type.count && $0.elementsEqual(type) }
            return try body(position, wanted ? view.recorded(position: position) : nil)
        }
    }

    /// The stored records from `position` on, in place, until `body` returns false.
    private func forEachRecord(from position: UInt64, _ body: (UInt64, RecordView) throws -> Bool) throws {
        try mapFailure {
            try env.read { txn in
                try txn.scan(events, from: Record.key(max(position, 1))) { key, value in
                    guard let position = Record.position(ofKey: key), let view = RecordView(value) else {
                        throw EventLogError(.corrupt, "a stored record does not decode")
                    }
                    return try body(position, view)
                }
            }
        }
    }

    public func readStream(_ stream: String, fromVersion: UInt64, limit: Int) throws -> [RecordedEvent] {
        guard limit > 0 else { return [] }
        return try mapFailure {
            try env.read { txn in
                guard let head = try streamHead(txn: txn, stream), head.version >= fromVersion else { return [] }
                let upper = fromVersion.addingReportingOverflow(UInt64(limit - 1))
                let last = upper.overflow ? head.version : min(upper.partialValue, head.version)
                var out: [RecordedEvent] = []
                out.reserveCapacity(Int(last - max(fromVersion, 1) + 1))
                // Walk the back-links from the head down to the first wanted version.
                var position = head.lastPosition
                while position != 0 {
                    guard let raw = try txn.get(events, Record.key(position)), let view = RecordView(raw) else {
                        throw EventLogError(.corrupt, "stream '\(stream)' links to a missing or damaged record at \(position)")
                    }
                    if view.version < fromVersion { break }
                    if view.version <= last { out.append(view.recorded(position: position)) }
                    position = view.previousInStream
                }
                out.reverse()
                return out
            }
        }
    }

    public func result(ofCommand commandID: String) throws -> AppendResult? {
        try mapFailure {
            try env.read { txn in
                guard let raw = try txn.get(commands, Array(commandID.utf8)), raw.count == 16 else { return nil }
                return try recordedResult(
                    txn: txn, first: Record.loadBE(raw, 0, as: UInt64.self), last: Record.loadBE(raw, 8, as: UInt64.self))
            }
        }
    }

    public func head(of stream: String) throws -> StreamHead? {
        try mapFailure { try env.read { txn in try streamHead(txn: txn, stream) } }
    }

    public func lastPosition() throws -> UInt64 {
        try mapFailure {
            try env.read { txn in
                try txn.last(events) { key, _ in Record.position(ofKey: key) ?? 0 } ?? 0
            }
        }
    }

    /// Wakes waiting tails for what other processes appended (the writer thread calls it when idle).
    func noticeForeignAppends() {
        guard notifier.hasWaiters, let last = try? lastPosition(), last > notifier.head else { return }
        notifier.publish(last, groupSize: 0)
    }

    public func waitForAppend(after position: UInt64) async throws {
        if committer != nil {
            try await notifier.wait(beyond: position)
        } else {
            // Another process writes: follow by polling the head, which is one cheap read.
            while try lastPosition() <= position {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    public func subscribe(after position: UInt64) -> EventSubscription {
        EventSubscription(
            after: position, fetch: { [self] from, limit in try read(from: from, limit: limit) },
            waitBeyond: { [self] position in try await waitForAppend(after: position) })
    }
}

/// Converts LMDB failures into `EventLogError` at the module's edge.
func mapFailure<R>(_ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let failure as LMDBFailure {
        throw EventLogError(failure)
    }
}

/// A reader-writer lock for sections that never await.
///
/// `@unchecked Sendable`: the pthread lock is the synchronisation.
final class ReadWriteLock: @unchecked Sendable {
    private var lock = pthread_rwlock_t()

    init() { pthread_rwlock_init(&lock, nil) }
    deinit { pthread_rwlock_destroy(&lock) }

    func withReadLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return try body()
    }

    func withWriteLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return try body()
    }
}

/// Writes a compacted copy of `env` beside `path` and renames it into place; returns where the old
/// files went (delete them once the new environment is open). A crash at any point is undone or completed
/// by `LMDBEventStore.recoverInterruptedCompaction` on the next open: the copy is complete before any rename.
func replaceWithCompactedCopy(_ env: LMDBEnvironment, at path: String) throws -> String {
    let fm = FileManager.default
    let fresh = path + ".compact"
    let old = path + ".old"
    try? fm.removeItem(atPath: fresh)
    try? fm.removeItem(atPath: old)
    do {
        try fm.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        try mapFailure { try env.copyCompacted(to: fresh) }
        try fm.moveItem(atPath: path, toPath: old)
        try fm.moveItem(atPath: fresh, toPath: path)
        syncDirectory((path as NSString).deletingLastPathComponent)
    } catch let error as EventLogError {
        throw error
    } catch {
        throw EventLogError(.storage, "cannot compact \(path): \(error.localizedDescription)")
    }
    return old
}

/// Makes renames inside `directory` durable.
func syncDirectory(_ directory: String) {
    let fd = open(directory.isEmpty ? "." : directory, O_RDONLY)
    guard fd >= 0 else { return }
    fsync(fd)
    close(fd)
}

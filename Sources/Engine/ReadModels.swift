import EventLog
import Foundation
import Logging
import Messaging
import Projections
import ServiceLifecycle
import Synchronization

/// The views did not reach a requested log position in time.
public struct ViewsLagging: Error, Sendable, CustomStringConvertible {
    public var wanted: UInt64
    public var reached: UInt64
    public var description: String { "the read models reached position \(reached), not yet \(wanted); try again" }
}

/// Where one view stands, for `threadlog project status` and `/metrics`.
public struct ViewStatus: Sendable, Hashable {
    public var name: ViewName
    public var version: Int
    /// The version this build writes; when it differs from `version` the view is rebuilt at start.
    public var codeVersion: Int
    public var generation: Int
    public var checkpoint: UInt64
    public var head: UInt64
    public var lag: UInt64 { head > checkpoint ? head - checkpoint : 0 }
}

/// The projection runner and the queries it serves. The runner reads the log in batches and writes each
/// batch's view rows and the views' checkpoints in one transaction of the view store, so a restart
/// (even after kill -9) resumes exactly where the last commit left off. It is a `Service`: catch up,
/// then follow the log until graceful shutdown.
public final class ReadModels: Sendable {
    let log: any EventStore
    let views: ViewStore
    private let logger: Logger
    private let batchSize: Int
    private let maxCachedThreads = 50_000
    private let rebuildBatchSize = 50_000

    /// The runner's working state; only the runner (one task at a time) touches it.
    private let model = Mutex(ProjectionModel())
    private let needsReset = Mutex(true)
    /// What queries see: the directory as of the published position, and who waits for a position.
    private struct Published {
        var directory = Directory()
        var position: UInt64 = 0
        /// False until the runner's first batch: the directory is not known before it.
        var ready = false
        var nextID = 0
        var waiters: [Int: (UInt64, CheckedContinuation<Bool, Never>)] = [:]
        var timedOut: Set<Int> = []
    }

    private let published = Mutex(Published())
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

    // MARK: Pointers

    static let pointersTable = "views"

    func pointers(_ txn: borrowing ViewTransaction) throws -> [ViewName: ViewPointer] {
        var out: [ViewName: ViewPointer] = [:]
        for view in ViewName.allCases {
            if let bytes = try txn.get(Self.pointersTable, Array(view.rawValue.utf8)) {
                out[view] = try JSONDecoder().decode(ViewPointer.self, from: Data(bytes))
            }
        }
        return out
    }

    func setPointer(_ pointer: ViewPointer, for view: ViewName, _ txn: borrowing ViewTransaction) throws {
        try txn.put(Self.pointersTable, Array(view.rawValue.utf8), try Self.encoder.encode(pointer).bytes)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    /// Creates the pointer of every view that has none, and opens the tables of every generation in use.
    func preparePointers() throws {
        try views.prepare(tables: [Self.pointersTable, DirectorySnapshots.table])
        let current = try views.read { txn in try pointers(txn) }
        if current.count < ViewName.allCases.count && !views.readOnly {
            try views.write { txn in
                let now = try pointers(txn)
                for view in ViewName.allCases where now[view] == nil {
                    try setPointer(ViewPointer(version: view.version, generation: 1, checkpoint: 0), for: view, txn)
                }
            }
        }
        let all = try views.read { txn in try pointers(txn) }
        try views.prepare(tables: all.flatMap { view, pointer in view.tables.map { $0.name(generation: pointer.generation) } })
    }

    // MARK: Running

    /// Applies everything the log holds beyond the views' checkpoints. Returns the position reached.
    @discardableResult
    public func catchUp() throws -> UInt64 {
        try preparePointers()
        while try step() {}
        return position
    }

    /// One batch: read events after the views' checkpoint, apply them, write rows and checkpoints in one
    /// transaction. Returns false when there was nothing to do.
    func step() throws -> Bool {
        // Tables are opened outside the write transaction (LMDB opens them in a transaction of their own).
        let prepared = try views.read { txn in TableNames(try pointers(txn)) }
        try views.prepare(tables: prepared.all)
        return try model.withLock { model in
            var progressed = false
            var reached: UInt64 = 0
            var attempted = false
            do { try views.write { txn in
                // The model is changed in place (copying it per batch would cost more than the batch);
                // if the store runs this body again (after growing its map), start over from the checkpoint.
                if attempted { needsReset.withLock { $0 = true } }
                attempted = true
                let pointers = try pointers(txn)
                let tables = TableNames(pointers)
                guard tables.all == prepared.all else {
                    // A rebuild swapped generations in between: go round again with the new tables.
                    progressed = true
                    return
                }
                let start = pointers.values.map(\.checkpoint).min() ?? 0
                if needsReset.withLock({ $0 }) || model.position != start {
                    // First batch, or someone else (a rebuild) moved the views: start over from their checkpoint.
                    let (directory, stored) = try DirectorySnapshots.directory(
                        asOf: start, owner: Self.directoryOwner, log: log, txn)
                    model = ProjectionModel(directory: directory, position: start)
                    // Kept as of the checkpoint when the store had none for it, so the next start finds it.
                    if !stored { try DirectorySnapshots.record(Self.directoryOwner, directory, through: start, txn) }
                    needsReset.withLock { $0 = false }
                }
                let events = try log.read(from: start + 1, limit: batchSize)
                reached = start
                guard let last = events.last else { return }
                do {
                    var changedDirectory = false
                    for recorded in events {
                        guard let decoded = try recorded.decodedUnlessPurged() else { continue }
                        if let thread = ProjectionModel.thread(of: decoded.event), model.threads.index(forKey: thread) == nil {
                            try loadThread(thread, into: &model, tables: tables, txn)
                        }
                        if decoded.event.type.isDirectory { changedDirectory = true }
                        model.apply(decoded)
                    }
                    try flush(&model, tables: tables, txn)
                    for (view, pointer) in pointers {
                        try setPointer(ViewPointer(version: pointer.version, generation: pointer.generation, checkpoint: last.position), for: view, txn)
                    }
                    try DirectorySnapshots.record(
                        Self.directoryOwner, changedDirectory ? model.directory : nil, through: last.position, txn)
                } catch {
                    // The transaction aborts: the model is ahead of the views; rebuild it from the checkpoint.
                    needsReset.withLock { $0 = true }
                    throw error
                }
                if model.threads.count > maxCachedThreads { model.evictThreads() }
                reached = last.position
                progressed = true
            } } catch {
                // Nothing was committed (or the commit failed): the model may be ahead of the views.
                needsReset.withLock { $0 = true }
                throw error
            }
            publish(model.directory, max(reached, model.position))
            return progressed
        }
    }

    func directoryFold(upTo position: UInt64) throws -> Directory { try foldDirectory(log, upTo: position) }

    /// The views' directory in `DirectorySnapshots`.
    static let directoryOwner = "views"

    /// The directory as the views last stored it, and the position it stands for; `nil` when they hold
    /// none. The command handler starts from it (`CommandHandler.seedDirectory`) and reads only what
    /// the log gained since.
    public func storedDirectory() throws -> (Directory, UInt64)? {
        try? views.prepare(tables: [DirectorySnapshots.table])
        return try views.read { txn in try DirectorySnapshots.stored(Self.directoryOwner, txn) }
    }

    /// A cached thread for the projector, which then knows how many messages the views hold.
    private func loadThread(
        _ id: ThreadID, into model: inout ProjectionModel, tables: TableNames, _ txn: borrowing ViewTransaction
    ) throws {
        guard let state = try readThread(id, tables: tables, txn) else { return }
        model.threads[id] = state
        model.persistedMessages[id] = state.messages.count
        model.unreadTallies[id] = nil
    }

    /// A thread of the views: its row and its messages' rows.
    func readThread(_ id: ThreadID, tables: TableNames, _ txn: borrowing ViewTransaction) throws -> ThreadState? {
        let header = try txn.withValue(tables.threads, ViewKeys.thread(id)) { bytes in
            try bytes.map { bytes in try ViewCodec.decodeThread(bytes) }
        }
        guard var state = header else { return nil }
        state.messages = try readMessages(id, tables: tables, txn)
        return state
    }

    func readMessages(_ id: ThreadID, tables: TableNames, _ txn: borrowing ViewTransaction) throws -> [PostedMessage] {
        var messages: [PostedMessage] = []
        try txn.scan(tables.messages, prefix: ViewKeys.threadPrefix(id)) { _, value in
            messages.append(try ViewCodec.decodeMessage(value))
            return true
        }
        return messages
    }

    /// Every thread of the views, with its messages.
    func readAllThreads(tables: TableNames, _ txn: borrowing ViewTransaction) throws -> [ThreadState] {
        var headers: [ThreadState] = []
        try txn.scan(tables.threads, prefix: []) { _, value in
            headers.append(try ViewCodec.decodeThread(value))
            return true
        }
        for index in headers.indices {
            headers[index].messages = try readMessages(headers[index].id, tables: tables, txn)
        }
        return headers
    }

    /// Writes the rows of every changed thread: its state, the inbox rows and unread counts of everyone
    /// who may see it (and removes those of whoever no longer may).
    private func flush(_ model: inout ProjectionModel, tables: TableNames, _ txn: borrowing ViewTransaction) throws {
        var (dirty, fanOut) = model.takeChanges()
        for target in fanOut {
            let prefix: [UInt8]
            let table: String
            switch target {
            case .structure(let id):
                (table, prefix) = (tables.byStructure, Array(id.rawValue.utf8) + [0])
            case .category(let id):
                (table, prefix) = (tables.byCategory, Array((id?.rawValue ?? "").utf8) + [0])
            case .subject(let subject):
                (table, prefix) = (tables.bySubject, Array(StreamName.subject(subject).utf8) + [0])
            }
            var found: [ThreadID] = []
            try txn.scan(table, prefix: prefix) { key, _ in
                found.append(ThreadID(ViewKeys.secondPart(key)))
                return true
            }
            for id in found where model.threads.index(forKey: id) == nil {
                try loadThread(id, into: &model, tables: tables, txn)
            }
            dirty.formUnion(found)
        }
        let directory = model.directory
        for id in dirty {
            guard let state = model.threads[id] else { continue }
            try txn.put(tables.threads, ViewKeys.thread(id), ViewCodec.encodeHeader(state))
            let persisted = model.persistedMessages[id] ?? 0
            if state.messages.count < persisted {
                // Purged: the message rows go.
                var keys: [[UInt8]] = []
                try txn.scan(tables.messages, prefix: ViewKeys.threadPrefix(id)) { key, _ in
                    keys.append(Array(key))
                    return true
                }
                for key in keys { try txn.delete(tables.messages, key) }
            } else {
                for message in state.messages[persisted...] {
                    try txn.put(tables.messages, ViewKeys.message(thread: id, number: message.number), ViewCodec.encode(message))
                }
            }
            model.persistedMessages[id] = state.messages.count
            for structure in state.structures {
                try txn.putIfAbsent(tables.byStructure, ViewKeys.pair(structure.rawValue, id.rawValue), [])
            }
            try txn.putIfAbsent(tables.byCategory, ViewKeys.pair(state.category?.rawValue ?? "", id.rawValue), [])
            try txn.putIfAbsent(tables.bySubject, ViewKeys.pair(StreamName.subject(state.subject), id.rawValue), [])

            let users = model.audience.users(of: state, in: directory)
            let previous = try txn.withValue(tables.inboxAudience, ViewKeys.thread(id)) { bytes in
                try bytes.map { bytes in try ViewCodec.decodeAudience(bytes) }
            }
            var tallies = model.unreadTallies.removeValue(forKey: id) ?? [:]
            let rows = users.map { user in
                let tally = Access.unreadTally(of: state, for: user, in: directory, extending: tallies[user])
                tallies[user] = tally
                return InboxRow(thread: state, for: user, in: directory, unread: tally.count)
            }
            model.unreadTallies[id] = tallies
            if let previous {
                // Rows the puts below overwrite need no delete first: same inbox key (the activity did
                // not move), or an unread count that stays above zero.
                let stays = Set(users)
                let unread = Set(zip(users, rows).filter { $0.1.unread > 0 }.map(\.0))
                for user in previous.users {
                    if previous.activityMillis != state.lastActivityMillis || !stays.contains(user) {
                        try txn.delete(tables.inbox, ViewKeys.inbox(user: user, activityMillis: previous.activityMillis, thread: id))
                    }
                    if !unread.contains(user) { try txn.delete(tables.unread, ViewKeys.unread(user: user, thread: id)) }
                }
            }
            for (user, row) in zip(users, rows) {
                try txn.put(tables.inbox, ViewKeys.inbox(user: user, activityMillis: state.lastActivityMillis, thread: id), ViewCodec.encode(row))
                if row.unread > 0 {
                    try txn.put(tables.unread, ViewKeys.unread(user: user, thread: id), ViewKeys.encodeCount(row.unread))
                }
            }
            let audience = AudienceRow(activityMillis: state.lastActivityMillis, users: users)
            try txn.put(tables.inboxAudience, ViewKeys.thread(id), ViewCodec.encode(audience))
        }
    }

    private func publish(_ directory: Directory, _ position: UInt64) {
        let ready: [CheckedContinuation<Bool, Never>] = published.withLock { state in
            state.directory = directory
            state.position = position
            state.ready = true
            let due = state.waiters.filter { $0.value.0 <= position }
            for id in due.keys { state.waiters.removeValue(forKey: id) }
            return due.values.map(\.1)
        }
        for continuation in ready { continuation.resume(returning: true) }
    }

    /// Waits until the views have reached `target`, at most `timeout`; throws `ViewsLagging` after that.
    public func wait(for target: UInt64, timeout: Duration = .seconds(5)) async throws {
        if published.withLock({ $0.ready && $0.position >= target }) { return }
        let id = published.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            let waiting: CheckedContinuation<Bool, Never>? = published.withLock { state in
                if let entry = state.waiters.removeValue(forKey: id) { return entry.1 }
                state.timedOut.insert(id)
                return nil
            }
            waiting?.resume(returning: false)
        }
        let reached = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answer: Bool? = published.withLock { state in
                if state.ready && state.position >= target { return true }
                if state.timedOut.remove(id) != nil { return false }
                state.waiters[id] = (target, continuation)
                return nil
            }
            if let answer { continuation.resume(returning: answer) } else { pacer.wake() }
        }
        timer.cancel()
        if !reached { throw ViewsLagging(wanted: target, reached: position) }
    }

    // MARK: Status and rebuild

    public func status() throws -> [ViewStatus] {
        try views.prepare(tables: [Self.pointersTable])
        let head = try log.lastPosition()
        let stored = try views.read { txn in try self.pointers(txn) }
        return ViewName.allCases.map { view in
            let pointer = stored[view]
            return ViewStatus(
                name: view, version: pointer?.version ?? 0, codeVersion: view.version, generation: pointer?.generation ?? 0,
                checkpoint: pointer?.checkpoint ?? 0, head: head)
        }
    }

    /// Rebuilds views from the whole log into new tables (a shadow copy) while the current ones keep
    /// answering, then swaps them in with one commit and empties the old tables.
    public func rebuild(_ selected: Set<ViewName>, progress: (UInt64, UInt64) -> Void = { _, _ in }) throws {
        try preparePointers()
        let current = try views.read { txn in try pointers(txn) }
        let generation = (current.values.map(\.generation).max() ?? 0) + 1
        var shadowPointers: [ViewName: ViewPointer] = [:]
        for view in ViewName.allCases {
            shadowPointers[view] = ViewPointer(version: view.version, generation: generation, checkpoint: 0)
        }
        let shadow = TableNames(shadowPointers)
        try views.prepare(tables: shadow.all)
        try views.write { txn in
            for table in shadow.all { try txn.empty(table) }
        }
        var builder = ProjectionModel()
        let total = try log.lastPosition()
        var done = false
        while !done {
            try views.write { txn in
                var working = builder
                // Large batches: each touched thread's rows are written once per batch.
                let events = try log.read(from: working.position + 1, limit: rebuildBatchSize)
                for recorded in events {
                    guard let decoded = try recorded.decodedUnlessPurged() else { continue }
                    if let thread = ProjectionModel.thread(of: decoded.event), working.threads.index(forKey: thread) == nil {
                        try loadThread(thread, into: &working, tables: shadow, txn)
                    }
                    working.apply(decoded)
                }
                try flush(&working, tables: shadow, txn)
                if working.threads.count > maxCachedThreads { working.evictThreads() }
                if events.isEmpty {
                    // Caught up: swap the selected views in, in this same commit.
                    let now = try pointers(txn)
                    for view in selected {
                        try setPointer(ViewPointer(version: view.version, generation: generation, checkpoint: working.position), for: view, txn)
                        if let old = now[view] {
                            for table in view.tables { try txn.empty(table.name(generation: old.generation)) }
                        }
                    }
                    for view in Set(ViewName.allCases).subtracting(selected) {
                        for table in view.tables { try txn.empty(table.name(generation: generation)) }
                    }
                    done = true
                }
                builder = working
            }
            progress(builder.position, max(total, builder.position))
        }
        needsReset.withLock { $0 = true }
        logger.info("views rebuilt", metadata: ["views": "\(selected.map(\.rawValue).sorted())", "position": "\(builder.position)"])
    }

    /// Views whose stored version differs from this build's: they must be rebuilt.
    public func staleViews() throws -> Set<ViewName> {
        Set(try status().filter { $0.version != $0.codeVersion }.map(\.name))
    }
}

extension ReadModels: Service {
    /// Rebuilds views of an older version, catches up, then follows the log until shutdown.
    public func run() async throws {
        try preparePointers()
        let stale = try staleViews()
        if !stale.isEmpty {
            logger.info("rebuilding views of an older version", metadata: ["views": "\(stale.map(\.rawValue).sorted())"])
            try rebuild(stale)
        }
        await cancelWhenGracefulShutdown {
            let lane = BlockingLane(label: "threadlog.views")
            // A failed batch (a full disk, say) is retried every second: logged when it starts and ends.
            var failing: String?
            following: while !Task.isCancelled {
                do {
                    let started = ContinuousClock.now
                    let reached = try await lane.run { try self.catchUp() }
                    if failing != nil {
                        self.logger.notice("projection resumed", metadata: ["position": "\(reached)"])
                        failing = nil
                    }
                    try await self.log.waitForAppend(after: reached)
                    await self.pacer.pause(since: started)
                } catch is CancellationError {
                    break following
                } catch let error as EventLogError where error.code == .closed {
                    return
                } catch {
                    if failing != "\(error)" {
                        self.logger.error("projection failed; retrying every second", metadata: ["error": "\(error)"])
                        failing = "\(error)"
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            // Stopping: whatever the pacing held back is applied, so the views stop at the log's head.
            do {
                try await lane.run { _ = try self.catchUp() }
            } catch {
                self.logger.error("the last catch-up before stopping failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// The table names of the generations in use.
struct TableNames {
    let threads, messages, byStructure, byCategory, bySubject, inbox, inboxAudience, unread: String

    init(_ pointers: [ViewName: ViewPointer]) {
        func name(_ table: Table) -> String { table.name(generation: pointers[table.view]?.generation ?? 1) }
        threads = name(.threads)
        messages = name(.threadMessages)
        byStructure = name(.threadsByStructure)
        byCategory = name(.threadsByCategory)
        bySubject = name(.threadsBySubject)
        inbox = name(.inbox)
        inboxAudience = name(.inboxAudience)
        unread = name(.unread)
    }

    var all: [String] { [threads, messages, byStructure, byCategory, bySubject, inbox, inboxAudience, unread] }
}

extension Data {
    var bytes: [UInt8] { [UInt8](self) }
}

extension EventStore {
    /// Visits events from `position` on in one short read, handing `body` each event's position and,
    /// for directory events only, the event.
    func forEachDirectoryEvent(from position: UInt64, _ body: (UInt64, RecordedEvent?) throws -> Bool) throws {
        try forEach(from: position, ofTypes: EventType.directoryTypeNames, body)
    }
}

extension EventType {
    /// The UTF-8 names of the directory events.
    static let directoryTypeNames: [[UInt8]] = allCases.filter(\.isDirectory).map { Array($0.rawValue.utf8) }
}

/// The directory as of a log position: `initial` (the directory as of `start`) with the directory
/// events after `start` up to `position` folded in.
func foldDirectory(
    _ log: any EventStore, from initial: Directory = Directory(), after start: UInt64 = 0, upTo position: UInt64
) throws -> Directory {
    var directory = initial
    var next: UInt64 = start + 1
    while next <= position {
        var seen = 0
        try log.forEachDirectoryEvent(from: next) { at, recorded in
            guard at <= position else { return false }
            if let recorded, !recorded.isPurged { directory = Directory.evolve(directory, try recorded.decoded()) }
            next = at + 1
            seen += 1
            return seen < 50_000
        }
        DirectoryFolds.count(seen)
        if seen == 0 { break }
    }
    return directory
}

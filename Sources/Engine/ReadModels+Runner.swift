import EventLog
import Foundation
import Logging
import Messaging
import Projections
import Synchronization

extension ReadModels {
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
            do { try views.write(attempts: { txn, attempt in
                // The model is changed in place (copying it per batch would cost more than the batch);
                // when the store runs this body again (after growing its map), start over from the checkpoint.
                if attempt > 1 { needsReset.withLock { $0 = true } }
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
            }) } catch {
                // Nothing was committed (or the commit failed): the model may be ahead of the views.
                needsReset.withLock { $0 = true }
                throw error
            }
            publish(model.directory, max(reached, model.position))
            return progressed
        }
    }

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
    func loadThread(
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
}

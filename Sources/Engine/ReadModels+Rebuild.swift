import EventLog
import Foundation
import Logging
import Messaging
import Projections
import Synchronization

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

extension ReadModels {
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
            // The batch's model is returned, not kept, until the commit succeeds: when the store runs
            // the body again (after growing its map) it starts from the same model.
            (builder, done) = try views.write { txn -> (ProjectionModel, Bool) in
                var working = builder
                var finished = false
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
                    finished = true
                }
                return (working, finished)
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

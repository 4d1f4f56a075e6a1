import Foundation

extension LMDBEventStore {
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
                        // The record without its payload; `nil` when it was erased before.
                        let erasedRecord: [UInt8]? = try txn.get(events, Record.key(position)) { raw in
                            guard let raw else { throw EventLogError(.invalidArgument, "no event at position \(position)") }
                            guard let view = RecordView(raw) else {
                                throw EventLogError(.corrupt, "record at position \(position) is damaged")
                            }
                            if view.isPurged { return nil }
                            var record = Array(UnsafeRawBufferPointer(rebasing: raw[0..<view.stringsEnd]))
                            record[1] |= Record.purgedFlag
                            record.replaceSubrange(40..<44, with: [0, 0, 0, 0])
                            return record
                        }
                        guard let record = erasedRecord else { continue }
                        try txn.put(events, Record.key(position), record)
                        erased += 1
                    }
                    return erased
                }
            }
        }
    }
}

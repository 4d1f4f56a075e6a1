import Foundation

extension LMDBEventStore {
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
                    let wanted = try txn.get(events, Record.key(position)) { raw in
                        guard let raw, let view = RecordView(raw) else {
                            throw EventLogError(.corrupt, "stream '\(stream)' links to a missing or damaged record at \(position)")
                        }
                        if view.version < fromVersion { return false }
                        if view.version <= last { out.append(view.recorded(position: position)) }
                        position = view.previousInStream
                        return true
                    }
                    if !wanted { break }
                }
                out.reverse()
                return out
            }
        }
    }

    public func result(ofCommand commandID: String) throws -> AppendResult? {
        try mapFailure {
            try env.read { txn in
                let range: (UInt64, UInt64)? = try txn.get(commands, Array(commandID.utf8)) { raw in
                    guard let raw, raw.count == 16 else { return nil }
                    return (Record.loadBE(raw, 0, as: UInt64.self), Record.loadBE(raw, 8, as: UInt64.self))
                }
                guard let (first, last) = range else { return nil }
                return try recordedResult(txn: txn, first: first, last: last)
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
}

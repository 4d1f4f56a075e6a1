import EventLog
import PostgresNIO

extension PostgresEventStore: ErasableLog {
    /// Erases the payloads of the events at `positions`: `data` becomes empty and `purged` true, the
    /// envelope and payload digest stay (so the chain verifies). The old row versions keep the bytes in
    /// the table's files until `compact()`.
    public func erase(positions: [UInt64]) throws -> Int {
        guard !positions.isEmpty else { return 0 }
        let wanted = positions.map { Int64(clamping: $0) }
        return try pool.with { conn in
            try conn.run(
                "UPDATE events SET data = ''::bytea, purged = true WHERE position = ANY(\(wanted)) AND NOT purged RETURNING position",
                logger: logger
            ).count
        }
    }

    /// `VACUUM FULL events`: rewrites the table (and its TOAST table) without dead row versions, so the
    /// erased payloads are no longer in its files. It holds an exclusive lock on `events` meanwhile: the
    /// appends and reads of every node wait. The WAL and base backups still hold the old bytes.
    @discardableResult
    public func compact() throws -> Bool {
        try pool.with { conn in _ = try conn.run("VACUUM FULL events", logger: logger) }
        return true
    }
}

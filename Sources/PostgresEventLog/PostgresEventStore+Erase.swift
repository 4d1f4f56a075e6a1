import EventLog
import Foundation
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
    /// erased payloads are no longer in its files. A row version that a snapshot taken before the erase
    /// may still see would be copied into the new files, so this first waits (up to `patience`) until
    /// no session of the cluster holds a snapshot or transaction older than now; still waiting then, it
    /// changes nothing and returns false (the next retention run compacts). `VACUUM FULL` holds an
    /// exclusive lock on `events` meanwhile: the appends and reads of every node wait. The WAL and base
    /// backups still hold the old bytes.
    @discardableResult
    public func compact() throws -> Bool {
        try compact(patience: .seconds(30))
    }

    public func compact(patience: Duration) throws -> Bool {
        try pool.with { conn in
            guard
                let row = try conn.run("SELECT (txid_current() % 4294967296)::text", logger: logger).first
            else { return false }
            let now = try row.decode(String.self)
            let deadline = ContinuousClock.now + patience
            while true {
                let older = try conn.run(
                    """
                    SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (
                        (backend_xmin IS NOT NULL AND age(backend_xmin) >= age(\(now)::text::xid))
                        OR (backend_xid IS NOT NULL AND age(backend_xid) >= age(\(now)::text::xid)))
                    """, logger: logger
                ).first?.decode(Int64.self) ?? 0
                if older == 0 { break }
                guard ContinuousClock.now < deadline else {
                    logger.warning("compaction deferred: a transaction older than the erase is still open")
                    return false
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            _ = try conn.run("VACUUM FULL events", logger: logger)
            return true
        }
    }
}

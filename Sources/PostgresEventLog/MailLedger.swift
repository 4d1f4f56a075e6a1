import EventLog
import Foundation
import Logging
import PostgresNIO

/// What the nodes of one log share about outgoing mail, in the log's database: the position from
/// which immediate notifications are mailed (fixed by the first node that starts an outbox), and
/// the mails delivered or refused for good, by their deterministic id (`<position>.<index>`). The
/// elected node's sender consults it before sending and records each outcome, so a node that takes
/// over never sends again what another node delivered.
///
/// Tables (created when missing, under the advisory lock the log's tables are created under):
/// `mail_meta (key, value)` and `mail_deliveries (mail_id, delivered, reason, at_ms)`.
public final class MailLedger: Sendable {
    public enum Outcome: Sendable, Hashable {
        case delivered(atMillis: Int64)
        case failed(reason: String)
    }

    let pool: ConnectionPool
    let logger: Logger

    public init(url: PostgresURL, logger: Logger = Logger(label: "threadlog.eventlog")) throws {
        pool = ConnectionPool(url: url, logger: logger, maxIdle: 2)
        self.logger = logger
        do {
            try pool.with { conn in
                try conn.run("BEGIN", logger: logger)
                do {
                    try conn.run("SELECT pg_advisory_xact_lock(7306987)", logger: logger)
                    try conn.run(
                        "CREATE TABLE IF NOT EXISTS mail_meta (key text PRIMARY KEY, value bigint NOT NULL)",
                        logger: logger)
                    try conn.run(
                        """
                        CREATE TABLE IF NOT EXISTS mail_deliveries (
                            mail_id text PRIMARY KEY, delivered boolean NOT NULL, reason text, at_ms bigint NOT NULL)
                        """, logger: logger)
                    try conn.run("COMMIT", logger: logger)
                } catch {
                    _ = try? conn.run("ROLLBACK", logger: logger)
                    throw error
                }
            }
        } catch {
            pool.close()
            throw error
        }
    }

    /// The shared start of immediate notifications: `proposed` when no node fixed one yet, else the
    /// one fixed first.
    public func notifyFrom(proposing proposed: UInt64) throws -> UInt64 {
        try pool.with { conn in
            try conn.run(
                "INSERT INTO mail_meta (key, value) VALUES ('notifyFrom', \(Int64(clamping: proposed))) ON CONFLICT (key) DO NOTHING",
                logger: logger)
            guard let row = try conn.run("SELECT value FROM mail_meta WHERE key = 'notifyFrom'", logger: logger).first
            else {
                throw EventLogError(.corrupt, "the mail ledger lost its start")
            }
            return UInt64(try row.decode(Int64.self))
        }
    }

    /// What became of the mail `id`, `nil` when no node recorded it.
    public func outcome(of id: String) throws -> Outcome? {
        try pool.with { conn in
            guard
                let row = try conn.run(
                    "SELECT delivered, reason, at_ms FROM mail_deliveries WHERE mail_id = \(id)", logger: logger
                )
                .first
            else { return nil }
            let (delivered, reason, at) = try row.decode((Bool, String?, Int64).self)
            return delivered ? .delivered(atMillis: at) : .failed(reason: reason ?? "refused")
        }
    }

    /// Records the mail's outcome; a later record of the same mail replaces it (a resent refusal).
    public func record(_ id: String, _ outcome: Outcome) throws {
        let (delivered, reason, at): (Bool, String?, Int64) =
            switch outcome {
            case .delivered(let at): (true, nil, at)
            case .failed(let reason): (false, reason, Int64(Date().timeIntervalSince1970 * 1000))
            }
        _ = try pool.with { conn in
            try conn.run(
                """
                INSERT INTO mail_deliveries (mail_id, delivered, reason, at_ms) VALUES (\(id), \(delivered), \(reason), \(at))
                ON CONFLICT (mail_id) DO UPDATE SET delivered = EXCLUDED.delivered, reason = EXCLUDED.reason, at_ms = EXCLUDED.at_ms
                """, logger: logger)
        }
    }

    /// Closes the idle connections (PostgresNIO requires a connection to be closed before it is released).
    public func close() { pool.close() }

    deinit { pool.close() }
}

import EventLog
import Logging
import PostgresNIO
import Synchronization

/// The election of one node among those that share a log: a session-level advisory lock
/// (`pg_try_advisory_lock`) held on a connection of its own. The node whose session holds the lock
/// leads; when its process dies (or its connection breaks) the session ends, the lock frees and
/// another node's next attempt takes it.
public final class LeaderLock: Sendable {
    /// The advisory lock key of the leader (the log's tables are created under 7306987).
    public static let defaultKey: Int64 = 7_306_988

    public let url: PostgresURL
    let key: Int64
    let logger: Logger
    private let connection = Mutex<PostgresConnection?>(nil)

    public init(url: PostgresURL, key: Int64 = LeaderLock.defaultKey, logger: Logger) {
        self.url = url
        self.key = key
        self.logger = logger
    }

    /// Tries once to take the lock; true when this node holds it (now or already). A failure to reach
    /// the server is "not taken".
    public func tryAcquire() async -> Bool {
        if connection.withLock({ $0 }) != nil { return await stillHeld() }
        let conn: PostgresConnection
        do {
            conn = try await PostgresConnection.connect(configuration: url.configuration, id: -1, logger: logger)
        } catch {
            logger.debug(
                "leader election: the database is out of reach",
                metadata: ["error": "\(PostgresFailure.describe(error))"])
            return false
        }
        do {
            let rows = try await conn.query("SELECT pg_try_advisory_lock(\(key))", logger: logger).collect()
            if let taken = try rows.first?.decode(Bool.self), taken {
                connection.withLock { $0 = conn }
                return true
            }
        } catch {
            logger.debug("leader election failed", metadata: ["error": "\(PostgresFailure.describe(error))"])
        }
        // A connection must be closed before it is released.
        try? await conn.close()
        return false
    }

    /// Whether the session that took the lock is still there (one round trip on its connection). A
    /// broken connection means the lock is lost: the connection is dropped.
    public func stillHeld() async -> Bool {
        guard let conn = connection.withLock({ $0 }) else { return false }
        do {
            let rows = try await conn.query(
                """
                SELECT count(*) FROM pg_locks
                WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
                    AND ((classid::bigint << 32) | objid::bigint) = \(key)
                """, logger: logger
            ).collect()
            if let count = try rows.first?.decode(Int64.self), count > 0 { return true }
        } catch {
            logger.warning(
                "leader election: the lock's connection broke",
                metadata: ["error": "\(PostgresFailure.describe(error))"])
        }
        await release()
        return false
    }

    /// Gives the lock up by ending its session.
    public func release() async {
        let conn = connection.withLock { conn in
            defer { conn = nil }
            return conn
        }
        try? await conn?.close()
    }
}

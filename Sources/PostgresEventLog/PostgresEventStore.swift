import EventLog
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Options of a PostgreSQL-backed log.
public struct PostgresEventLogOptions: Sendable {
    /// Most events one group commit takes; a single larger append still commits alone.
    public var maxGroupEvents: Int
    /// How long the writer gathers appends while the log is busy (as `EventLogOptions.gatherDelay`).
    public var gatherDelay: Duration
    /// How often waiting tails look at the head when no notification came (LISTEN/NOTIFY is the fast path;
    /// this catches a listener that lost its connection).
    public var pollInterval: Duration

    public init(maxGroupEvents: Int = 8192, gatherDelay: Duration = .milliseconds(1), pollInterval: Duration = .milliseconds(200)) {
        self.maxGroupEvents = maxGroupEvents
        self.gatherDelay = gatherDelay
        self.pollInterval = pollInterval
    }
}

/// The append-only log in a PostgreSQL database, for several service nodes on one log. The tables are
/// described in Schemas/README.md; they are created on first open.
///
/// Appends go through one writer thread per store, which coalesces concurrent callers into one
/// transaction (group commit). Every append transaction moves the one-row `head` table before it
/// writes an event, and holds that row's lock until it commits, so positions are handed out and
/// committed in one order across all nodes: a reader's snapshot always holds a gapless prefix of the
/// log, and a tail never skips an event. A writer that remembers the head commits a group in one
/// statement, which moves the head only from where it remembers it (see `commitGroup`); otherwise
/// it locks the head first and reads what it needs under the lock. Commits announce the new head
/// with NOTIFY; tails wake on it, or on a poll of the head when no notification arrives.
///
/// Reads come two ways: synchronously (waiting for PostgresNIO's futures on the calling thread, never
/// on an event-loop thread), for the projectors' and tools' own threads; and for async callers (the
/// `fetch` reads of `EventStore`), which await the server and hold no thread meanwhile.
public final class PostgresEventStore: EventStore, GroupCommitTarget, GroupCommitting, Sendable {
    public static let formatVersion = 1
    static let magic = "threadlog.eventlog"
    static let channel = "threadlog_log"
    static let columns =
        "position, stream, version, type, schema_version, time_ms, actor, correlation_id, command_id, data, purged, payload_digest, chain_hash, prev_in_stream"

    public let url: PostgresURL
    let logger: Logger
    let pool: ConnectionPool
    /// Tails waiting for the log to grow; woken by this store's commits, by notifications of other
    /// nodes' commits and by the writer's poll of the head.
    let waiters: CommitNotifier
    let writer: Committer
    /// The writer's own connection (opened at the first commit, dropped when it breaks) and its view of
    /// the log; used on the writer's thread only.
    let writerState = Mutex<(connection: PostgresConnection?, view: WriterView?)>((nil, nil))
    private let listener: Listener
    private let closed = Mutex(false)

    /// Connects to the database at `url` and creates the log's tables when they are missing (with
    /// `create` false: throws `EventLogError.missing` instead). Throws `EventLogError.invalidArgument` for a
    /// bad URL, `.storage` when the server cannot be reached and `.foreign` when the database holds other
    /// tables of these names.
    public static func open(
        url: String, create: Bool = true, options: PostgresEventLogOptions = .init(),
        logger: Logger = Logger(label: "threadlog.eventlog")
    ) throws -> PostgresEventStore {
        try PostgresEventStore(url: PostgresURL(url), create: create, options: options, logger: logger)
    }

    public init(
        url: PostgresURL, create: Bool = true, options: PostgresEventLogOptions = .init(),
        logger: Logger = Logger(label: "threadlog.eventlog")
    ) throws {
        self.url = url
        self.logger = logger
        pool = ConnectionPool(url: url, logger: logger)
        do {
            try pool.with { try Self.createSchema($0, create: create, url: url, logger: logger) }
            waiters = CommitNotifier(head: try pool.with { try Self.headPosition($0, logger: logger) })
        } catch {
            pool.close()
            throw error
        }
        writer = Committer(maxGroupEvents: options.maxGroupEvents, gatherDelay: options.gatherDelay)
        listener = Listener(url: url, logger: logger, waiters: waiters)
        writer.start(name: "threadlog.pglog", pollInterval: options.pollInterval, target: self)
    }

    /// Creates the tables in one transaction under an advisory lock, so nodes starting together do not race.
    private static func createSchema(_ connection: PostgresConnection, create: Bool, url: PostgresURL, logger: Logger) throws {
        try connection.run("BEGIN", logger: logger)
        do {
            try connection.run("SELECT pg_advisory_xact_lock(7306987)", logger: logger)
            let (hasMeta, hasEvents) = try connection.run(
                "SELECT to_regclass('meta') IS NOT NULL, to_regclass('events') IS NOT NULL", logger: logger
            ).first!.decode((Bool, Bool).self)
            if hasMeta {
                var magic: String?
                var format: String?
                for row in try connection.run("SELECT key, value FROM meta", logger: logger) {
                    let (key, value) = try row.decode((String, String).self)
                    if key == "magic" { magic = value }
                    if key == "format" { format = value }
                }
                guard magic == Self.magic, let format, let version = Int(format) else {
                    throw EventLogError(.foreign, "the database holds a table 'meta' that is not a Threadlog event log's")
                }
                guard version <= formatVersion else {
                    throw EventLogError(
                        .newerFormat,
                        "the event log in the database has format \(version); this build reads format \(formatVersion) and older")
                }
            } else {
                guard !hasEvents else {
                    throw EventLogError(.foreign, "the database holds a table 'events' that is not a Threadlog event log's")
                }
                guard create else { throw EventLogError(.missing, "no event log in \(url)") }
                for statement: PostgresQuery in [
                    "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)",
                    """
                    CREATE TABLE head (id smallint PRIMARY KEY CHECK (id = 1), position bigint NOT NULL, chain bytea NOT NULL)
                    """,
                    """
                    CREATE TABLE events (
                        position bigint PRIMARY KEY, stream text NOT NULL, version bigint NOT NULL, type text NOT NULL,
                        schema_version integer NOT NULL, time_ms bigint NOT NULL, actor text NOT NULL,
                        correlation_id text NOT NULL, command_id text NOT NULL, data bytea NOT NULL,
                        purged boolean NOT NULL, payload_digest bytea NOT NULL, chain_hash bytea NOT NULL,
                        prev_in_stream bigint NOT NULL, UNIQUE (stream, version))
                    """,
                    "CREATE TABLE streams (stream text PRIMARY KEY, version bigint NOT NULL, last_position bigint NOT NULL)",
                    """
                    CREATE TABLE commands (command_id text PRIMARY KEY, first_position bigint NOT NULL, last_position bigint NOT NULL)
                    """,
                    "INSERT INTO meta VALUES ('magic', \(Self.magic)), ('format', \(String(formatVersion)))",
                    "INSERT INTO head VALUES (1, 0, \(ByteBuffer(bytes: EventChain.genesis)))",
                ] {
                    try connection.run(statement, logger: logger)
                }
            }
            try connection.run("COMMIT", logger: logger)
        } catch {
            _ = try? connection.run("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// Commits since the log was opened and the appends they carried.
    public var groupStatistics: (commits: UInt64, appends: UInt64) { waiters.groupStatistics }

    public func close() {
        let first = closed.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        writer.close()
        writerState.withLock { state in
            defer { state = (nil, nil) }
            return state.connection
        }?.closeAndWait()
        waiters.close()
        listener.close()
        pool.close()
    }

    /// One row of `events`.
    struct Row {
        var position: UInt64
        var stream: String
        var version: UInt64
        var type: String
        var schemaVersion: UInt16
        var timeMillis: Int64
        var actor: String
        var correlationID: String
        var commandID: String
        var data: [UInt8]
        var purged: Bool
        var digest: [UInt8]
        var chain: [UInt8]
        var previousInStream: UInt64

        init(
            position: UInt64, stream: String, version: UInt64, type: String, schemaVersion: UInt16, timeMillis: Int64,
            actor: String, correlationID: String, commandID: String, data: [UInt8], purged: Bool, digest: [UInt8],
            chain: [UInt8], previousInStream: UInt64
        ) {
            self.position = position
            self.stream = stream
            self.version = version
            self.type = type
            self.schemaVersion = schemaVersion
            self.timeMillis = timeMillis
            self.actor = actor
            self.correlationID = correlationID
            self.commandID = commandID
            self.data = data
            self.purged = purged
            self.digest = digest
            self.chain = chain
            self.previousInStream = previousInStream
        }

        init(_ event: RecordedEvent) {
            self.init(
                position: event.position, stream: event.stream, version: event.version, type: event.type,
                schemaVersion: event.schemaVersion, timeMillis: event.timeMillis, actor: event.actor,
                correlationID: event.correlationID, commandID: event.commandID, data: event.data, purged: event.isPurged,
                digest: event.payloadDigest, chain: event.chainHash, previousInStream: event.previousInStream)
        }
    }

    /// Inserts events in multi-row statements (PostgreSQL takes at most 65,535 parameters in one).
    func insertEvents(_ rows: [Row], _ conn: PostgresConnection) throws {
        let perStatement = 2000
        for chunk in stride(from: 0, to: rows.count, by: perStatement) {
            let part = rows[chunk..<min(chunk + perStatement, rows.count)]
            var binds = PostgresBindings(capacity: part.count * 14)
            var values: [String] = []
            values.reserveCapacity(part.count)
            for row in part {
                let n = binds.count
                values.append("(" + (1...14).map { "$\(n + $0)" }.joined(separator: ", ") + ")")
                binds.append(Int64(row.position))
                binds.append(row.stream)
                binds.append(Int64(row.version))
                binds.append(row.type)
                binds.append(Int32(row.schemaVersion))
                binds.append(row.timeMillis)
                binds.append(row.actor)
                binds.append(row.correlationID)
                binds.append(row.commandID)
                binds.append(ByteBuffer(bytes: row.data))
                binds.append(row.purged)
                binds.append(ByteBuffer(bytes: row.digest))
                binds.append(ByteBuffer(bytes: row.chain))
                binds.append(Int64(row.previousInStream))
            }
            try conn.run(
                PostgresQuery(
                    unsafeSQL: "INSERT INTO events (\(Self.columns)) VALUES \(values.joined(separator: ", "))", binds: binds),
                logger: logger)
        }
    }

    func upsertStreams(_ streamRows: [(String, StreamHead)], _ conn: PostgresConnection) throws {
        for chunk in stride(from: 0, to: streamRows.count, by: 5000) {
            let part = streamRows[chunk..<min(chunk + 5000, streamRows.count)]
            var binds = PostgresBindings(capacity: part.count * 3)
            var values: [String] = []
            for (stream, head) in part {
                let n = binds.count
                values.append("($\(n + 1), $\(n + 2), $\(n + 3))")
                binds.append(stream)
                binds.append(Int64(head.version))
                binds.append(Int64(head.lastPosition))
            }
            try conn.run(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO streams (stream, version, last_position) VALUES \(values.joined(separator: ", "))
                        ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version, last_position = EXCLUDED.last_position
                        """, binds: binds), logger: logger)
        }
    }

    /// Records command ids; with `extend`, an existing id's range grows to the given last position.
    func insertCommands(_ commands: [(String, UInt64, UInt64)], _ conn: PostgresConnection, extend: Bool) throws {
        for chunk in stride(from: 0, to: commands.count, by: 5000) {
            let part = commands[chunk..<min(chunk + 5000, commands.count)]
            var binds = PostgresBindings(capacity: part.count * 3)
            var values: [String] = []
            for (id, first, last) in part {
                let n = binds.count
                values.append("($\(n + 1), $\(n + 2), $\(n + 3))")
                binds.append(id)
                binds.append(Int64(first))
                binds.append(Int64(last))
            }
            let conflict = extend ? " ON CONFLICT (command_id) DO UPDATE SET last_position = EXCLUDED.last_position" : ""
            try conn.run(
                PostgresQuery(
                    unsafeSQL: "INSERT INTO commands (command_id, first_position, last_position) VALUES \(values.joined(separator: ", "))"
                        + conflict,
                    binds: binds), logger: logger)
        }
    }

    /// Wakes waiting tails for what other nodes appended when no notification reached us (the writer
    /// thread calls it when idle).
    func pollHead() {
        guard waiters.hasWaiters, let last = try? lastPosition(), last > waiters.head else { return }
        waiters.publish(last, groupSize: 0)
    }

    // MARK: Reading

    static func decodeEvent(_ row: PostgresRow) throws -> RecordedEvent {
        let (position, stream, version, type, schemaVersion, time, actor, correlation, command, data, purged, digest, chain, previous) =
            try row.decode(
                (Int64, String, Int64, String, Int32, Int64, String, String, String, ByteBuffer?, Bool, ByteBuffer, ByteBuffer, Int64)
                    .self)
        return RecordedEvent(
            position: UInt64(position), stream: stream, version: UInt64(version), type: type,
            schemaVersion: UInt16(truncatingIfNeeded: schemaVersion), timeMillis: time, actor: actor, correlationID: correlation,
            commandID: command, data: data.map { Array($0.readableBytesView) } ?? [], isPurged: purged,
            payloadDigest: Array(digest.readableBytesView), chainHash: Array(chain.readableBytesView),
            previousInStream: UInt64(previous))
    }

    public func waitForAppend(after position: UInt64) async throws {
        try await waiters.wait(beyond: position)
    }

    public func subscribe(after position: UInt64) -> EventSubscription {
        EventSubscription(
            after: position, fetch: { [self] from, limit in try read(from: from, limit: limit) },
            waitBeyond: { [self] position in try await waitForAppend(after: position) })
    }
}

func bindings(_ values: any PostgresDynamicTypeEncodable...) -> PostgresBindings {
    var binds = PostgresBindings(capacity: values.count)
    for value in values { binds.append(value) }
    return binds
}

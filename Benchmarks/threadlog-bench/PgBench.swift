import EventLog
import Foundation
import Logging
import PostgresEventLog
import PostgresNIO

// The PostgreSQL log against raw PostgreSQL doing the same writes, on the workload of `log`: one event
// of `recordSize` bytes per command, 10,000 streams, durable commits. Each measurement runs for
// THREADLOG_BENCH_PG_SECONDS (default 5) in a database of its own on the server at `--url`.

let pgAppenders = 64

let pgLogger: Logger = {
    var logger = Logger(label: "threadlog.bench.pg")
    logger.logLevel = .error
    return logger
}()

func pgSeconds() -> Double {
    Double(ProcessInfo.processInfo.environment["THREADLOG_BENCH_PG_SECONDS"] ?? "") ?? 5
}

/// A fresh database for one measurement, so that every figure starts from empty tables.
func pgDatabase(_ base: PostgresURL, _ name: String) throws -> PostgresURL {
    let unique = "bench_\(name)_\(UInt32.random(in: 0...UInt32.max))"
    try base.createDatabase(unique, logger: pgLogger)
    return base.with(database: unique)
}

func pgConnect(_ url: PostgresURL, id: Int) async throws -> PostgresConnection {
    var configuration = PostgresConnection.Configuration(
        host: url.host, port: url.port, username: url.username, password: url.password, database: url.database,
        tls: .disable)
    configuration.options.connectTimeout = .seconds(10)
    return try await PostgresConnection.connect(configuration: configuration, id: id, logger: pgLogger)
}

extension PostgresConnection {
    func exec(_ query: PostgresQuery) async throws {
        for try await _ in try await self.query(query, logger: pgLogger) {}
    }
}

/// Appender `index`'s share of the streams: `thread-k` for every k ≡ index (mod `of`), as in the peers'
/// raw PostgreSQL figures, so that the raw appenders know the next version of each of their streams.
func streamShare(_ index: Int, of count: Int) -> [String] {
    stride(from: index, to: Int(streams), by: count).map { "thread-\($0)" }
}

// MARK: Raw PostgreSQL

/// The raw table: the envelope fields the log also stores for a command's event, the same unique
/// (stream, version) index, positions from a sequence.
func rawSchema(_ url: PostgresURL) async throws {
    let connection = try await pgConnect(url, id: 1)
    try await connection.exec(
        """
        CREATE TABLE events (
            position bigserial PRIMARY KEY, stream text NOT NULL, version bigint NOT NULL, type text NOT NULL,
            actor text NOT NULL, data bytea NOT NULL, UNIQUE (stream, version))
        """)
    try? await connection.close()
}

/// `connections` connections, each inserting one event per transaction (autocommit) into its own share
/// of the streams with the version it expects next, until the deadline.
func rawInserts(_ base: PostgresURL, connections: Int, seconds: Double) async throws -> Double {
    let url = try pgDatabase(base, "raw\(connections)")
    try await rawSchema(url)
    var opened: [PostgresConnection] = []
    for index in 0..<connections { opened.append(try await pgConnect(url, id: 100 + index)) }
    let data = ByteBuffer(bytes: payload)
    let deadline = now() + seconds
    let start = now()
    let written = try await withThrowingTaskGroup(of: Int.self) { group in
        for (index, connection) in opened.enumerated() {
            group.addTask {
                let mine = streamShare(index, of: connections)
                var versions = [Int64](repeating: 0, count: mine.count)
                var picker = StreamPicker(state: UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15)
                var count = 0
                while now() < deadline {
                    let k = Int(picker.nextIndex() % UInt64(mine.count))
                    versions[k] += 1
                    try await connection.exec(
                        "INSERT INTO events (stream, version, type, actor, data) VALUES (\(mine[k]), \(versions[k]), 'message.posted', 'user-1', \(data))"
                    )
                    count += 1
                }
                return count
            }
        }
        return try await group.reduce(0, +)
    }
    let elapsed = now() - start
    for connection in opened { try? await connection.close() }
    return Double(written) / elapsed
}

/// One connection, `batch` events per transaction as one multi-row INSERT (autocommit), until the deadline.
func rawBatches(_ base: PostgresURL, batch: Int, seconds: Double) async throws -> Double {
    let url = try pgDatabase(base, "rawbatch\(batch)")
    try await rawSchema(url)
    let connection = try await pgConnect(url, id: 2)
    var versions = [Int64](repeating: 0, count: Int(streams))
    var picker = StreamPicker()
    var sql = "INSERT INTO events (stream, version, type, actor, data) VALUES "
    sql += (0..<batch).map { "($\($0 * 3 + 1), $\($0 * 3 + 2), 'message.posted', 'user-1', $\($0 * 3 + 3))" }
        .joined(separator: ", ")
    let data = ByteBuffer(bytes: payload)
    var written = 0
    let start = now()
    while now() - start < seconds || written < 2 * batch {
        var binds = PostgresBindings(capacity: batch * 3)
        for _ in 0..<batch {
            let k = Int(picker.nextIndex() % streams)
            versions[k] += 1
            binds.append("thread-\(k)")
            binds.append(versions[k])
            binds.append(data)
        }
        try await connection.exec(PostgresQuery(unsafeSQL: sql, binds: binds))
        written += batch
    }
    let elapsed = now() - start
    try? await connection.close()
    return Double(written) / elapsed
}

// MARK: The PostgreSQL log

/// `appenders` callers spread over `nodes` stores on one database (each store with its own writer and
/// connections, as separate nodes have), one event per append, until the deadline. Returns events/s
/// and the mean group size.
func pgLogAppenders(_ base: PostgresURL, appenders: Int, nodes: Int, seconds: Double) async throws -> (Double, Double) {
    let url = try pgDatabase(base, "log\(appenders)x\(nodes)")
    var stores: [PostgresEventStore] = []
    for _ in 0..<nodes { stores.append(try PostgresEventStore(url: url, logger: pgLogger)) }
    defer { for store in stores { store.close() } }
    let deadline = now() + seconds
    let start = now()
    let written = try await withThrowingTaskGroup(of: Int.self) { group in
        for index in 0..<appenders {
            let store = stores[index % nodes]
            group.addTask {
                let mine = streamShare(index, of: appenders)
                var picker = StreamPicker(state: UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15)
                var count = 0
                while now() < deadline {
                    let stream = mine[Int(picker.nextIndex() % UInt64(mine.count))]
                    _ = try await store.append(AppendRequest(stream: stream, expected: .any, events: [proposed()]))
                    count += 1
                }
                return count
            }
        }
        return try await group.reduce(0, +)
    }
    let elapsed = now() - start
    let (commits, appends) = stores.reduce((UInt64(0), UInt64(0))) { ($0.0 + $1.groupStatistics.commits, $0.1 + $1.groupStatistics.appends) }
    return (Double(written) / elapsed, Double(appends) / Double(max(commits, 1)))
}

/// One caller, `batch` events to random streams per append, until the deadline.
func pgLogBatches(_ base: PostgresURL, batch: Int, seconds: Double) async throws -> Double {
    let url = try pgDatabase(base, "logbatch\(batch)")
    let store = try PostgresEventStore(url: url, logger: pgLogger)
    defer { store.close() }
    var picker = StreamPicker()
    var written = 0
    let start = now()
    while now() - start < seconds || written < 2 * batch {
        var byStream: [String: [ProposedEvent]] = [:]
        var order: [String] = []
        for _ in 0..<batch {
            let stream = picker.next()
            if byStream[stream] == nil { order.append(stream) }
            byStream[stream, default: []].append(proposed())
        }
        _ = try await store.append(AppendRequest(writes: order.map { StreamWrite(stream: $0, expected: .any, events: byStream[$0]!) }))
        written += batch
    }
    return Double(written) / (now() - start)
}

extension StreamPicker {
    /// The next number of the sequence, for callers that pick among their own streams.
    mutating func nextIndex() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

/// The server's settings that decide durability, printed above the figures.
func pgSettings(_ url: PostgresURL) async throws -> String {
    let connection = try await pgConnect(url, id: 3)
    var parts: [String] = []
    for name in ["server_version", "fsync", "synchronous_commit", "wal_sync_method"] {
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: "SHOW \(name)"), logger: pgLogger) {
            parts.append("\(name)=\(try row.decode(String.self))")
        }
    }
    try? await connection.close()
    return parts.joined(separator: " ")
}

/// The PostgreSQL log (one node and three nodes on one database) against raw PostgreSQL.
func pgBenchmarks(url text: String) async throws {
    let base = try PostgresURL(text)
    let seconds = pgSeconds()
    let settings = try await pgSettings(base)
    print("Threadlog PostgreSQL log vs raw PostgreSQL (durable commits, \(streams) streams, \(recordSize)-byte events, \(fmt(seconds)) s per figure)")
    print("server: \(settings)")
    if settings.contains("fsync=off") || settings.contains("synchronous_commit=off") {
        print("WARNING: commits are not durable on this server; the figures do not measure durable commits")
    }
    print("")

    // 1. One event per commit, one caller.
    let singleRaw = try await rawInserts(base, connections: 1, seconds: seconds)
    let (singleLog, _) = try await pgLogAppenders(base, appenders: 1, nodes: 1, seconds: seconds)
    row("1. 1 event per commit, 1 appender", singleLog, singleRaw, "ev/s", target: "—")

    // 2. 64 appenders, one event each per append: one node, then three nodes on the same database.
    let groupRaw = try await rawInserts(base, connections: pgAppenders, seconds: seconds)
    let (oneNode, oneGroup) = try await pgLogAppenders(base, appenders: pgAppenders, nodes: 1, seconds: seconds)
    row("2. 64 appenders, one node", oneNode, groupRaw, "ev/s", target: "≥ 1.5× raw's 64 connections")
    print("   mean group size \(fmt(oneGroup, 1)) appends/commit")
    let (threeNodes, threeGroup) = try await pgLogAppenders(base, appenders: pgAppenders, nodes: 3, seconds: seconds)
    row("   64 appenders, three nodes (one database)", threeNodes, groupRaw, "ev/s", target: "≥ one node")
    print("   mean group size \(fmt(threeGroup, 1)) appends/commit; three nodes \(fmt(threeNodes / oneNode, 2))× one node (target ≥ 1.00×)")
    recordFigure("pg_appenders64", oneNode)
    recordFigure("pg_appenders64_3nodes", threeNodes)

    // 3. Batches: one append of `batch` events against one multi-row INSERT of as many rows.
    for batch in [100, 1000] {
        let batchRaw = try await rawBatches(base, batch: batch, seconds: seconds)
        let batchLog = try await pgLogBatches(base, batch: batch, seconds: seconds)
        row("3. batches of \(batch) events per append", batchLog, batchRaw, "ev/s", target: batch == 1000 ? "≥ 0.5×" : "—")
        recordFigure("pg_batch\(batch)", batchLog)
    }
}

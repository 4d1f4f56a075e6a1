import EventLog
import Logging
import PostgresNIO

/// Reading, synchronously (waiting on the calling thread, never on an event loop) and for async callers
/// (awaiting the server): each read is one statement, the same for both.
extension PostgresEventStore {
    // MARK: Statements

    static let headQuery: PostgresQuery = "SELECT position FROM head WHERE id = 1"

    static func readQuery(from position: UInt64, limit: Int) -> PostgresQuery {
        PostgresQuery(
            unsafeSQL: "SELECT \(columns) FROM events WHERE position >= $1 ORDER BY position LIMIT $2",
            binds: bindings(Int64(clamping: max(position, 1)), Int64(limit)))
    }

    /// A page of positions whose payloads travel only for the types named.
    static func typedPageQuery(from position: UInt64, limit: Int, names: [String]) -> PostgresQuery {
        PostgresQuery(
            unsafeSQL: """
                SELECT position, stream, version, type, schema_version, time_ms, actor, correlation_id,
                    command_id, CASE WHEN type = ANY($3) THEN data END, purged, payload_digest, chain_hash,
                    prev_in_stream
                FROM events WHERE position >= $1 ORDER BY position LIMIT $2
                """, binds: bindings(Int64(clamping: max(position, 1)), Int64(limit), names))
    }

    static func streamQuery(_ stream: String, fromVersion: UInt64, limit: Int) -> PostgresQuery {
        PostgresQuery(
            unsafeSQL: "SELECT \(columns) FROM events WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3",
            binds: bindings(stream, Int64(clamping: fromVersion), Int64(limit)))
    }

    static func commandQuery(_ commandID: String) -> PostgresQuery {
        "SELECT first_position, last_position FROM commands WHERE command_id = \(commandID)"
    }

    /// The streams an earlier append wrote, with their last versions in it.
    static func appendedStreamsQuery(first: UInt64, last: UInt64) -> PostgresQuery {
        "SELECT stream, max(version) FROM events WHERE position BETWEEN \(Int64(first)) AND \(Int64(last)) GROUP BY stream"
    }

    static func decodeHead(_ rows: PostgresQueryResult) throws -> UInt64 {
        guard let row = rows.first else { throw EventLogError(.corrupt, "the log's head row is missing") }
        return UInt64(try row.decode(Int64.self))
    }

    static func decodeTyped(_ rows: PostgresQueryResult, wanted: Set<String>) throws -> [(UInt64, RecordedEvent?)] {
        try rows.map { row -> (UInt64, RecordedEvent?) in
            let event = try decodeEvent(row)
            return (event.position, wanted.contains(event.type) ? event : nil)
        }
    }

    static func decodeRange(_ rows: PostgresQueryResult) throws -> (UInt64, UInt64)? {
        guard let row = rows.first else { return nil }
        let (first, last) = try row.decode((Int64, Int64).self)
        return (UInt64(first), UInt64(last))
    }

    static func decodeResult(_ rows: PostgresQueryResult, first: UInt64, last: UInt64) throws -> AppendResult {
        var versions: [String: UInt64] = [:]
        for row in rows {
            let (stream, version) = try row.decode((String, Int64).self)
            versions[stream] = UInt64(version)
        }
        return AppendResult(firstPosition: first, lastPosition: last, streamVersions: versions, deduplicated: true)
    }

    static func headPosition(_ connection: PostgresConnection, logger: Logger) throws -> UInt64 {
        try decodeHead(try connection.run(headQuery, logger: logger))
    }

    /// The result of an earlier append, rebuilt from its events.
    func recordedResult(_ conn: PostgresConnection, first: UInt64, last: UInt64) throws -> AppendResult {
        try Self.decodeResult(try conn.run(Self.appendedStreamsQuery(first: first, last: last), logger: logger), first: first, last: last)
    }

    // MARK: Synchronous reads

    public func read(from position: UInt64, limit: Int) throws -> [RecordedEvent] {
        guard limit > 0 else { return [] }
        return try pool.with { try $0.run(Self.readQuery(from: position, limit: limit), logger: logger).map(Self.decodeEvent) }
    }

    /// Pages through the log; the payloads of unwanted types stay on the server.
    public func forEach(
        from position: UInt64, ofTypes types: [[UInt8]], _ body: (UInt64, RecordedEvent?) throws -> Bool
    ) throws {
        let names = types.map { String(decoding: $0, as: UTF8.self) }
        let wanted = Set(names)
        let page = 2000
        var next = max(position, 1)
        while true {
            let rows = try pool.with { conn in
                try Self.decodeTyped(
                    try conn.run(Self.typedPageQuery(from: next, limit: page, names: names), logger: logger), wanted: wanted)
            }
            for (position, event) in rows {
                guard try body(position, event) else { return }
            }
            guard rows.count == page, let last = rows.last else { return }
            next = last.0 + 1
        }
    }

    public func readStream(_ stream: String, fromVersion: UInt64, limit: Int) throws -> [RecordedEvent] {
        guard limit > 0 else { return [] }
        return try pool.with {
            try $0.run(Self.streamQuery(stream, fromVersion: fromVersion, limit: limit), logger: logger).map(Self.decodeEvent)
        }
    }

    public func head(of stream: String) throws -> StreamHead? {
        try pool.with { conn in
            guard let row = try conn.run("SELECT version, last_position FROM streams WHERE stream = \(stream)", logger: logger).first
            else { return nil }
            let (version, last) = try row.decode((Int64, Int64).self)
            return StreamHead(version: UInt64(version), lastPosition: UInt64(last))
        }
    }

    public func result(ofCommand commandID: String) throws -> AppendResult? {
        try pool.with { conn in
            guard let (first, last) = try Self.decodeRange(try conn.run(Self.commandQuery(commandID), logger: logger)) else {
                return nil
            }
            return try recordedResult(conn, first: first, last: last)
        }
    }

    public func lastPosition() throws -> UInt64 {
        try pool.with { try Self.headPosition($0, logger: logger) }
    }

    // MARK: Reads for async callers

    public func fetch(from position: UInt64, limit: Int) async throws -> [RecordedEvent] {
        guard limit > 0 else { return [] }
        let rows = try await pool.withConnection { [logger] in
            try await $0.fetch(Self.readQuery(from: position, limit: limit), logger: logger)
        }
        return try rows.map(Self.decodeEvent)
    }

    public func fetch(from position: UInt64, limit: Int, ofTypes types: [[UInt8]]) async throws -> [(UInt64, RecordedEvent?)] {
        guard limit > 0 else { return [] }
        let names = types.map { String(decoding: $0, as: UTF8.self) }
        let rows = try await pool.withConnection { [logger] in
            try await $0.fetch(Self.typedPageQuery(from: position, limit: limit, names: names), logger: logger)
        }
        return try Self.decodeTyped(rows, wanted: Set(names))
    }

    public func fetchStream(_ stream: String, fromVersion: UInt64, limit: Int) async throws -> [RecordedEvent] {
        guard limit > 0 else { return [] }
        let rows = try await pool.withConnection { [logger] in
            try await $0.fetch(Self.streamQuery(stream, fromVersion: fromVersion, limit: limit), logger: logger)
        }
        return try rows.map(Self.decodeEvent)
    }

    public func fetchResult(ofCommand commandID: String) async throws -> AppendResult? {
        try await pool.withConnection { [logger] conn in
            guard let (first, last) = try Self.decodeRange(try await conn.fetch(Self.commandQuery(commandID), logger: logger))
            else { return nil }
            let rows = try await conn.fetch(Self.appendedStreamsQuery(first: first, last: last), logger: logger)
            return try Self.decodeResult(rows, first: first, last: last)
        }
    }

    public func fetchLastPosition() async throws -> UInt64 {
        let rows = try await pool.withConnection { [logger] in try await $0.fetch(Self.headQuery, logger: logger) }
        return try Self.decodeHead(rows)
    }
}

import EventLog
import Foundation
import PostgresNIO

/// The writer's view of the log: the head and the heads of streams it has read or written, all as of
/// `position`. It stays exact for as long as no other node (or an import) appends, which the one write
/// statement checks by the head's position.
struct WriterView {
    var position: UInt64
    var chain: [UInt8]
    /// `nil` for a stream known not to exist.
    var streams: [String: StreamHead?]

    /// Streams remembered at most; beyond it the writer forgets them and reads them again.
    static let streamLimit = 100_000

    /// A stream's head as remembered, or `nil` when it is not known to exist.
    func head(_ stream: String) -> StreamHead? { streams[stream] ?? nil }

    mutating func advance(by plan: CommitPlan) {
        position = plan.position
        chain = plan.chain
        for (stream, head) in plan.streams { streams[stream] = .some(head) }
    }
}

/// What one group's appends come to: an outcome per request, and the rows to write.
struct CommitPlan {
    var outcomes: [Result<AppendResult, any Error>] = []
    var rows: [PostgresEventStore.Row] = []
    var streams: [(String, StreamHead)] = []
    var commands: [(String, UInt64, UInt64)] = []
    var position: UInt64
    var chain: [UInt8]

    var hasConflict: Bool {
        outcomes.contains { if case .failure = $0 { true } else { false } }
    }
}

extension PostgresEventStore {
    // MARK: Appending

    public func append(_ request: AppendRequest) async throws -> AppendResult {
        try request.validate()
        return try await withCheckedThrowingContinuation { continuation in
            writer.enqueue(Committer.Pending(request: request, continuation: continuation))
        }
    }

    /// Commits one group on the writer's connection (on the writer's thread).
    package func commitGroup(_ requests: [AppendRequest]) -> (outcomes: [Result<AppendResult, any Error>], head: UInt64) {
        // Taken out while it is used, so that the view's tables are not copied when they change.
        var state = writerState.withLock { state in
            defer { state = (nil, nil) }
            return state
        }
        defer { writerState.withLock { [state] in $0 = state } }
        return commitGroup(requests, connection: &state.connection, view: &state.view)
    }

    package func publish(head: UInt64, groupSize: Int) {
        waiters.publish(head, groupSize: groupSize)
    }

    package func writerIdle() {
        pollHead()
    }

    /// Commits one group on `connection` (opened when `nil`, dropped when it breaks). Returns one
    /// outcome per request, in order, and the log's last position.
    ///
    /// While `view` is exact, the group is one statement in its own transaction: it moves the head
    /// only if the head is still where the view has it, and writes the events, stream heads and
    /// command ids only if it did (one round trip and one WAL flush). A stream the view does not know
    /// is read first, with the head, in one snapshot. When the head has moved (another node appended),
    /// a statement is refused (a command id already used) or a conflict was judged from the view, the
    /// group is committed under the head's row lock instead, from what the database holds.
    func commitGroup(
        _ requests: [AppendRequest], connection: inout PostgresConnection?, view: inout WriterView?
    ) -> (outcomes: [Result<AppendResult, any Error>], head: UInt64) {
        do {
            let conn = try connection ?? openWriterConnection()
            connection = conn
            if let outcome = try commitOptimistically(requests, conn, view: &view) { return outcome }
            view = nil
            try conn.run("BEGIN", logger: logger)
            do {
                let result = try commitLocked(requests, conn, view: &view)
                try conn.run("COMMIT", logger: logger)
                return result
            } catch {
                view = nil
                _ = try? conn.run("ROLLBACK", logger: logger)
                throw error
            }
        } catch {
            logger.error("event log commit failed", metadata: ["error": "\(error)"])
            if let conn = connection, conn.isClosed {
                connection = nil
            }
            let fault = PostgresFailure.wrap(error, "the event log commit failed")
            return (requests.map { _ in .failure(fault) }, waiters.head)
        }
    }

    /// The writer's connection. Every statement it runs finds rows by key (a stream, a command id, the
    /// head); the planner would rather scan `streams` whole while the table is small or not yet
    /// analysed, which costs more with every stream, so scans are ruled out on it.
    private func openWriterConnection() throws -> PostgresConnection {
        let conn = try pool.connect()
        do {
            try conn.run("SET enable_seqscan = off", logger: logger)
        } catch {
            conn.closeAndWait()
            throw error
        }
        return conn
    }

    /// The one-statement commit; `nil` when the group must take the locked path.
    private func commitOptimistically(
        _ requests: [AppendRequest], _ conn: PostgresConnection, view: inout WriterView?
    ) throws -> (outcomes: [Result<AppendResult, any Error>], head: UInt64)? {
        let names = Self.streamNames(requests)
        var known: [String: (UInt64, UInt64)] = [:]
        var readNow = false
        if view == nil || names.contains(where: { view?.streams.keys.contains($0) != true }) {
            let snapshot = try readState(names: names, commandIDs: Self.commandIDs(requests), conn, lockHead: false)
            known = snapshot.commands
            if view?.position != snapshot.position || (view?.streams.count ?? 0) > WriterView.streamLimit {
                view = WriterView(position: snapshot.position, chain: snapshot.chain, streams: [:])
            }
            for name in names { view?.streams[name] = .some(snapshot.streams[name]) }
            readNow = true
        }
        guard let position = view?.position else { return nil }
        let plan = try plan(requests, from: view!, knownCommands: known, conn)
        // A conflict judged from what the writer remembers may be out of date: the locked path judges again.
        if plan.hasConflict && !readNow { return nil }
        guard plan.position != position else { return (plan.outcomes, position) }
        do {
            guard try write(plan, ifHeadAt: position, conn) else { return nil }
        } catch {
            // A refused statement (a command id another node recorded) rolled back whole; a broken
            // connection fails the locked path too.
            if conn.isClosed { throw error }
            logger.debug("optimistic commit refused, committing under the head lock", metadata: ["error": "\(error)"])
            return nil
        }
        view!.advance(by: plan)
        return (plan.outcomes, plan.position)
    }

    /// Commits under the head's row lock, which orders every append transaction of every node. Runs
    /// inside the caller's transaction; leaves `view` exact as of the new head.
    private func commitLocked(
        _ requests: [AppendRequest], _ conn: PostgresConnection, view: inout WriterView?
    ) throws -> (outcomes: [Result<AppendResult, any Error>], head: UInt64) {
        let names = Self.streamNames(requests)
        let state = try readState(names: names, commandIDs: Self.commandIDs(requests), conn, lockHead: true)
        var current = WriterView(position: state.position, chain: state.chain, streams: [:])
        for name in names { current.streams[name] = .some(state.streams[name]) }
        let plan = try plan(requests, from: current, knownCommands: state.commands, conn)
        if plan.position != current.position {
            guard try write(plan, ifHeadAt: current.position, conn) else {
                throw EventLogError(.corrupt, "the log's head moved while this node held its lock")
            }
        }
        current.advance(by: plan)
        view = current
        return (plan.outcomes, plan.position)
    }

    private static func streamNames(_ requests: [AppendRequest]) -> [String] {
        Array(Set(requests.flatMap { $0.writes.map(\.stream) }))
    }

    private static func commandIDs(_ requests: [AppendRequest]) -> [String] {
        Array(Set(requests.compactMap(\.commandID)))
    }

    /// The head, the named streams' heads and the named command ids' ranges, in one statement (one
    /// snapshot). With `lockHead`, the head row is locked first, in a statement of its own, so that
    /// the second statement's snapshot sees every commit ordered before this one.
    private func readState(
        names: [String], commandIDs: [String], _ conn: PostgresConnection, lockHead: Bool
    ) throws -> (position: UInt64, chain: [UInt8], streams: [String: StreamHead], commands: [String: (UInt64, UInt64)]) {
        var position: UInt64?
        var chain: [UInt8] = []
        if lockHead {
            guard let row = try conn.run("SELECT position, chain FROM head WHERE id = 1 FOR UPDATE", logger: logger).first else {
                throw EventLogError(.corrupt, "the log's head row is missing")
            }
            let (stored, storedChain) = try row.decode((Int64, ByteBuffer).self)
            position = UInt64(stored)
            chain = Array(storedChain.readableBytesView)
        }
        var streams: [String: StreamHead] = [:]
        var commands: [String: (UInt64, UInt64)] = [:]
        let rows = try conn.run(
            """
            SELECT 0, position, chain, '', 0::bigint FROM head WHERE id = 1 AND NOT \(lockHead)
            UNION ALL SELECT 1, version, NULL::bytea, stream, last_position FROM streams WHERE stream = ANY(\(names))
            UNION ALL SELECT 2, first_position, NULL::bytea, command_id, last_position FROM commands
                WHERE command_id = ANY(\(commandIDs))
            """, logger: logger)
        for row in rows {
            let (kind, number, bytes, name, last) = try row.decode((Int32, Int64, ByteBuffer?, String, Int64).self)
            switch kind {
            case 0:
                position = UInt64(number)
                chain = bytes.map { Array($0.readableBytesView) } ?? []
            case 1: streams[name] = StreamHead(version: UInt64(number), lastPosition: UInt64(last))
            default: commands[name] = (UInt64(number), UInt64(last))
            }
        }
        guard let position else { throw EventLogError(.corrupt, "the log's head row is missing") }
        return (position, chain, streams, commands)
    }

    /// Judges each request against `view` (expected versions, command ids seen before or earlier in
    /// the group) and lays out the rows of those that succeed: positions, versions, back-links and the
    /// hash chain continuing from the view's head.
    private func plan(
        _ requests: [AppendRequest], from view: WriterView, knownCommands: [String: (UInt64, UInt64)],
        _ conn: PostgresConnection
    ) throws -> CommitPlan {
        var plan = CommitPlan(position: view.position, chain: view.chain)
        // The heads this group has moved so far; the rest are the view's.
        var heads: [String: StreamHead] = [:]
        func headOf(_ stream: String) -> StreamHead? { heads[stream] ?? view.head(stream) }
        let commitTime = Int64(Date().timeIntervalSince1970 * 1000)
        var groupResults: [String: AppendResult] = [:]
        requests: for request in requests {
            if let id = request.commandID {
                if var earlier = groupResults[id] {
                    earlier.deduplicated = true
                    plan.outcomes.append(.success(earlier))
                    continue
                }
                if let (first, last) = knownCommands[id] {
                    plan.outcomes.append(.success(try recordedResult(conn, first: first, last: last)))
                    continue
                }
            }
            for write in request.writes {
                let current = headOf(write.stream)
                guard write.expected.admits(current) else {
                    plan.outcomes.append(
                        .failure(VersionConflict(stream: write.stream, expected: write.expected, actual: current?.version)))
                    continue requests
                }
            }
            let first = plan.position + 1
            var versions: [String: UInt64] = [:]
            let commandID = request.commandID ?? ""
            for write in request.writes {
                let head = headOf(write.stream)
                var version = head?.version ?? 0
                var previous = head?.lastPosition ?? 0
                for event in write.events {
                    version += 1
                    plan.position += 1
                    let time = event.timeMillis ?? commitTime
                    let link = EventChain.link(
                        previous: plan.chain, position: plan.position, stream: write.stream, version: version,
                        previousInStream: previous, event: event, timeMillis: time, commandID: commandID)
                    plan.chain = link.chain
                    plan.rows.append(
                        Row(
                            position: plan.position, stream: write.stream, version: version, type: event.type,
                            schemaVersion: event.schemaVersion, timeMillis: time, actor: event.actor,
                            correlationID: event.correlationID, commandID: commandID, data: event.data, purged: false,
                            digest: link.digest, chain: link.chain, previousInStream: previous))
                    previous = plan.position
                }
                heads[write.stream] = StreamHead(version: version, lastPosition: previous)
                versions[write.stream] = version
            }
            let result = AppendResult(
                firstPosition: first, lastPosition: plan.position, streamVersions: versions, deduplicated: false)
            if let id = request.commandID {
                plan.commands.append((id, first, plan.position))
                groupResults[id] = result
            }
            plan.outcomes.append(.success(result))
        }
        plan.streams = Array(heads)
        return plan
    }

    /// Writes a plan in one statement: the head moves from `expected` to the plan's last position and,
    /// only if it did, the events, stream heads and command ids are inserted and every node listening
    /// is notified at commit. Returns false (having written nothing) when the head was elsewhere.
    private func write(_ plan: CommitPlan, ifHeadAt expected: UInt64, _ conn: PostgresConnection) throws -> Bool {
        var binds = PostgresBindings(capacity: 25)
        binds.append(Int64(plan.position))
        binds.append(ByteBuffer(bytes: plan.chain))
        binds.append(Int64(expected))
        let rows = plan.rows
        binds.append(rows.map { Int64($0.position) })
        binds.append(rows.map(\.stream))
        binds.append(rows.map { Int64($0.version) })
        binds.append(rows.map(\.type))
        binds.append(rows.map { Int32($0.schemaVersion) })
        binds.append(rows.map(\.timeMillis))
        binds.append(rows.map(\.actor))
        binds.append(rows.map(\.correlationID))
        binds.append(rows.map(\.commandID))
        binds.append(rows.map { ByteBuffer(bytes: $0.data) })
        binds.append(rows.map(\.purged))
        binds.append(rows.map { ByteBuffer(bytes: $0.digest) })
        binds.append(rows.map { ByteBuffer(bytes: $0.chain) })
        binds.append(rows.map { Int64($0.previousInStream) })
        binds.append(plan.streams.map(\.0))
        binds.append(plan.streams.map { Int64($0.1.version) })
        binds.append(plan.streams.map { Int64($0.1.lastPosition) })
        binds.append(plan.commands.map(\.0))
        binds.append(plan.commands.map { Int64($0.1) })
        binds.append(plan.commands.map { Int64($0.2) })
        binds.append(Self.channel)
        binds.append(String(plan.position))
        let moved = try conn.run(PostgresQuery(unsafeSQL: Self.writeStatement, binds: binds), logger: logger)
        return moved.count == 1
    }

    /// The statement of `write(_:ifHeadAt:_:)`. Every insert depends on `moved`, so the head's row lock
    /// is taken before any event row is written: positions commit in order across nodes.
    static let writeStatement = """
        WITH moved AS (
            UPDATE head SET position = $1, chain = $2 WHERE id = 1 AND position = $3 RETURNING position
        ), new_events AS (
            INSERT INTO events (\(columns))
            (SELECT * FROM unnest($4::bigint[], $5::text[], $6::bigint[], $7::text[], $8::integer[], $9::bigint[],
                $10::text[], $11::text[], $12::text[], $13::bytea[], $14::boolean[], $15::bytea[], $16::bytea[],
                $17::bigint[])
             WHERE EXISTS (SELECT 1 FROM moved))
        ), new_heads AS (
            INSERT INTO streams (stream, version, last_position)
            (SELECT * FROM unnest($18::text[], $19::bigint[], $20::bigint[]) WHERE EXISTS (SELECT 1 FROM moved))
            ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version, last_position = EXCLUDED.last_position
        ), new_commands AS (
            INSERT INTO commands (command_id, first_position, last_position)
            (SELECT * FROM unnest($21::text[], $22::bigint[], $23::bigint[]) WHERE EXISTS (SELECT 1 FROM moved))
        )
        SELECT pg_notify($24, $25) FROM moved
        """
}

import EventLog
import PostgresNIO

extension PostgresEventStore: VerifiableLog {
    /// Appends stored events as they are (positions, times, hashes, erased payloads), e.g. a log copied
    /// from LMDB. They must continue the log: the next position, the chain from the current head, each
    /// stream's next version. Commits in one transaction under the head lock; returns the new head.
    @discardableResult
    public func importEvents(_ batch: [RecordedEvent]) throws -> UInt64 {
        guard !batch.isEmpty else { return try lastPosition() }
        return try pool.with { conn in
            try conn.run("BEGIN", logger: logger)
            do {
                let head = try importLocked(batch, conn)
                try conn.run("COMMIT", logger: logger)
                waiters.publish(head, groupSize: 0)
                return head
            } catch {
                _ = try? conn.run("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    private func importLocked(_ batch: [RecordedEvent], _ conn: PostgresConnection) throws -> UInt64 {
        guard let headRow = try conn.run("SELECT position, chain FROM head WHERE id = 1 FOR UPDATE", logger: logger).first else {
            throw EventLogError(.corrupt, "the log's head row is missing")
        }
        let (storedPosition, storedChain) = try headRow.decode((Int64, ByteBuffer).self)
        var position = UInt64(storedPosition)
        var chain = Array(storedChain.readableBytesView)
        let names = Array(Set(batch.map(\.stream)))
        var heads: [String: StreamHead] = [:]
        for row in try conn.run("SELECT stream, version, last_position FROM streams WHERE stream = ANY(\(names))", logger: logger) {
            let (stream, version, last) = try row.decode((String, Int64, Int64).self)
            heads[stream] = StreamHead(version: UInt64(version), lastPosition: UInt64(last))
        }
        var commands: [String: (UInt64, UInt64)] = [:]
        for event in batch {
            guard event.position == position + 1 else {
                throw EventLogError(.invalidArgument, "event \(event.position) does not follow the log's head \(position)")
            }
            let current = heads[event.stream]
            guard event.version == (current?.version ?? 0) + 1, event.previousInStream == (current?.lastPosition ?? 0) else {
                throw EventLogError(.invalidArgument, "event \(event.position) does not continue stream '\(event.stream)'")
            }
            guard EventChain.chainHash(of: event, previous: chain) == event.chainHash else {
                throw EventLogError(.invalidArgument, "event \(event.position) breaks the hash chain")
            }
            if !event.isPurged && EventChain.digest(event.data) != event.payloadDigest {
                throw EventLogError(.invalidArgument, "the payload of event \(event.position) does not match its digest")
            }
            chain = event.chainHash
            position = event.position
            heads[event.stream] = StreamHead(version: event.version, lastPosition: event.position)
            if !event.commandID.isEmpty {
                let first = commands[event.commandID]?.0 ?? event.position
                commands[event.commandID] = (first, event.position)
            }
        }
        try insertEvents(batch.map(Row.init), conn)
        try upsertStreams(names.map { ($0, heads[$0]!) }, conn)
        // An append's events may span two batches: the command's range then grows.
        try insertCommands(commands.map { ($0.key, $0.value.0, $0.value.1) }, conn, extend: true)
        try conn.run("UPDATE head SET position = \(Int64(position)), chain = \(ByteBuffer(bytes: chain)) WHERE id = 1", logger: logger)
        try conn.run("SELECT pg_notify(\(Self.channel), \(String(position)))", logger: logger)
        return position
    }

    /// Checks the whole log as it was when the check began: positions gapless from 1, payload digests and
    /// the hash chain, stream versions and back-links, the `streams` heads, the `commands` ranges and
    /// the `head` row. Reads in pages, so a live log keeps appending.
    public func verify(progress: (_ checked: UInt64, _ total: UInt64) -> Void = { _, _ in }) throws -> VerifyReport {
        let total = try lastPosition()
        var expected: UInt64 = 1
        var chain = EventChain.genesis
        var heads: [String: StreamHead] = [:]
        var commands: [String: (UInt64, UInt64)] = [:]
        func fault(at position: UInt64? = expected, _ reason: String) -> VerifyReport {
            VerifyReport(checked: expected - 1, streams: heads.count, fault: VerifyFault(position: position, reason: reason))
        }
        while expected <= total {
            let page = try read(from: expected, limit: 4096)
            guard !page.isEmpty else { return fault("position missing (the log ends early)") }
            for event in page where event.position <= total {
                guard event.position == expected else {
                    return fault("position missing (the next stored position is \(event.position))")
                }
                if !event.isPurged && EventChain.digest(event.data) != event.payloadDigest {
                    return fault("the payload does not match its digest")
                }
                if EventChain.chainHash(of: event, previous: chain) != event.chainHash {
                    return fault("the chain hash does not match")
                }
                let current = heads[event.stream]
                guard event.version == (current?.version ?? 0) + 1, event.previousInStream == (current?.lastPosition ?? 0) else {
                    return fault("version \(event.version) of '\(event.stream)' does not follow its stream")
                }
                heads[event.stream] = StreamHead(version: event.version, lastPosition: event.position)
                if !event.commandID.isEmpty {
                    commands[event.commandID] = (commands[event.commandID]?.0 ?? event.position, event.position)
                }
                chain = event.chainHash
                expected += 1
            }
            progress(expected - 1, total)
        }
        let indexes = try pool.with { conn in
            var problem: String?
            let headChain = try conn.run("SELECT chain FROM head WHERE id = 1", logger: logger).first!.decode(ByteBuffer.self)
            if total > 0 && Array(headChain.readableBytesView) != chain { problem = "the head row's chain hash does not match the last event" }
            var streamCount = 0
            for row in try conn.run("SELECT stream, version, last_position FROM streams", logger: logger) where problem == nil {
                let (stream, version, last) = try row.decode((String, Int64, Int64).self)
                streamCount += 1
                if heads[stream] != StreamHead(version: UInt64(version), lastPosition: UInt64(last)) {
                    problem = "the head of stream '\(stream)' does not match its events"
                }
            }
            if problem == nil && streamCount != heads.count { problem = "the stream index misses streams" }
            for row in try conn.run("SELECT command_id, first_position, last_position FROM commands", logger: logger)
            where problem == nil {
                let (id, first, last) = try row.decode((String, Int64, Int64).self)
                if UInt64(last) <= total, let seen = commands[id], seen != (UInt64(first), UInt64(last)) {
                    problem = "command '\(id)' names positions its events do not carry"
                }
            }
            return problem
        }
        if let indexes { return fault(at: nil, indexes) }
        return VerifyReport(checked: total, streams: heads.count, fault: nil)
    }
}

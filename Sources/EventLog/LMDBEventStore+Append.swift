import Foundation
import Synchronization

extension LMDBEventStore {
    public func append(_ request: AppendRequest) async throws -> AppendResult {
        guard let committer else { throw EventLogError(.readOnly, "the event log at \(path) is open read-only") }
        try Self.validate(request)
        return try await withCheckedThrowingContinuation { continuation in
            committer.enqueue(Committer.Pending(request: request, continuation: continuation))
        }
    }

    static func validate(_ request: AppendRequest) throws {
        func check(_ value: String, _ what: String, allowEmpty: Bool) throws {
            let count = value.utf8.count
            if count == 0 && !allowEmpty { throw EventLogError(.invalidArgument, "\(what) must not be empty") }
            if count > Record.maxStringBytes {
                throw EventLogError(.invalidArgument, "\(what) is longer than \(Record.maxStringBytes) bytes")
            }
        }
        guard !request.writes.isEmpty else { throw EventLogError(.invalidArgument, "an append needs at least one stream") }
        if let id = request.commandID { try check(id, "command id", allowEmpty: false) }
        var seen = Set<String>()
        for write in request.writes {
            try check(write.stream, "stream name", allowEmpty: false)
            guard seen.insert(write.stream).inserted else {
                throw EventLogError(.invalidArgument, "stream '\(write.stream)' appears twice in one append")
            }
            guard !write.events.isEmpty else {
                throw EventLogError(.invalidArgument, "the append to stream '\(write.stream)' has no events")
            }
            for event in write.events {
                try check(event.type, "event type", allowEmpty: false)
                try check(event.actor, "actor", allowEmpty: true)
                try check(event.correlationID, "correlation id", allowEmpty: true)
                guard event.data.count < Int(UInt32.max) else { throw EventLogError(.invalidArgument, "payload too large") }
            }
        }
    }

    /// Commits one group on the writer thread; returns one outcome per request, in order, and the
    /// log's last position after the commit.
    package func commitGroup(_ requests: [AppendRequest]) -> (outcomes: [Result<AppendResult, any Error>], head: UInt64) {
        swapLock.withReadLock { commitGroupLocked(requests) }
    }

    private func commitGroupLocked(_ requests: [AppendRequest]) -> (outcomes: [Result<AppendResult, any Error>], head: UInt64) {
        let env = self.env
        if reserve > 0, let available = availableBytes(path), available < reserve {
            let fault = EventLogError(
                .storageFull, "the disk holding \(path) is full (\(available) bytes free, \(reserve) kept in reserve)")
            noteDiskFull(true, fault)
            return (requests.map { _ in .failure(fault) }, notifier.head)
        }
        while true {
            var outcomes: [Result<AppendResult, any Error>] = []
            outcomes.reserveCapacity(requests.count)
            do {
                let commitTime = Self.nowMillis()
                let position = try env.write { txn in
                    // The head is read inside the transaction, never cached: other processes (the digest
                    // and retention commands beside a running service) append to the same log.
                    let head = try Self.storedHead(txn: txn, meta: meta)
                    var working = head
                    var buffer: [UInt8] = []
                    buffer.reserveCapacity(1024)
                    for request in requests {
                        outcomes.append(
                            try apply(request, txn: txn, head: &working, commitTime: commitTime, buffer: &buffer))
                    }
                    if working.position != head.position {
                        var value = Record.key(working.position)
                        value.append(contentsOf: working.chain)
                        try txn.put(meta, Self.headKey, value)
                    }
                    return working.position
                }
                noteDiskFull(false, nil)
                return (outcomes, position)
            } catch let failure as LMDBFailure where failure.isMapFull {
                let newSize = env.mapSize * 2
                logger.info("event log map full; growing", metadata: ["size": "\(newSize)"])
                do {
                    try env.setMapSize(newSize)
                } catch {
                    // The address space is exhausted: as good as a full disk, and it may pass as well.
                    let fault = EventLogError(.storageFull, "cannot grow the event log's map: \(error)")
                    noteDiskFull(true, fault)
                    return (requests.map { _ in .failure(fault) }, notifier.head)
                }
            } catch {
                // LMDB aborted the transaction: nothing of the group was written and the next one starts afresh.
                let fault = (error as? LMDBFailure).map { EventLogError($0, path: path) } ?? error
                if let fault = fault as? EventLogError, fault.code == .storageFull {
                    noteDiskFull(true, fault)
                } else {
                    logger.error("event log commit failed", metadata: ["error": "\(error)"])
                }
                return (requests.map { _ in .failure(fault) }, notifier.head)
            }
        }
    }

    /// Logs when appends start failing for a full disk, and when they succeed again.
    private func noteDiskFull(_ full: Bool, _ fault: EventLogError?) {
        let changed = diskFull.withLock { state in
            defer { state = full }
            return state != full
        }
        guard changed else { return }
        if full {
            logger.error(
                "disk full: appends are refused until space returns; reads go on",
                metadata: ["path": "\(path)", "error": "\(fault?.message ?? "")"])
        } else {
            logger.notice("disk space returned: appends are taken again", metadata: ["path": "\(path)"])
        }
    }

    /// Checks and writes one append inside the group's transaction. A refusal writes nothing.
    private func apply(
        _ request: AppendRequest, txn: borrowing LMDBTransaction, head: inout Head, commitTime: Int64, buffer: inout [UInt8]
    ) throws -> Result<AppendResult, any Error> {
        if let id = request.commandID,
            let (firstPosition, lastPosition) = try txn.get(commands, Array(id.utf8), { raw in
                raw.map { raw in (Record.loadBE(raw, 0, as: UInt64.self), Record.loadBE(raw, 8, as: UInt64.self)) }
            })
        {
            return .success(try recordedResult(txn: txn, first: firstPosition, last: lastPosition))
        }
        var heads: [StreamHead?] = []
        heads.reserveCapacity(request.writes.count)
        for write in request.writes {
            let current = try streamHead(txn: txn, write.stream)
            guard write.expected.admits(current) else {
                return .failure(VersionConflict(stream: write.stream, expected: write.expected, actual: current?.version))
            }
            heads.append(current)
        }
        let first = head.position + 1
        var versions: [String: UInt64] = [:]
        let commandID = request.commandID ?? ""
        for (write, current) in zip(request.writes, heads) {
            var version = current?.version ?? 0
            var previous = current?.lastPosition ?? 0
            for event in write.events {
                version += 1
                let position = head.position + 1
                head.chain = Record.encode(
                    into: &buffer, position: position, stream: write.stream, version: version, previousInStream: previous,
                    event: event, timeMillis: event.timeMillis ?? commitTime, commandID: commandID, previousChain: head.chain)
                try txn.put(events, Record.key(position), buffer, append: true)
                head.position = position
                previous = position
            }
            var value = Record.key(version)
            value.append(contentsOf: Record.key(previous))
            try txn.put(streams, Array(write.stream.utf8), value)
            versions[write.stream] = version
        }
        if let id = request.commandID {
            var value = Record.key(first)
            value.append(contentsOf: Record.key(head.position))
            try txn.put(commands, Array(id.utf8), value)
        }
        return .success(AppendResult(firstPosition: first, lastPosition: head.position, streamVersions: versions, deduplicated: false))
    }

    /// The result of an earlier append, rebuilt from its events.
    func recordedResult(txn: borrowing LMDBTransaction, first: UInt64, last: UInt64) throws -> AppendResult {
        var versions: [String: UInt64] = [:]
        try txn.scan(events, from: Record.key(first)) { key, value in
            guard let position = Record.position(ofKey: key), position <= last else { return false }
            guard let view = RecordView(value) else { throw EventLogError(.corrupt, "record at position \(position) is damaged") }
            versions[view.stream] = max(versions[view.stream] ?? 0, view.version)
            return true
        }
        return AppendResult(firstPosition: first, lastPosition: last, streamVersions: versions, deduplicated: true)
    }

    func streamHead(txn: borrowing LMDBTransaction, _ stream: String) throws -> StreamHead? {
        try txn.get(streams, Array(stream.utf8)) { raw in
            guard let raw else { return nil }
            guard raw.count == 16 else { throw EventLogError(.corrupt, "the head of stream '\(stream)' is damaged") }
            return StreamHead(version: Record.loadBE(raw, 0, as: UInt64.self), lastPosition: Record.loadBE(raw, 8, as: UInt64.self))
        }
    }

    static func nowMillis() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

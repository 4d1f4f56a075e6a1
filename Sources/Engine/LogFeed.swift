import EventLog

/// The log as the service's outside reads it, whichever store holds it: pages of recorded events,
/// the head, a wait for what comes next, and the writer's figures for `/metrics`. The HTTP routes and
/// the web console read the log through this; only the engine and the place that opens a store know
/// which backend is underneath.
public struct LogFeed: Sendable {
    let store: any EventStore

    public init(_ store: any EventStore) {
        self.store = store
    }

    /// Events with position ≥ `position`, at most `limit`, in position order (awaiting a backend that
    /// waits for a server).
    public func events(from position: UInt64, limit: Int) async throws -> [RecordedEvent] {
        try await store.fetch(from: position, limit: limit)
    }

    /// Up to `limit` events after `position`; when there are none yet, waits up to `timeout` for one
    /// and reads again. Empty when nothing came within `timeout` (or the task was cancelled).
    public func next(after position: UInt64, limit: Int, wait timeout: Duration) async throws -> [RecordedEvent] {
        let batch = try await events(from: position + 1, limit: limit)
        guard batch.isEmpty else { return batch }
        let store = self.store
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var iterator = store.subscribe(after: position).makeAsyncIterator()
                _ = try await iterator.next()
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            _ = try await group.next()
            group.cancelAll()
        }
        guard !Task.isCancelled else { return [] }
        return try await events(from: position + 1, limit: limit)
    }

    /// The position of the last committed event, 0 for an empty log.
    public func lastPosition() async throws -> UInt64 {
        try await store.fetchLastPosition()
    }

    /// Commits made and appends they carried since the log was opened, when its writer groups them.
    public var groupStatistics: (commits: UInt64, appends: UInt64)? {
        (store as? any GroupCommitting)?.groupStatistics
    }

    /// Finishes queued appends and releases the store.
    public func close() {
        store.close()
    }
}

extension CommandHandler {
    /// The log this handler appends to, for reading.
    public var log: LogFeed { LogFeed(store) }
}

/// What a storage fault means to a client, whichever store raised it.
public enum StorageFailure: Sendable, Hashable {
    /// The disk or the store's map is full: appends fail until space returns.
    case full
    /// The store is closed: the service is stopping.
    case closed

    /// The failure `error` stands for, `nil` when it is not one of these.
    public init?(_ error: any Error) {
        switch error {
        case let error as EventLogError where error.code == .storageFull: self = .full
        case let error as BlobError where error.isDiskFull: self = .full
        case let error as EventLogError where error.code == .closed: self = .closed
        default: return nil
        }
    }
}

extension RecordedEvent {
    /// The event as a server-sent-event frame: `id:` its position, `event:` its type, `data:` its
    /// envelope (spliced from the stored payload bytes, never decoded and encoded again).
    public func appendFrame(to frames: inout [UInt8]) {
        frames.append(contentsOf: "id: \(position)\nevent: \(type)\ndata: ".utf8)
        appendEnvelope(to: &frames)
        frames.append(contentsOf: "\n\n".utf8)
    }
}

import Foundation

/// What an append expects of a stream before it writes.
public enum ExpectedVersion: Sendable, Hashable, CustomStringConvertible {
    /// Write whatever the stream holds.
    case any
    /// The stream must not exist yet.
    case noStream
    /// The stream's last event must have exactly this version (1-based).
    case exactly(UInt64)

    /// Whether a stream whose head is `current` (`nil`: no stream yet) may take the write.
    public func admits(_ current: StreamHead?) -> Bool {
        switch self {
        case .any: true
        case .noStream: current == nil
        case .exactly(let version): (current?.version ?? 0) == version
        }
    }

    public var description: String {
        switch self {
        case .any: "any"
        case .noStream: "no stream"
        case .exactly(let version): "version \(version)"
        }
    }
}

/// An event that is not stored yet: the envelope fields the caller chooses and the payload bytes.
public struct ProposedEvent: Sendable, Hashable {
    public var type: String
    public var schemaVersion: UInt16
    public var actor: String
    public var correlationID: String
    /// Milliseconds since 1970 (UTC). `nil` lets the log stamp the commit time.
    public var timeMillis: Int64?
    /// The payload, stored as given and never re-encoded (JSON for the outside contract).
    public var data: [UInt8]

    public init(
        type: String, schemaVersion: UInt16 = 1, actor: String, correlationID: String = "",
        timeMillis: Int64? = nil, data: [UInt8]
    ) {
        self.type = type
        self.schemaVersion = schemaVersion
        self.actor = actor
        self.correlationID = correlationID
        self.timeMillis = timeMillis
        self.data = data
    }
}

/// Events for one stream inside an append.
public struct StreamWrite: Sendable, Hashable {
    public var stream: String
    public var expected: ExpectedVersion
    public var events: [ProposedEvent]

    public init(stream: String, expected: ExpectedVersion, events: [ProposedEvent]) {
        self.stream = stream
        self.expected = expected
        self.events = events
    }
}

/// One atomic append: every write lands, or none does.
public struct AppendRequest: Sendable, Hashable {
    /// Repeating an append with the same command id returns the first append's result and writes nothing.
    public var commandID: String?
    public var writes: [StreamWrite]

    public init(commandID: String? = nil, writes: [StreamWrite]) {
        self.commandID = commandID
        self.writes = writes
    }

    public init(commandID: String? = nil, stream: String, expected: ExpectedVersion, events: [ProposedEvent]) {
        self.init(commandID: commandID, writes: [StreamWrite(stream: stream, expected: expected, events: events)])
    }
}

/// Where an append landed. Positions of one append are contiguous.
public struct AppendResult: Sendable, Hashable {
    public var firstPosition: UInt64
    public var lastPosition: UInt64
    /// The version each written stream reached.
    public var streamVersions: [String: UInt64]
    /// True when the command id had been seen: nothing was written this time.
    public var deduplicated: Bool

    public init(firstPosition: UInt64, lastPosition: UInt64, streamVersions: [String: UInt64], deduplicated: Bool) {
        self.firstPosition = firstPosition
        self.lastPosition = lastPosition
        self.streamVersions = streamVersions
        self.deduplicated = deduplicated
    }

    public var positions: ClosedRange<UInt64> { firstPosition...lastPosition }
}

/// A stored event, copied out of the log.
public struct RecordedEvent: Sendable, Hashable {
    public var position: UInt64
    public var stream: String
    public var version: UInt64
    public var type: String
    public var schemaVersion: UInt16
    public var timeMillis: Int64
    public var actor: String
    public var correlationID: String
    public var commandID: String
    /// Empty when the payload has been erased; `payloadDigest` still holds the digest of the original.
    public var data: [UInt8]
    public var isPurged: Bool
    public var payloadDigest: [UInt8]
    public var chainHash: [UInt8]
    /// Position of the previous event of the same stream, 0 for the first.
    public var previousInStream: UInt64

    public init(
        position: UInt64, stream: String, version: UInt64, type: String, schemaVersion: UInt16,
        timeMillis: Int64, actor: String, correlationID: String, commandID: String, data: [UInt8],
        isPurged: Bool, payloadDigest: [UInt8], chainHash: [UInt8], previousInStream: UInt64
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
        self.isPurged = isPurged
        self.payloadDigest = payloadDigest
        self.chainHash = chainHash
        self.previousInStream = previousInStream
    }
}

/// Version of a stream as the log holds it.
public struct StreamHead: Sendable, Hashable {
    public var version: UInt64
    public var lastPosition: UInt64

    public init(version: UInt64, lastPosition: UInt64) {
        self.version = version
        self.lastPosition = lastPosition
    }
}

/// An append that did not match a stream's expected version; nothing of the batch was written.
public struct VersionConflict: Error, Sendable, Hashable, CustomStringConvertible {
    public var stream: String
    public var expected: ExpectedVersion
    /// `nil` when the stream does not exist.
    public var actual: UInt64?

    public init(stream: String, expected: ExpectedVersion, actual: UInt64?) {
        self.stream = stream
        self.expected = expected
        self.actual = actual
    }

    public var description: String {
        let actualText = actual.map { "version \($0)" } ?? "no stream"
        return "stream '\(stream)' expected \(expected) but is at \(actualText)"
    }
}

/// The contract every event-log backend keeps (the conformance suite in the tests checks it).
public protocol EventStore: Sendable {
    /// Appends atomically; concurrent appends may share one durable commit. Throws `VersionConflict`
    /// when an expected version does not hold, `EventLogError` on storage faults.
    func append(_ request: AppendRequest) async throws -> AppendResult

    /// Events with position ≥ `from`, at most `limit`, in position order.
    func read(from position: UInt64, limit: Int) throws -> [RecordedEvent]

    /// Visits events from `position` on, in position order, until `body` returns false. Only events
    /// whose type is among `types` (UTF-8 names) are handed over built; the others reach `body` as their
    /// position alone. For folds that want a few kinds of event out of many.
    func forEach(
        from position: UInt64, ofTypes types: [[UInt8]], _ body: (UInt64, RecordedEvent?) throws -> Bool
    ) throws

    /// Events of one stream with version ≥ `fromVersion`, at most `limit`, in version order.
    func readStream(_ stream: String, fromVersion: UInt64, limit: Int) throws -> [RecordedEvent]

    /// The stream's head, `nil` when it has no events.
    func head(of stream: String) throws -> StreamHead?

    /// The result of the append that carried `commandID`, `nil` when none did.
    func result(ofCommand commandID: String) throws -> AppendResult?

    /// The position of the last committed event, 0 for an empty log.
    func lastPosition() throws -> UInt64

    /// Returns once the log holds an event after `position`; throws `CancellationError` when the task is
    /// cancelled.
    func waitForAppend(after position: UInt64) async throws

    /// Everything after `position`, then every new commit as it happens, until the consumer stops.
    func subscribe(after position: UInt64) -> EventSubscription

    /// Finishes queued appends and releases the backend; later appends fail with `EventLogError.closed`.
    func close()

    // MARK: Reads for async callers
    // The reads above, for callers on Swift's cooperative threads (request handlers, the command
    // handler): a backend that waits for a server (PostgreSQL) awaits its answer instead of holding one
    // of those few threads. The defaults read synchronously, as a local store (LMDB) answers at once.

    /// `read(from:limit:)`, awaiting the backend.
    func fetch(from position: UInt64, limit: Int) async throws -> [RecordedEvent]

    /// Up to `limit` positions from `position` on, each with its event when its type is among `types`
    /// (UTF-8 names), as `forEach(from:ofTypes:_:)` visits them; awaiting the backend.
    func fetch(from position: UInt64, limit: Int, ofTypes types: [[UInt8]]) async throws -> [(UInt64, RecordedEvent?)]

    /// `readStream(_:fromVersion:limit:)`, awaiting the backend.
    func fetchStream(_ stream: String, fromVersion: UInt64, limit: Int) async throws -> [RecordedEvent]

    /// `result(ofCommand:)`, awaiting the backend.
    func fetchResult(ofCommand commandID: String) async throws -> AppendResult?

    /// `lastPosition()`, awaiting the backend.
    func fetchLastPosition() async throws -> UInt64
}

extension EventStore {
    public func fetch(from position: UInt64, limit: Int) async throws -> [RecordedEvent] {
        try read(from: position, limit: limit)
    }

    public func fetch(from position: UInt64, limit: Int, ofTypes types: [[UInt8]]) async throws -> [(UInt64, RecordedEvent?)] {
        var visited: [(UInt64, RecordedEvent?)] = []
        guard limit > 0 else { return visited }
        try forEach(from: position, ofTypes: types) { at, event in
            visited.append((at, event))
            return visited.count < limit
        }
        return visited
    }

    public func fetchStream(_ stream: String, fromVersion: UInt64, limit: Int) async throws -> [RecordedEvent] {
        try readStream(stream, fromVersion: fromVersion, limit: limit)
    }

    public func fetchResult(ofCommand commandID: String) async throws -> AppendResult? {
        try result(ofCommand: commandID)
    }

    public func fetchLastPosition() async throws -> UInt64 {
        try lastPosition()
    }
}

/// A log whose writer coalesces concurrent appends into shared commits, and counts them.
public protocol GroupCommitting {
    /// Commits made and appends they carried, since the log was opened.
    var groupStatistics: (commits: UInt64, appends: UInt64) { get }
}

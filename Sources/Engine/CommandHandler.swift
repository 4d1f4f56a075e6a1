import EventLog
import Foundation
import Logging
import Messaging
import Synchronization

/// What a handled command did.
public struct CommandOutcome: Sendable {
    /// The events the command appended (for a repeated command: the ones its first run appended).
    public var events: [Recorded<Event>]
    /// The log position the command reached; a reader that waits for it sees the command's effect.
    public var position: UInt64
    /// For an open on a one-thread-per-subject kind whose subject already has a thread: that thread.
    public var existingThread: ThreadID?
    /// True when the command id had been handled before and nothing was appended now.
    public var deduplicated: Bool

    /// The thread a command opened or acted on, when there is one.
    public var thread: ThreadID? {
        if let existingThread { return existingThread }
        for recorded in events {
            if case .threadOpened(let opened) = recorded.event { return opened.thread }
        }
        return nil
    }
}

/// Commands that kept conflicting with concurrent writers past the retry limit.
public struct ContentionError: Error, Sendable, CustomStringConvertible {
    public var attempts: Int
    public var description: String { "the command conflicted with concurrent writes \(attempts) times; try again" }
}

/// Handles commands: load the streams a command needs, fold, decide, append with the expected
/// versions; on a version conflict reload and decide again (bounded). A command id makes a command
/// idempotent: repeating it returns the first outcome.
public final class CommandHandler: Sendable {
    public let store: any EventStore
    private let directory: DirectoryCache
    private let clock: @Sendable () -> Int64
    private let newID: @Sendable () -> String
    private let logger: Logger
    private let maxAttempts = 16
    private let streams = StreamCache()
    private let correlations = CorrelationIDs()

    public init(
        store: any EventStore,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) },
        newID: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() },
        logger: Logger = Logger(label: "threadlog.engine")
    ) {
        self.store = store
        self.directory = DirectoryCache(store: store)
        self.clock = clock
        self.newID = newID
        self.logger = logger
    }

    /// Starts the directory from a snapshot (`ReadModels.storedDirectory()`): the first command then
    /// folds only the directory events after `position` instead of reading the whole log.
    public func seedDirectory(_ directory: Directory, at position: UInt64) {
        self.directory.seed(directory, at: position)
    }

    /// The directory as of the log's head.
    public func currentDirectory() throws -> Directory { try directory.current().0 }

    /// `currentDirectory()` for async callers: the log is read without holding the calling thread.
    public func fetchDirectory() async throws -> Directory { try await directory.fetch().0 }

    /// How many tokens had been replaced or revoked when the directory was last brought up to date; a
    /// command that changes the directory does so before it returns. Cheap: it reads no log.
    public var tokenRevision: Int { directory.tokenRevision }

    /// Decides and appends `command` on behalf of `actor`. Throws `DomainError` for a refusal (nothing
    /// is appended), `ContentionError` when retries run out, storage errors otherwise.
    public func handle(
        _ command: Command, actor: Actor, commandID: String? = nil, correlationID: String? = nil
    ) async throws -> CommandOutcome {
        if let commandID, let first = try await store.fetchResult(ofCommand: commandID) {
            return try outcome(of: first)
        }
        // Generated once, so every retry decides about the same new thread or principal.
        let id = command.needsNewID ? newID() : ""
        let correlation = correlationID ?? commandID ?? (id.isEmpty ? correlations.next() : id)
        for attempt in 1...maxAttempts {
            let (directory, position) = try await directory.fetch()
            let context = CommandContext(now: clock(), actor: actor, newID: id)
            var loaded = LoadedStreams()
            for stream in command.streamsToLoad(context: context) {
                let cached = try await streams.fetch(stream, from: store)
                loaded.versions[stream] = cached.version
                if let thread = cached.thread.state {
                    loaded.threads[stream] = thread
                } else {
                    loaded.records[stream] = cached.records
                }
            }
            let plan = try Decider.plan(command, context: context, directory: directory, loaded: loaded)
            // Released before the append, so the cache extends its states in place afterwards.
            loaded = LoadedStreams()
            if let existing = plan.existingThread {
                return try await answerExisting(existing, command: command, actor: actor, directory: directory, position: position, commandID: commandID)
            }
            if plan.writes.isEmpty {
                // Nothing to append: the answer names the log's head, which a read may wait for.
                return CommandOutcome(
                    events: [], position: max(position, try await store.fetchLastPosition()), existingThread: nil,
                    deduplicated: false)
            }
            let writes = plan.writes.map { write in
                StreamWrite(
                    stream: write.stream,
                    expected: write.expected.storage,
                    events: write.events.map { ProposedEvent($0, context: context, correlationID: correlation) })
            }
            do {
                let result = try await store.append(AppendRequest(commandID: commandID, writes: writes))
                if result.deduplicated { return try outcome(of: result) }
                let recorded = self.recorded(plan.writes.map(\.events), as: writes, result: result, now: context.now)
                // The next command on these streams starts from what was just decided, not a re-read.
                for (write, events) in zip(writes, recorded) { streams.extend(write.stream, with: events) }
                // A directory change (a replaced or revoked token among them) holds for whatever is
                // answered after this command: the directory is folded up to it before returning.
                if recorded.joined().contains(where: { $0.event.type.isDirectory }) {
                    _ = try await self.directory.fetch()
                }
                return CommandOutcome(
                    events: recorded.flatMap { $0 }, position: result.lastPosition, existingThread: nil,
                    deduplicated: false)
            } catch let conflict as VersionConflict {
                logger.debug("version conflict, deciding again", metadata: ["attempt": "\(attempt)", "conflict": "\(conflict)"])
            }
        }
        throw ContentionError(attempts: maxAttempts)
    }

    /// Drops what is cached of a stream (after its payloads were erased).
    public func forget(stream: String) { streams.forget(stream) }

    /// An open of a one-thread-per-subject kind found its thread: the opener is answered with it only if
    /// they may see it (else "not found", so its existence is not revealed), and the open's first
    /// message, if any, is posted to it rather than lost.
    private func answerExisting(
        _ thread: ThreadID, command: Command, actor: Actor, directory: Directory, position: UInt64, commandID: String?
    ) async throws -> CommandOutcome {
        guard case .user(let user) = actor, let state = try threadState(thread), Access.canRead(user, state, directory) else {
            // Only the internal side gets here without seeing the thread (outsiders are refused by
            // subject before it is looked up); the answer names the subject, never the thread.
            guard let state = try threadState(thread) else { throw DomainError.threadNotFound(thread) }
            throw DomainError.subjectNotFound(state.subject)
        }
        guard case .openThread(let open) = command, let body = open.body else {
            return CommandOutcome(
                events: [], position: max(position, try store.lastPosition()), existingThread: thread,
                deduplicated: false)
        }
        var posted = try await handle(.postMessage(thread: thread, message: body), actor: actor, commandID: commandID)
        posted.existingThread = thread
        return posted
    }

    /// The events of a fresh append as the log recorded them, per write, from what was written: the log
    /// numbers a request's events in order, and each stream's last version is in the result (a stream
    /// appears once per request), so nothing needs reading back.
    private func recorded(
        _ events: [[Event]], as writes: [StreamWrite], result: AppendResult, now: Int64
    ) -> [[Recorded<Event>]] {
        var position = result.firstPosition
        return zip(events, writes).map { events, write in
            let count = UInt64(write.events.count)
            let first = (result.streamVersions[write.stream] ?? count) - count + 1
            return zip(events, write.events).enumerated().map { offset, pair in
                defer { position += 1 }
                return Recorded(
                    position: position, version: first + UInt64(offset), timeMillis: pair.1.timeMillis ?? now,
                    actor: pair.1.actor, event: pair.0)
            }
        }
    }

    private func outcome(of result: AppendResult) throws -> CommandOutcome {
        let count = Int(result.lastPosition - result.firstPosition + 1)
        let events = try store.read(from: result.firstPosition, limit: count).compactMap { try $0.decodedUnlessPurged() }
        return CommandOutcome(events: events, position: result.lastPosition, existingThread: nil, deduplicated: result.deduplicated)
    }

    /// A thread's state folded from its stream, `nil` when it does not exist. Not access-checked.
    public func threadState(_ id: ThreadID, asOfMillis: Int64? = nil) throws -> ThreadState? {
        try ThreadFold.fold(
            store.readStream(StreamName.thread(id), fromVersion: 1, limit: .max)
                .filter { asOfMillis == nil || $0.timeMillis <= asOfMillis! })
    }
}

extension Expectation {
    var storage: ExpectedVersion {
        switch self {
        case .noStream: .noStream
        case .version(let version): .exactly(version)
        }
    }
}

/// The decoded events of recently used streams (a `FoldCache`), so a command reads and decodes only
/// what was appended since the stream was last loaded rather than the whole stream. Thread streams keep
/// only their fold (deciders need nothing else of them); other streams keep their records.
final class StreamCache: Sendable {
    struct Entry: CachedFold {
        var records: [Recorded<Event>] = []
        var thread = ThreadFold()
        private var recordsVersion: UInt64 = 0

        var version: UInt64 { max(thread.version, recordsVersion) }

        /// Thread streams fold, others keep their records (the same rule for erased records).
        mutating func apply(_ record: RecordedEvent, isThread: Bool) throws {
            if isThread { return try thread.apply(record) }
            recordsVersion = record.version
            if let decoded = try record.decodedUnlessPurged() { records.append(decoded) }
        }

        mutating func apply(_ recorded: Recorded<Event>, isThread: Bool) {
            if isThread { return thread.apply(recorded) }
            recordsVersion = recorded.version
            records.append(recorded)
        }
    }

    private let entries = FoldCache<Entry>()

    func load(_ stream: String, from store: any EventStore) throws -> Entry {
        let isThread = stream.hasPrefix("thread-")
        return try entries.load(stream) { entry in
            for record in try store.readStream(stream, fromVersion: entry.version + 1, limit: .max) {
                try entry.apply(record, isThread: isThread)
            }
        }
    }

    /// `load(_:from:)` for async callers: the reads are awaited.
    func fetch(_ stream: String, from store: any EventStore) async throws -> Entry {
        let isThread = stream.hasPrefix("thread-")
        return try await entries.load(stream) { (entry: inout Entry) async throws in
            for record in try await store.fetchStream(stream, fromVersion: entry.version + 1, limit: .max) {
                try entry.apply(record, isThread: isThread)
            }
        }
    }

    /// Applies events just appended to a stream to its cached entry, when they follow it directly
    /// (otherwise the next load reads them from the log).
    func extend(_ stream: String, with appended: [Recorded<Event>]) {
        guard let first = appended.first else { return }
        let isThread = stream.hasPrefix("thread-")
        entries.update(stream) { entry in
            guard entry.version + 1 == first.version else { return }
            for recorded in appended { entry.apply(recorded, isThread: isThread) }
        }
    }

    func forget(_ stream: String) { entries.forget(stream) }
}

/// Correlation ids for commands that bring none: a random UUID per process and a counter, unique
/// without drawing randomness for every command.
final class CorrelationIDs: Sendable {
    private let prefix = UUID().uuidString.lowercased() + "-"
    private let counter = Mutex<UInt64>(0)

    /// `<uuid>-<counter>`, the counter in hexadecimal.
    func next() -> String {
        let value = counter.withLock { value in
            value += 1
            return value
        }
        return prefix + String(value, radix: 16)
    }
}

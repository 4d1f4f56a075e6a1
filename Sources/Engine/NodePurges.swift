import EventLog
import Foundation
import Logging
import Messaging
import ServiceLifecycle
import Synchronization

/// What one node does with the purges on a log that several nodes share: retention runs on the elected
/// node, which deletes its own attachment files and compacts its own views; every node keeps its own
/// files besides, which this applies the purges to. For each `thread.purged` after the node's checkpoint
/// (`DIR/purges-applied`): wait until this node's views have applied it (its rows are gone), delete the
/// attachment files it names that no live thread of the views references, then rewrite the views
/// without their free pages once per batch, and only then advance the checkpoint. Every step can be
/// repeated, so a crash anywhere is completed by the next pass.
public final class NodePurges: Sendable {
    let log: any EventStore
    let models: ReadModels
    let data: DataDirectory
    let logger: Logger
    let viewsTimeout: Duration
    let beforeCompaction: @Sendable () throws -> Void
    /// Where the passes stand (ahead of the file while only other events went by), and what the file holds.
    private let progress = Mutex<(position: UInt64, stored: UInt64)?>(nil)
    /// The thread the passes' reads, deletions and compactions run on, for as long as this lives.
    private let thread = SerialThread.catchUp("threadlog.purges")
    /// How far the passes may get ahead of the file over events that are not purges; a restart reads
    /// those again (finding nothing to do).
    static let storeEvery: UInt64 = 10_000

    /// The file holding the log position up to which this node has applied the purges.
    public var checkpointPath: String { data.root + "/purges-applied" }

    /// `viewsTimeout` bounds one wait for the views to reach a purge (a pass that waited in vain is
    /// retried); `beforeCompaction` brings the other readers of the log that keep copies in the views up
    /// to the purges (on the elected node, the notification outbox), as for retention.
    public init(
        log: any EventStore, models: ReadModels, data: DataDirectory, logger: Logger = Logger(label: "threadlog.purges"),
        viewsTimeout: Duration = .seconds(30), beforeCompaction: @escaping @Sendable () throws -> Void = {}
    ) {
        self.log = log
        self.models = models
        self.data = data
        self.logger = logger
        self.viewsTimeout = viewsTimeout
        self.beforeCompaction = beforeCompaction
    }

    /// What one pass did.
    public struct Pass: Sendable, Equatable {
        /// The log position the checkpoint stands at after the pass.
        public var position: UInt64
        /// `thread.purged` events applied.
        public var purges = 0
        /// Attachment files deleted.
        public var deletedBlobs = 0
        /// The views were rewritten without their free pages.
        public var compacted = false
    }

    /// Writes the checkpoint when there is none yet: the position the views have stored. Called before
    /// the views catch up (at start), so no purge reaches the views unseen by this node. Purges before
    /// that position were applied to the views already (and, from an older version, named no
    /// attachments); a node whose views start empty never had the files of earlier purges, and reads
    /// them anyway from 0, which costs one pass over the log's `thread.purged` events.
    @discardableResult
    public func start() throws -> UInt64 {
        if let kept = try storedCheckpoint() { return kept }
        let position = try models.status().map(\.checkpoint).min() ?? 0
        try storeCheckpoint(position)
        return position
    }

    /// The stored checkpoint; `nil` when there is none.
    public func storedCheckpoint() throws -> UInt64? {
        guard let bytes = FileManager.default.contents(atPath: checkpointPath) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let position = UInt64(text) else {
            throw EventLogError(.storage, "\(checkpointPath) does not hold a log position")
        }
        return position
    }

    /// Replaces the checkpoint file atomically (a new file renamed over the old one).
    func storeCheckpoint(_ position: UInt64) throws {
        let temporary = checkpointPath + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw EventLogError(.storage, "cannot write \(temporary)") }
        let bytes = Array("\(position)\n".utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, synced == 0, rename(temporary, checkpointPath) == 0 else {
            throw EventLogError(.storage, "cannot write \(checkpointPath)")
        }
    }

    static let types = [Array(EventType.threadPurged.rawValue.utf8)]
    static let batchSize = 4096

    /// The purges after `position` the log holds now, at most `batchSize` events looked at, and the last
    /// position looked at.
    func purges(after position: UInt64) throws -> (purges: [(UInt64, ThreadPurged)], reached: UInt64) {
        var found: [(UInt64, ThreadPurged)] = []
        var reached = position
        var seen = 0
        try log.forEach(from: position + 1, ofTypes: Self.types) { at, recorded in
            seen += 1
            reached = at
            if let recorded, recorded.type == EventType.threadPurged.rawValue,
                case .threadPurged(let purged) = try recorded.decoded().event
            {
                found.append((at, purged))
            }
            return seen < Self.batchSize
        }
        return (found, reached)
    }

    /// Applies the purges the log holds after the checkpoint, batch by batch, up to its head.
    public func pass() async throws -> Pass {
        let kept = progress.withLock { $0 }
        var stored = try kept?.stored ?? start()
        var position = kept?.position ?? stored
        defer { progress.withLock { [position, stored] in $0 = (position, stored) } }
        var pass = Pass(position: position)
        while true {
            let from = position
            let (purges, reached) = try await thread.run { [self] in
                try self.purges(after: from)
            }
            if reached == position { break }
            if let last = purges.last?.0 {
                // The views must have dropped the threads' rows before their files are compacted, and
                // must know every purged thread before the live references are counted.
                try await models.wait(for: last, timeout: viewsTimeout)
                let (deleted, compacted) = try await thread.run { [self] in
                    let live = AttachmentFiles.live(in: try self.models.allThreads())
                    let deleted = try AttachmentFiles.delete(
                        purges.flatMap(\.1.attachments), keeping: live, data: self.data)
                    try self.beforeCompaction()
                    return (deleted, try self.models.views.compact())
                }
                pass.deletedBlobs += deleted
                guard compacted else {
                    // Another process has the views open: the checkpoint stays, the next pass repeats it.
                    throw EventLogError(.storage, "the views at \(data.views) are open in another process; not compacted")
                }
                pass.purges += purges.count
                pass.compacted = true
                logger.info(
                    "applied purges to this node's files",
                    metadata: ["purges": "\(purges.count)", "blobs": "\(deleted)", "position": "\(last)"])
            }
            if !purges.isEmpty || reached - stored >= Self.storeEvery {
                try storeCheckpoint(reached)
                stored = reached
            }
            position = reached
            pass.position = reached
        }
        return pass
    }
}

/// Runs `NodePurges` beside the server on every node of a shared log: a pass, then wait for the log to
/// grow, and again. A failed pass is logged and tried again after a pause that doubles up to
/// `backoff.maximum`, like a projector's; it never ends the server.
public struct NodePurgesService: Service {
    let purges: NodePurges
    let backoff: ProjectorService.Backoff
    let pause: Duration

    public init(
        purges: NodePurges, backoff: ProjectorService.Backoff = .init(initial: .milliseconds(500), maximum: .seconds(30)),
        pause: Duration = .milliseconds(250)
    ) {
        self.purges = purges
        self.backoff = backoff
        self.pause = pause
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var failures = 0
            while !Task.isCancelled {
                do {
                    let pass = try await purges.pass()
                    if failures > 0 {
                        purges.logger.notice("applying purges resumed", metadata: ["position": "\(pass.position)"])
                        failures = 0
                    }
                    try await purges.log.waitForAppend(after: pass.position)
                    // Purges are rare: a pass per burst of appends, not per append.
                    try await Task.sleep(for: pause)
                } catch is CancellationError {
                    return
                } catch let error as EventLogError where error.code == .closed {
                    return
                } catch {
                    failures += 1
                    let pause = backoff.pause(after: failures)
                    purges.logger.error(
                        "applying purges to this node's files failed; retrying",
                        metadata: ["error": "\(error)", "failures": "\(failures)", "retryIn": "\(pause)"])
                    try? await Task.sleep(for: pause)
                }
            }
        }
    }
}

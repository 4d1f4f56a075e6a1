import EventLog
import Foundation
import Logging
import Messaging
import Projections
import ServiceLifecycle

/// A thread whose retention period is over.
public struct DueThread: Sendable, Hashable {
    public var thread: ThreadID
    public var subject: Subject
    public var lastActivityMillis: Int64
    public var retentionDays: Int
    public var dueAtMillis: Int64
}

/// What a retention run found and did.
public struct RetentionReport: Sendable {
    /// Threads past their retention period (purged unless this was a dry run).
    public var due: [DueThread] = []
    /// Threads past their period that a legal hold keeps.
    public var held: [ThreadID] = []
    /// Threads purged by this run, including purges an earlier run had left unfinished.
    public var purged: [ThreadID] = []
    /// Log records whose payload this run erased.
    public var erasedRecords = 0
    /// Attachment files deleted.
    public var deletedBlobs = 0
    /// The log and the views were rewritten without their free pages.
    public var compacted = false
    /// Compaction waits: another process has the log or the views open. The next run does it.
    public var compactionDeferred = false
}

/// Retention: threads are kept for the retention period after their last activity (the deployment's
/// `retentionDays`, or their category's own), then purged — unless under legal hold. A purge appends
/// `thread.purged`, deletes the thread's attachment files (those no live thread references), erases the
/// payloads of the thread's events in the log (envelopes and digests stay, so the chain verifies), lets
/// the views drop the thread's rows, and finally rewrites the log and the views into compacted copies so
/// no free page keeps the old bytes. Every step can be repeated; a run interrupted anywhere is completed
/// by the next.
public final class Retention: Sendable {
    let log: any ErasableLog
    let models: ReadModels
    let handler: CommandHandler
    let data: DataDirectory
    let logger: Logger
    let beforeCompaction: @Sendable () throws -> Void

    /// `beforeCompaction` brings every other reader of the log that keeps copies in the views (the
    /// notification outbox) up to the purges, so compaction leaves none of their old bytes behind.
    public init(
        log: any ErasableLog, models: ReadModels, handler: CommandHandler, data: DataDirectory,
        logger: Logger = Logger(label: "threadlog.retention"), beforeCompaction: @escaping @Sendable () throws -> Void = {}
    ) {
        self.log = log
        self.models = models
        self.handler = handler
        self.data = data
        self.logger = logger
        self.beforeCompaction = beforeCompaction
    }

    static let dayMillis: Int64 = 86_400_000

    /// The threads due at `asOfMillis`, and the ones a legal hold keeps.
    public func plan(asOfMillis: Int64) throws -> (due: [DueThread], held: [ThreadID]) {
        try models.catchUp()
        return try planAsViewsStand(asOfMillis: asOfMillis)
    }

    /// The threads due at `asOfMillis`, and the ones a legal hold keeps, from the views as they stand.
    func planAsViewsStand(asOfMillis: Int64) throws -> (due: [DueThread], held: [ThreadID]) {
        let directory = models.publishedDirectory
        var due: [DueThread] = []
        var held: [ThreadID] = []
        for state in try models.allThreads() where !state.isPurged {
            let days = state.category.flatMap { directory.categories[$0]?.retentionDays } ?? directory.settings.retentionDays
            let dueAt = state.lastActivityMillis + Int64(days) * Self.dayMillis
            guard dueAt <= asOfMillis else { continue }
            if state.legalHold {
                held.append(state.id)
            } else {
                due.append(DueThread(thread: state.id, subject: state.subject, lastActivityMillis: state.lastActivityMillis, retentionDays: days, dueAtMillis: dueAt))
            }
        }
        return (due.sorted { $0.dueAtMillis < $1.dueAtMillis }, held.sorted())
    }

    /// Lists (dry run) or purges what is due at `asOfMillis`, and completes unfinished purges.
    public func run(asOfMillis: Int64, dryRun: Bool) async throws -> RetentionReport {
        var report = RetentionReport()
        try await models.catchUpOffPool()
        (report.due, report.held) = try planAsViewsStand(asOfMillis: asOfMillis)
        if dryRun { return report }
        for due in report.due {
            let days = due.retentionDays
            do {
                _ = try await handler.handle(
                    .purgeThread(thread: due.thread, reason: "retention: \(days) days after the last activity"),
                    actor: .admin, commandID: "purge:\(due.thread.rawValue)")
            } catch DomainError.legalHold {
                report.held.append(due.thread)
            }
        }
        // Erase everything purged, this run's and any earlier run's that a crash interrupted.
        // The purges must reach the views (their rows go) before the views are compacted.
        try await models.catchUpOffPool()
        let threads = try models.allThreads()
        let live = AttachmentFiles.live(in: threads)
        for state in threads where state.isPurged {
            let (erased, blobs) = try erase(state.id, keepingBlobs: live)
            if erased > 0 || blobs > 0 { report.purged.append(state.id) }
            report.erasedRecords += erased
            report.deletedBlobs += blobs
        }
        let pending = data.root + "/compaction-pending"
        let fm = FileManager.default
        if report.erasedRecords > 0 || report.deletedBlobs > 0 || fm.fileExists(atPath: pending) {
            // Free pages may still hold the erased bytes: rewrite both stores without them. The marker
            // survives a crash or a refusal, so a later run compacts even when it erases nothing.
            guard fm.fileExists(atPath: pending) || fm.createFile(atPath: pending, contents: Data()) else {
                throw EventLogError(.storage, "cannot write \(pending); nothing was compacted")
            }
            try beforeCompaction()
            let logDone = try log.compact()
            let viewsDone = try models.views.compact()
            if logDone && viewsDone {
                try? fm.removeItem(atPath: pending)
                report.compacted = true
            } else {
                report.compactionDeferred = true
                logger.warning("compaction deferred: another process has the log or the views open")
            }
            logger.info("retention purged threads", metadata: ["threads": "\(report.purged.count)", "records": "\(report.erasedRecords)"])
        }
        return report
    }

    /// Deletes the thread's attachment files and erases its events' payloads (all but `thread.purged`).
    private func erase(_ thread: ThreadID, keepingBlobs live: Set<String>) throws -> (records: Int, blobs: Int) {
        let events = try log.readStream(StreamName.thread(thread), fromVersion: 1, limit: .max)
        var digests: [String] = []
        for recorded in events where !recorded.isPurged && recorded.type == EventType.messagePosted.rawValue {
            guard case .messagePosted(let posted) = try recorded.decoded().event else { continue }
            digests += posted.attachments.map(\.sha256)
        }
        let blobs = try AttachmentFiles.delete(digests, keeping: live, data: data)
        let positions = events.filter { !$0.isPurged && $0.type != EventType.threadPurged.rawValue }.map(\.position)
        let records = positions.isEmpty ? 0 : try log.erase(positions: positions)
        handler.forget(stream: StreamName.thread(thread))
        return (records, blobs)
    }
}

extension ReadModels {
    /// Every thread state of the threads view.
    public func allThreadStates() throws -> [ThreadState] { try allThreads() }

    func allThreads() throws -> [ThreadState] {
        try withCurrentTables { tables, txn in try readAllThreads(tables: tables, txn) }
    }
}

/// Runs retention once a day inside the service.
public struct RetentionService: Service {
    let retention: Retention
    let interval: Duration

    let firstRunAfter: Duration

    /// The first run comes `firstRunAfter` the start (so start-up work, such as view rebuilds, goes
    /// first), then one every `interval`.
    public init(retention: Retention, interval: Duration = .seconds(86_400), firstRunAfter: Duration = .seconds(60)) {
        self.retention = retention
        self.interval = interval
        self.firstRunAfter = firstRunAfter
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            try? await Task.sleep(for: firstRunAfter)
            while !Task.isCancelled {
                do {
                    let now = Int64(Date().timeIntervalSince1970 * 1000)
                    _ = try await retention.run(asOfMillis: now, dryRun: false)
                } catch {
                    retention.logger.error("retention run failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}

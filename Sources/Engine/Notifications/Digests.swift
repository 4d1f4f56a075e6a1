import EventLog
import Foundation
import Logging
import Messaging
import Projections
import ServiceLifecycle

/// Who gets a digest: for each user, per subject, the threads with messages they have not read that
/// the other side wrote (the operator vs each outside party), which they may see. Pure.
enum DigestPlanner {
    static func due(threads: [ThreadState], directory: Directory, day: String) -> [DigestScheduled] {
        struct Key: Hashable {
            var user: UserID
            var subject: Subject
        }
        let settings = directory.settings.digest
        guard settings.enabled else { return [] }
        var found: [Key: (threads: [ThreadID], unread: Int)] = [:]
        let users = directory.users.keys.sorted().filter { settings.reaches($0, in: directory) }
        for thread in threads.sorted(by: { $0.id < $1.id }) where !thread.isPurged {
            for user in users {
                let marker = thread.readMarker(of: user)
                let unread = Access.visibleMessages(of: thread, for: user, in: directory).count {
                    $0.number > marker && $0.author != user && !directory.sameSide($0.author, user)
                }
                guard unread > 0 else { continue }
                let key = Key(user: user, subject: thread.subject)
                found[key, default: ([], 0)].threads.append(thread.id)
                found[key, default: ([], 0)].unread += unread
            }
        }
        return found.map { key, value in
            DigestScheduled(
                user: key.user, subject: key.subject, day: day, threads: value.threads, unread: value.unread)
        }
        .sorted { ($0.user, $0.subject.kind, $0.subject.ref) < ($1.user, $1.subject.kind, $1.subject.ref) }
    }
}

/// What a digest run decided.
public struct DigestReport: Sendable {
    /// Every digest due that day (a dry run stops here).
    public var due: [DigestScheduled] = []
    /// Decided by this run.
    public var scheduled: [DigestScheduled] = []
    /// Decided earlier the same day (by another run or process): not mailed again.
    public var alreadyScheduled: [DigestScheduled] = []
    /// The settings switch digests off (`digest.enabled: false`): nothing was due.
    public var switchedOff = false
}

/// The daily digest: decides which digests are due and records each decision in the log before any
/// mail goes out (`digest.scheduled`, command id `digest:<user>:<kind>:<ref>:<day>`). The outbox derives
/// exactly one mail from each decision; the sender records `digest.sent`. A second run the same day,
/// in this process or another, decides nothing new.
public final class Digests: Sendable {
    let models: ReadModels
    let handler: CommandHandler
    let logger: Logger

    public init(models: ReadModels, handler: CommandHandler, logger: Logger) {
        self.models = models
        self.handler = handler
        self.logger = logger
    }

    /// The digests due on `day` from the read models brought up to the log's head.
    public func due(day: String) throws -> [DigestScheduled] {
        try models.catchUp()
        return try dueAsViewsStand(day: day)
    }

    /// The digests due on `day` from the read models as they stand.
    func dueAsViewsStand(day: String) throws -> [DigestScheduled] {
        let threads = try models.allThreads()
        return DigestPlanner.due(threads: threads, directory: models.publishedDirectory, day: day)
    }

    /// Decides the digests of `day` (a dry run only lists them).
    public func run(day: String, dryRun: Bool) async throws -> DigestReport {
        var report = DigestReport()
        try await models.catchUpOffPool()
        report.due = try dueAsViewsStand(day: day)
        report.switchedOff = !models.publishedDirectory.settings.digest.enabled
        guard !dryRun else { return report }
        for digest in report.due {
            let outcome = try await handler.handle(
                .scheduleDigest(digest), actor: .admin,
                commandID: DigestScheduled.commandID(user: digest.user, subject: digest.subject, day: day))
            if outcome.deduplicated || outcome.events.isEmpty {
                report.alreadyScheduled.append(digest)
            } else {
                report.scheduled.append(digest)
            }
        }
        if !report.scheduled.isEmpty {
            logger.info("digests scheduled", metadata: ["day": "\(day)", "count": "\(report.scheduled.count)"])
        }
        return report
    }

    /// The service's own record of the last day whose digests it decided in full, in the view store.
    static let table = "digests.v1"
    static let completedKey = Array("completed".utf8)

    /// The last day the service decided in full; `nil` when none is recorded.
    func completedDay() -> String? {
        try? models.views.prepare(tables: [Self.table])
        let stored: [UInt8]?? = try? models.views.read { txn in try txn.get(Self.table, Self.completedKey) }
        guard let bytes = stored ?? nil else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    func recordCompleted(day: String) async throws {
        try models.views.prepare(tables: [Self.table])
        try await models.views.queuedWrite { txn in try txn.put(Self.table, Self.completedKey, Array(day.utf8)) }
    }

    /// `YYYY-MM-DD` of an instant in the local time zone.
    public static func day(of date: Date, timeZone: TimeZone = .current) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// Minutes after local midnight of `HH:MM`; `nil` when malformed.
    static func minutes(of time: String) -> Int? {
        let parts = time.split(separator: ":")
        guard parts.count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
            (0..<24).contains(hours), (0..<60).contains(minutes)
        else { return nil }
        return hours * 60 + minutes
    }
}

/// Runs the day's digest once the configured local time (`digest.time` in the settings) has passed.
/// The day of the last complete run is kept in the view store: a restart the same day decides nothing
/// again (a run cut short by a crash is run again; its decisions already made are no-ops).
public struct DigestService: Service {
    let digests: Digests
    let checkInterval: Duration
    let now: @Sendable () -> Date

    public init(
        digests: Digests, checkInterval: Duration = .seconds(30), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.digests = digests
        self.checkInterval = checkInterval
        self.now = now
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastDay = digests.completedDay()
            while !Task.isCancelled {
                let date = now()
                let day = Digests.day(of: date)
                let time = digests.models.publishedDirectory.settings.digest.time
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = .current
                let parts = calendar.dateComponents([.hour, .minute], from: date)
                let minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
                if day != lastDay, let due = Digests.minutes(of: time) ?? Digests.minutes(of: "07:00"), minute >= due {
                    do {
                        _ = try await digests.run(day: day, dryRun: false)
                        try await digests.recordCompleted(day: day)
                        lastDay = day
                    } catch {
                        digests.logger.error("digest run failed; retrying", metadata: ["error": "\(error)"])
                    }
                }
                try? await Task.sleep(for: checkInterval)
            }
        }
    }
}

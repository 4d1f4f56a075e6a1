import ArgumentParser
import Engine
import EventLog
import Foundation
import Logging
import Messaging

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "List (--dry-run) or purge the threads whose retention period is over.",
        discussion: """
            A thread is kept for the retention period after its last activity (settings, or its category's \
            own), unless a legal hold keeps it. Purging appends thread.purged, deletes its attachments, erases \
            its texts from the log and the views, then rewrites both without free pages. The rewrite waits \
            while another process (a running service) has them open; the service's own daily run does it.
            """
    )

    @OptionGroup var options: DataOptions

    @Flag(name: .customLong("dry-run"), help: "List what is due; change nothing.")
    var dryRun = false

    @Option(name: .customLong("as-of"), help: "Judge ages as of this date or time instead of now (YYYY-MM-DD or ISO 8601).")
    var asOf: String?

    func validate() throws {
        if let asOf, ISOTime.parse(asOf) == nil { throw ValidationError("--as-of '\(asOf)' is not a date like 2030-01-31") }
    }

    func run() async throws {
        let data = try DataDirectory(options.directory, create: false)
        let log = try LMDBEventStore.open(directory: data.log)
        defer { log.close() }
        let views = try ViewStore.open(directory: data.views)
        let models = ReadModels(log: log, views: views)
        let outbox = try NotificationServices.projector(
            log: log, views: views, environment: ProcessInfo.processInfo.environment, logger: Logger(label: "threadlog"))
        let retention = Retention(
            log: log, models: models, handler: CommandHandler(store: log), data: data,
            beforeCompaction: { try outbox.catchUp() })
        let asOfMillis = asOf.flatMap(ISOTime.parse) ?? Int64(Date().timeIntervalSince1970 * 1000)
        let report = try await retention.run(asOfMillis: asOfMillis, dryRun: dryRun)
        for due in report.due {
            print(
                "\(dryRun ? "due" : "purged") \(due.thread) (\(due.subject.kind) \(due.subject.ref)): last activity \(ISOTime.format(millis: due.lastActivityMillis)), kept \(due.retentionDays) days")
        }
        for held in report.held { print("held \(held): legal hold") }
        if dryRun {
            print("\(report.due.count) due, \(report.held.count) under legal hold (dry run: nothing changed)")
        } else {
            print(
                "\(report.purged.count) purged, \(report.erasedRecords) records erased, \(report.deletedBlobs) attachments deleted, "
                    + (report.compactionDeferred
                        ? "compaction deferred (another process has the data open; the service's daily run compacts)"
                        : report.compacted ? "log and views compacted" : "nothing to compact"))
        }
    }
}

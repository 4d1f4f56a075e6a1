import ArgumentParser
import Engine
import EventLog
import Foundation
import Logging
import Messaging

/// `threadlog retention`: the purge run (its default), legal holds and categories' own periods.
struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Purge the threads whose retention period is over; place and release legal holds; set a category's period.",
        discussion: """
            Each subcommand works on the log of --data DIR (LMDB), or with --store URL (default: \
            $THREADLOG_STORE_URL) on a log on PostgreSQL. There, run also needs --data DIR: the directory \
            of the node whose views and attachments it purges; hold, release and category need only the log.
            """,
        subcommands: [RetentionRun.self, LegalHoldCommand.self, ReleaseHoldCommand.self, CategoryRetentionCommand.self],
        defaultSubcommand: RetentionRun.self
    )
}

struct RetentionRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "List (--dry-run) or purge the threads whose retention period is over (the default).",
        discussion: """
            A thread is kept for the retention period after its last activity (settings, or its category's \
            own), unless a legal hold keeps it. Purging appends thread.purged, deletes its attachments, erases \
            its texts from the log and the views, then rewrites both without free pages. The rewrite waits \
            while another process (a running service) has them open; the service's own daily run does it. \
            With --store URL (or $THREADLOG_STORE_URL) the log is on PostgreSQL and --data DIR (or \
            $THREADLOG_DATA) names the node whose views and attachments are purged with it; the log's rewrite \
            is VACUUM FULL events, which waits up to 30 s for older snapshots of the cluster to end. A DIR \
            without views (a node that never served) is refused: `threadlog project rebuild --all --store URL \
            --data DIR` (or a first `serve` there) makes them.
            """
    )

    @OptionGroup var options: DataOptions

    @OptionGroup var storeOptions: StoreOptions

    @Flag(name: .customLong("dry-run"), help: "List what is due; change nothing.")
    var dryRun = false

    @Option(name: .customLong("as-of"), help: "Judge ages as of this date or time instead of now (YYYY-MM-DD or ISO 8601).")
    var asOf: String?

    func validate() throws {
        if let asOf, ISOTime.parse(asOf) == nil { throw ValidationError("--as-of '\(asOf)' is not a date like 2030-01-31") }
        let dataGiven = options.data != nil || !(ProcessInfo.processInfo.environment["THREADLOG_DATA"] ?? "").isEmpty
        if storeOptions.urlBesideData != nil && !dataGiven {
            throw ValidationError("retention needs --data DIR for the node's views and attachments (the log is on PostgreSQL)")
        }
    }

    func run() async throws {
        let node = try storeOptions.openNode(options, writable: true)
        let (log, data, views, models) = (node.log, node.data, node.views, node.models)
        defer { log.close() }
        let outbox = try NotificationServices.projector(
            log: log, views: views,
            configuration: try NotificationConfiguration(environment: ProcessInfo.processInfo.environment, dataRoot: data.root),
            logger: Logger(label: "threadlog"))
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

/// Runs one administrator's command on the log (of `--data`, or on PostgreSQL with a store URL), beside
/// a running service if there is one (LMDB serialises the writers, PostgreSQL orders the appends), and
/// prints what it appended.
private func runAsAdmin(
    _ command: Command, options: DataOptions, store: StoreOptions, describe: (UInt64) -> String
) async throws {
    let log = try store.openLogBesideData(options, writable: true)
    defer { log.close() }
    let outcome: CommandOutcome
    do {
        outcome = try await CommandHandler(store: log).handle(command, actor: .admin)
    } catch let error as DomainError {
        throw ToolFailure(error.message)
    }
    print(outcome.events.isEmpty ? "nothing changed (already so)" : describe(outcome.position))
}

struct LegalHoldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold", abstract: "Place a legal hold on a thread: it is not purged until the hold is released.")

    @OptionGroup var options: DataOptions

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "The thread's id.")
    var thread: String

    @Option(help: "Why the thread is held (kept in the audit trail).")
    var reason: String

    func run() async throws {
        try await runAsAdmin(.placeLegalHold(thread: ThreadID(thread), reason: reason), options: options, store: storeOptions) {
            "legal hold placed on thread \(thread) at position \($0)"
        }
    }
}

struct ReleaseHoldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release", abstract: "Release a thread's legal hold: retention applies to it again.")

    @OptionGroup var options: DataOptions

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "The thread's id.")
    var thread: String

    func run() async throws {
        try await runAsAdmin(.releaseLegalHold(thread: ThreadID(thread)), options: options, store: storeOptions) {
            "legal hold on thread \(thread) released at position \($0)"
        }
    }
}

struct CategoryRetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "category", abstract: "Set a category's own retention period, or return it to the deployment's.")

    @OptionGroup var options: DataOptions

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "The category's id.")
    var category: String

    @Option(help: "Days after the last activity (1 to 36500).")
    var days: Int?

    @Flag(name: .customLong("deployment-default"), help: "Use the deployment's period again.")
    var deploymentDefault = false

    func validate() throws {
        guard (days != nil) != deploymentDefault else {
            throw ValidationError("give either --days N or --deployment-default")
        }
        if let days, !(1...36_500).contains(days) { throw ValidationError("--days must be from 1 to 36500") }
    }

    func run() async throws {
        try await runAsAdmin(.setCategoryRetention(category: CategoryID(category), days: days), options: options, store: storeOptions) {
            "category \(category) keeps threads \(days.map { "\($0) days" } ?? "as long as the deployment does") (position \($0))"
        }
    }
}

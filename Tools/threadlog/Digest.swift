import ArgumentParser
import Engine
import EventLog
import Foundation
import Logging
import Messaging

struct Digest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digest",
        abstract: "Send the daily digests that are due (exactly once per user, subject and day).",
        discussion: """
            A user with unread messages from the other side gets one mail per subject, asking them to log in. \
            Each decision is recorded in the log (digest.scheduled) before the mail goes out and its delivery \
            after it (digest.sent), so a second run the same day, or a run beside the running service, sends \
            nothing twice. Environment: THREADLOG_SMTP_URL and THREADLOG_MAIL_FROM (without them the digests \
            are recorded and wait in the outbox for the service), THREADLOG_SMTP_CA_FILE, THREADLOG_PUBLIC_URL (links), \
            THREADLOG_DIGEST_TIMEOUT (seconds to keep retrying an unreachable mail server, default 600).

            With --store URL (or $THREADLOG_STORE_URL) the log is on PostgreSQL and --data DIR (or \
            $THREADLOG_DATA) names the node whose views it reads and whose outbox it derives the mails into \
            (a node that never served has no views: `threadlog project rebuild --all` makes them). The nodes \
            of that log share a ledger of delivered mail, and the command sends only while it holds the \
            nodes' election: with no service running it sends the digests itself (services that start \
            meanwhile wait for the lead and then send none of them again); beside a running service it records \
            the decisions, leaves the sending to the elected node, and waits (THREADLOG_DIGEST_TIMEOUT) until \
            that node has delivered them.
            """
    )

    @OptionGroup var options: DataOptions

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "The day of the digest, YYYY-MM-DD (default: today, local time).")
    var date: String?

    @Flag(name: .customLong("dry-run"), help: "List the digests that would be sent; send and record nothing.")
    var dryRun = false

    func validate() throws {
        if let date, !DigestScheduled.isValidDay(date) {
            throw ValidationError("--date '\(date)' is not a date like 2030-01-31")
        }
        let dataGiven = options.data != nil || !(ProcessInfo.processInfo.environment["THREADLOG_DATA"] ?? "").isEmpty
        if storeOptions.urlBesideData != nil && !dataGiven {
            throw ValidationError("digest needs --data DIR for the node's views and outbox (the log is on PostgreSQL)")
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration: NotificationConfiguration
        do {
            configuration = try NotificationConfiguration(environment: environment, dataRoot: options.directory)
        } catch {
            throw ToolFailure("\(error)")
        }
        let day = date ?? Digests.day(of: Date())
        // Opened for writing even beside a running service: LMDB serialises the two processes' writes,
        // PostgreSQL orders the appends, and the command ids of the decisions keep them from doubling.
        let node = try storeOptions.openNode(options, writable: true)
        let (log, views, models) = (node.log, node.views, node.models)
        defer { log.close() }
        let handler = CommandHandler(store: log)
        let digests = Digests(models: models, handler: handler, logger: .init(label: "threadlog.digest"))

        let switchedOff = "digests are switched off in the settings (digest.enabled: false): none is due"
        if dryRun {
            let report = try await digests.run(day: day, dryRun: true)
            if report.switchedOff { print(switchedOff) }
            for digest in report.due {
                print(
                    "would send \(digest.user) \(digest.subject.kind) \(digest.subject.ref): \(digest.unread) unread in \(digest.threads.count) thread\(digest.threads.count == 1 ? "" : "s")"
                )
            }
            print(
                "\(report.due.count) digest\(report.due.count == 1 ? "" : "s") due on \(day) (dry run: nothing sent, nothing recorded)"
            )
            return
        }

        let outbox = try Outbox(views: views)
        let projector = NotificationProjector(
            log: log, outbox: outbox, configuration: configuration, logger: .init(label: "threadlog.digest"))
        // On PostgreSQL the nodes share what became of each derived mail, and the start of immediate
        // notifications (which this outbox adopts, as an elected node's does).
        let coordination = Backends.coordination(of: log)
        let ledger = try coordination?.mailLedger(logger: Logger(label: "threadlog.digest"))
        defer { ledger?.close() }
        if let ledger {
            try await outbox.start(head: try log.lastPosition(), backfill: configuration.backfill, sharedBy: ledger)
        }
        // The outbox must exist before the first decision, so that decision is derived into mail.
        try projector.catchUp()
        if let reason = NotificationConfiguration.mailDisabledReason(environment) {
            print(reason)
        }
        let report = try await digests.run(day: day, dryRun: false)
        if report.switchedOff { print(switchedOff) }
        try projector.catchUp()
        for digest in report.scheduled {
            print("scheduled \(digest.user) \(digest.subject.kind) \(digest.subject.ref): \(digest.unread) unread")
        }
        guard let smtp = configuration.smtp else {
            print(
                "\(report.scheduled.count) digests recorded for \(day); \(report.alreadyScheduled.count) already handled earlier"
            )
            return
        }
        let timeout = Double(environment["THREADLOG_DIGEST_TIMEOUT"] ?? "") ?? 600
        let deadline = Date().addingTimeInterval(timeout)
        // On PostgreSQL only the elected node sends: the command sends while it holds the election, else
        // the elected node (a running service) sends and the command waits for the ledger to say so.
        var election: (any Election)?
        if let ledger, let coordination {
            let lock = coordination.election(logger: Logger(label: "threadlog.digest"))
            guard await lock.tryAcquire() else {
                try await awaitElectedNode(
                    outbox: outbox, ledger: ledger, day: day, report: report, deadline: deadline,
                    pollInterval: configuration.pollInterval)
                return
            }
            election = lock
        }
        let sender = OutboxSender(
            outbox: outbox, handler: handler, smtp: smtp, configuration: configuration,
            logger: .init(label: "threadlog.digest"), ledger: ledger)
        do {
            try await send(
                sender: sender, outbox: outbox, day: day, report: report, deadline: deadline,
                configuration: configuration)
        } catch {
            await election?.release()
            throw error
        }
        await election?.release()
    }

    /// Delivers the day's digest mails of `outbox` until none waits (or the deadline passes).
    private func send(
        sender: OutboxSender, outbox: Outbox, day: String, report: DigestReport, deadline: Date,
        configuration: NotificationConfiguration
    ) async throws {
        var sent = 0
        var failed: [String] = []
        while true {
            let pass = await sender.deliverDue { $0.digest?.day == day }
            sent += pass.delivered.count
            failed += pass.failed.map { "\($0.id): \($0.reason)" }
            let waiting = try outbox.undelivered().filter { $0.digest?.day == day }
            if waiting.isEmpty { break }
            if Date() > deadline {
                let last = waiting.compactMap(\.lastError).last.map { " (last error: \($0))" } ?? ""
                throw ToolFailure(
                    "\(waiting.count) digest mails for \(day) are not delivered yet\(last); they stay in the outbox for the service"
                )
            }
            try await Task.sleep(for: min(configuration.pollInterval, .milliseconds(500)))
        }
        print(
            "\(sent) digest\(sent == 1 ? "" : "s") sent for \(day); \(report.alreadyScheduled.count) already handled earlier"
        )
        if !failed.isEmpty {
            throw ToolFailure(
                "\(failed.count) digest mails refused by the mail server: \(failed.joined(separator: "; "))")
        }
    }

    /// Beside an elected node (a running service on the same PostgreSQL log): that node derives the day's
    /// digest mails from the log and sends them; waits until the shared ledger records each outcome.
    private func awaitElectedNode(
        outbox: Outbox, ledger: SharedMailLedger, day: String, report: DigestReport, deadline: Date,
        pollInterval: Duration
    ) async throws {
        print("another node is elected (a running service): it sends the digests")
        let mails = try outbox.undelivered().filter { $0.digest?.day == day }
        var waiting = mails
        var failed: [String] = []
        while true {
            var still: [OutboxEntry] = []
            for mail in waiting {
                switch try ledger.outcome(ofMail: mail.id) {
                case nil: still.append(mail)
                case .failed(let reason): failed.append("\(mail.id): \(reason)")
                case .delivered: break
                }
            }
            waiting = still
            if waiting.isEmpty { break }
            if Date() > deadline {
                throw ToolFailure(
                    "\(waiting.count) digest mails for \(day) are not delivered yet; the elected node (a running service) sends them"
                )
            }
            try await Task.sleep(for: min(pollInterval, .milliseconds(500)))
        }
        let delivered = mails.count - failed.count
        print(
            "\(delivered) digest\(delivered == 1 ? "" : "s") for \(day) delivered by the elected node; \(report.alreadyScheduled.count) already handled earlier"
        )
        if !failed.isEmpty {
            throw ToolFailure(
                "\(failed.count) digest mails refused by the mail server: \(failed.joined(separator: "; "))")
        }
    }
}

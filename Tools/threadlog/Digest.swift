import ArgumentParser
import Engine
import EventLog
import Foundation
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
            """
    )

    @OptionGroup var options: DataOptions

    @Option(help: "The day of the digest, YYYY-MM-DD (default: today, local time).")
    var date: String?

    @Flag(name: .customLong("dry-run"), help: "List the digests that would be sent; send and record nothing.")
    var dryRun = false

    func validate() throws {
        if let date, !DigestScheduled.isValidDay(date) {
            throw ValidationError("--date '\(date)' is not a date like 2030-01-31")
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
        let data = try DataDirectory(options.directory, create: false)
        // Opened for writing even beside a running service: LMDB serialises the two processes' writes,
        // and the command ids of the decisions keep them from doubling.
        let log = try LMDBEventStore.open(directory: data.log)
        defer { log.close() }
        let views = try ViewStore.open(directory: data.views)
        let models = ReadModels(log: log, views: views)
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
        let sender = OutboxSender(
            outbox: outbox, handler: handler, smtp: smtp, configuration: configuration,
            logger: .init(label: "threadlog.digest"))
        let timeout = Double(environment["THREADLOG_DIGEST_TIMEOUT"] ?? "") ?? 600
        let deadline = Date().addingTimeInterval(timeout)
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
}

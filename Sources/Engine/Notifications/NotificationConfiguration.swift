import Foundation
import SMTP

/// How notifications are derived and delivered. Read from the environment by the service and the
/// `digest` command; tests shorten the intervals.
public struct NotificationConfiguration: Sendable {
    /// Where mail goes; `nil` when `THREADLOG_SMTP_URL` or `THREADLOG_MAIL_FROM` is unset: entries then
    /// wait in the outbox.
    public var smtp: SMTPConfiguration?
    /// The base of the links in mails (`THREADLOG_PUBLIC_URL`), e.g. `https://threads.example.com`.
    public var publicURL: String
    /// The right-hand side of generated Message-IDs: the sender's domain.
    public var messageIDDomain: String
    /// How often the sender looks for due entries.
    public var pollInterval: Duration
    /// The first retry waits this long, each further one twice as long, up to `maxBackoff`.
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    /// A claimed entry whose sender vanished (a crash) is taken over after this long.
    public var claimLease: Duration
    /// On a log that existed before the outbox, mail history too (else immediate notifications start
    /// at the log's head when the outbox is created; digests are always derived).
    public var backfill: Bool
    /// How often the digest service compares the clock with the configured digest time.
    public var digestCheckInterval: Duration
    public var batchSize: Int
    /// The shortest time between the starts of two derivations while the log is busy
    /// (`THREADLOG_PROJECTION_INTERVAL_MS`): fewer, larger outbox commits under load.
    public var commitInterval: Duration
    /// Per-recipient reply addresses (`THREADLOG_REPLY_ADDRESS`): every mail about one thread to one user
    /// then carries that user's `Reply-To`; `nil`: no Reply-To.
    public var replyAddresses: ReplyAddresses?

    public init(
        smtp: SMTPConfiguration?, publicURL: String = "http://127.0.0.1:8080", messageIDDomain: String? = nil,
        pollInterval: Duration = .seconds(1), initialBackoff: Duration = .seconds(5),
        maxBackoff: Duration = .seconds(900),
        claimLease: Duration = .seconds(300), backfill: Bool = false, digestCheckInterval: Duration = .seconds(30),
        batchSize: Int = 500, commitInterval: Duration = CommitPacer.defaultInterval
    ) {
        self.smtp = smtp
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.messageIDDomain = messageIDDomain ?? smtp.map { Self.domain(of: $0.from) } ?? "threadlog.invalid"
        self.pollInterval = pollInterval
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.claimLease = claimLease
        self.backfill = backfill
        self.digestCheckInterval = digestCheckInterval
        self.batchSize = batchSize
        self.commitInterval = commitInterval
    }

    /// `THREADLOG_SMTP_URL`, `THREADLOG_MAIL_FROM`, `THREADLOG_SMTP_CA_FILE` (extra certificate authorities for
    /// the mail server's certificate), `THREADLOG_PUBLIC_URL` and `THREADLOG_REPLY_ADDRESS` (its key in `dataRoot`). Mail is configured only when both of the first
    /// two are set; a malformed URL or sender, or an unreadable CA file, is an error, not silence.
    public init(environment: [String: String], dataRoot: String? = nil) throws {
        let url = environment["THREADLOG_SMTP_URL"].flatMap { $0.isEmpty ? nil : $0 }
        let from = environment["THREADLOG_MAIL_FROM"].flatMap { $0.isEmpty ? nil : $0 }
        var smtp: SMTPConfiguration?
        if let url, let from {
            do {
                smtp = try SMTPConfiguration(
                    url: url, from: from,
                    trustedCAFile: environment["THREADLOG_SMTP_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 })
            } catch {
                throw NotificationConfigurationError(message: "mail configuration: \(error.message)")
            }
        }
        self.init(smtp: smtp, publicURL: environment["THREADLOG_PUBLIC_URL"] ?? "http://127.0.0.1:8080")
        // Tuning knobs, in milliseconds: how often the sender looks, how long a claim lasts, the first retry's wait.
        if let poll = environment["THREADLOG_MAIL_POLL_MS"].flatMap(Int.init), poll > 0 {
            pollInterval = .milliseconds(poll)
        }
        if let lease = environment["THREADLOG_MAIL_LEASE_MS"].flatMap(Int.init), lease > 0 {
            claimLease = .milliseconds(lease)
        }
        if let backoff = environment["THREADLOG_MAIL_BACKOFF_MS"].flatMap(Int.init), backoff > 0 {
            initialBackoff = .milliseconds(backoff)
            maxBackoff = max(.milliseconds(backoff), min(maxBackoff, .milliseconds(backoff * 64)))
        }
        if let interval = try CommitPacer.interval(environment) { commitInterval = interval }
        do {
            replyAddresses = try ReplyAddresses.configured(environment: environment, dataRoot: dataRoot)
        } catch {
            throw NotificationConfigurationError(message: "\(error)")
        }
    }

    /// Why mail is off, or `nil` when it is on.
    public static func mailDisabledReason(_ environment: [String: String]) -> String? {
        let missing = ["THREADLOG_SMTP_URL", "THREADLOG_MAIL_FROM"].filter { environment[$0]?.isEmpty ?? true }
        guard !missing.isEmpty else { return nil }
        return
            "mail is not configured (\(missing.joined(separator: " and ")) unset): notifications and digests wait in the outbox"
    }

    static func domain(of address: String) -> String {
        guard let at = address.lastIndex(of: "@") else { return "threadlog.invalid" }
        let rest = address[address.index(after: at)...].prefix { $0 != ">" && !$0.isWhitespace }
        return rest.isEmpty ? "threadlog.invalid" : String(rest)
    }

    /// The wait before retry number `attempt` (1-based).
    func backoff(afterAttempt attempt: Int) -> Duration {
        var wait = initialBackoff
        for _ in 1..<max(1, min(attempt, 40)) {
            wait = wait * 2
            if wait >= maxBackoff { return maxBackoff }
        }
        return min(wait, maxBackoff)
    }
}

public struct NotificationConfigurationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

import Foundation
import SMTP

/// How notifications are derived and delivered. The tool reads it from its settings (`threadlog serve`,
/// `digest`, `mail-in`, `retention`); tests shorten the intervals.
public struct NotificationConfiguration: Sendable {
    /// Where mail goes; `nil` when mail is not configured: entries then wait in the outbox.
    public var smtp: SMTPConfiguration?
    /// The base of the links in mails, e.g. `https://threads.example.com`.
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
    /// fewer, larger outbox commits under load.
    public var commitInterval: Duration
    /// Per-recipient reply addresses: every mail about one thread to one user
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
    public init(message: String) { self.message = message }
    public var description: String { message }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

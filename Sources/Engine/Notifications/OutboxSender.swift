import EventLog
import Foundation
import Logging
import Messaging
import SMTP
import ServiceLifecycle

/// What one delivery pass did.
public struct DeliveryReport: Sendable, Hashable {
    public struct Failure: Sendable, Hashable {
        public var id: String
        public var reason: String
    }

    public var delivered: [String] = []
    /// Refused for good (5xx), with the reason.
    public var failed: [Failure] = []
    /// Deferred: the server is down or answered 4xx; retried after a backoff.
    public var deferred: [String] = []
}

/// Delivers outbox entries over SMTP. An entry is claimed in one transaction (so two senders, even in
/// two processes, never send it at the same time), sent, then marked delivered in one transaction.
/// A crash after the server took a mail and before the mark leaves the claim to expire, and that one
/// mail is sent again under the same Message-ID; nothing else is ever sent twice or lost.
/// Server down or 4xx: retried with exponential backoff. 5xx: recorded as failed with the reason.
public final class OutboxSender: Service, Sendable {
    let outbox: Outbox
    let handler: CommandHandler
    let client: SMTPClient
    let configuration: NotificationConfiguration
    let logger: Logger
    let clock: @Sendable () -> Int64
    /// The entries this sender sends (all by default; on several nodes, split between the elected
    /// node's sender and every node's own).
    let include: @Sendable (OutboxEntry) -> Bool
    /// On several nodes: consulted before a mail is sent, told of each outcome.
    let ledger: (any DeliveryLedger)?

    public init(
        outbox: Outbox, handler: CommandHandler, smtp: SMTPConfiguration, configuration: NotificationConfiguration,
        logger: Logger, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) },
        include: @escaping @Sendable (OutboxEntry) -> Bool = { _ in true }, ledger: (any DeliveryLedger)? = nil
    ) {
        self.outbox = outbox
        self.handler = handler
        self.client = SMTPClient(configuration: smtp, logger: logger)
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.include = include
        self.ledger = ledger
    }

    /// One pass over the due entries that `include` accepts, then the digest deliveries to record.
    public func deliverDue(where include: @Sendable (OutboxEntry) -> Bool = { _ in true }) async -> DeliveryReport {
        var report = DeliveryReport()
        let due: [OutboxEntry]
        do {
            due = try outbox.undelivered().filter { include($0) && self.include($0) && Self.isDue($0, now: clock()) }
        } catch {
            logger.error("reading the outbox failed", metadata: ["error": "\(error)"])
            return report
        }
        for candidate in due {
            if Task.isCancelled { break }
            do {
                guard let claimed = try await claim(candidate) else { continue }
                if try await settledElsewhere(claimed) { continue }
                try await deliver(claimed, into: &report)
            } catch {
                logger.error("outbox bookkeeping failed", metadata: ["entry": "\(candidate.id)", "error": "\(error)"])
            }
        }
        await recordDigests()
        return report
    }

    static func isDue(_ entry: OutboxEntry, now: Int64) -> Bool {
        switch entry.status {
        case .pending: entry.nextAttemptMillis <= now
        case .sending: (entry.claimedUntilMillis ?? 0) <= now
        case .delivered, .failed: false
        }
    }

    private func claim(_ entry: OutboxEntry) async throws -> OutboxEntry? {
        let now = clock()
        let lease = configuration.claimLease.milliseconds
        return try await outbox.update(entry.key) { stored in
            guard Self.isDue(stored, now: now) else { return nil }
            var claimed = stored
            claimed.status = .sending
            claimed.claimedUntilMillis = now + lease
            return claimed
        }
    }

    private func deliver(_ entry: OutboxEntry, into report: inout DeliveryReport) async throws {
        let message = MailMessage(
            to: entry.to, cc: entry.cc, bcc: entry.bcc, subject: entry.subject, textBody: entry.body,
            headers: [("Message-ID", entry.messageID), ("X-Threadlog-Notification", entry.trigger)]
                + (entry.thread.map { [("X-Threadlog-Thread", $0.rawValue)] } ?? [])
                + (entry.replyTo.map { [("Reply-To", $0)] } ?? []))
        let outcome: Result<Void, SMTPError>
        do throws(SMTPError) {
            try await client.send(message)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .success:
            let now = clock()
            tellLedger(entry, .delivered(atMillis: now))
            try await outbox.update(entry.key) { stored in
                var done = stored
                done.status = .delivered
                done.attempts += 1
                done.deliveredAtMillis = now
                done.claimedUntilMillis = nil
                return done
            }
            report.delivered.append(entry.id)
            logger.info("mail sent", metadata: ["entry": "\(entry.id)", "trigger": "\(entry.trigger)"])
        case .failure(let error) where error.isTransient:
            let reason = Self.reason(error)
            let now = clock()
            let configuration = self.configuration
            try await outbox.update(entry.key) { stored in
                var later = stored
                later.status = .pending
                later.attempts += 1
                later.nextAttemptMillis = now + configuration.backoff(afterAttempt: later.attempts).milliseconds
                later.claimedUntilMillis = nil
                later.lastError = reason
                return later
            }
            report.deferred.append(entry.id)
            logger.warning("mail deferred", metadata: ["entry": "\(entry.id)", "reason": "\(reason)"])
        case .failure(let error):
            let reason = Self.reason(error)
            tellLedger(entry, .failed(reason: reason))
            try await outbox.update(entry.key) { stored in
                var failed = stored
                failed.status = .failed
                failed.attempts += 1
                failed.claimedUntilMillis = nil
                failed.lastError = reason
                return failed
            }
            report.failed.append(.init(id: entry.id, reason: reason))
            logger.error("mail refused", metadata: ["entry": "\(entry.id)", "reason": "\(reason)"])
        }
    }

    /// With a ledger: true when another node already delivered (or was refused) this mail, whose
    /// outcome is then copied into this outbox instead of sending it again.
    private func settledElsewhere(_ entry: OutboxEntry) async throws -> Bool {
        guard let ledger, entry.isDerived, let outcome = try ledger.outcome(ofMail: entry.id) else { return false }
        // A refusal this outbox knew of, put back on the pending list by an operator (`resend`), goes again.
        if case .failed = outcome, entry.lastError != nil { return false }
        try await outbox.update(entry.key) { stored in
            var settled = stored
            settled.claimedUntilMillis = nil
            switch outcome {
            case .delivered(let at):
                settled.status = .delivered
                settled.deliveredAtMillis = at
            case .failed(let reason):
                settled.status = .failed
                settled.lastError = reason
            }
            return settled
        }
        return true
    }

    /// Records an outcome in the ledger before this outbox: a node that takes over then never sends
    /// it again. Only a mail sent whose record failed (the database out of reach) may go out twice.
    private func tellLedger(_ entry: OutboxEntry, _ outcome: DeliveryOutcome) {
        guard let ledger, entry.isDerived else { return }
        do {
            try ledger.record(mail: entry.id, outcome)
        } catch {
            logger.error(
                "recording a delivery in the shared ledger failed", metadata: ["entry": "\(entry.id)", "error": "\(error)"])
        }
    }

    static func reason(_ error: SMTPError) -> String {
        if let code = error.replyCode {
            return "\(code) \((error.replyText ?? error.message).replacingOccurrences(of: "\n", with: " "))"
        }
        return error.message
    }

    /// Appends `digest.sent` for every digest delivered (or refused) whose record is missing. The command
    /// id makes a repeat after a crash harmless.
    func recordDigests() async {
        let pending: [OutboxEntry]
        do { pending = try outbox.followups() } catch { return }
        for entry in pending {
            guard let digest = entry.digest else {
                try? await outbox.removeFollowup(entry.key)
                continue
            }
            let sent = DigestSent(
                user: digest.user, subject: digest.subject, day: digest.day, messageID: entry.messageID,
                failure: entry.status == .failed ? entry.lastError ?? "refused" : nil)
            do {
                _ = try await handler.handle(
                    .recordDigestSent(sent), actor: .admin,
                    commandID:
                        "digest-sent:\(digest.user.rawValue):\(digest.subject.kind):\(digest.subject.ref):\(digest.day)"
                )
                try await outbox.removeFollowup(entry.key)
            } catch let error as DomainError {
                logger.error("digest delivery not recordable", metadata: ["entry": "\(entry.id)", "error": "\(error)"])
                try? await outbox.removeFollowup(entry.key)
            } catch {
                logger.warning("recording a digest delivery failed; retrying later", metadata: ["error": "\(error)"])
            }
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                _ = await self.deliverDue()
                try? await Task.sleep(for: self.configuration.pollInterval)
            }
        }
    }
}

import Crypto
import EventLog
import Foundation
import Logging
import Messaging
import SMTP
import ServiceLifecycle

/// Replies by mail: a received message whose recipient is a reply address becomes a message on that
/// address's thread by that address's user, through the same command handler (and so the same rules)
/// as the API. The sender's `From` plays no part in who posts, unless `requireMatchingFrom` asks that
/// it be the user's own address too.
public final class MailIn: Sendable {
    let handler: CommandHandler
    let addresses: ReplyAddresses
    /// Where the explanations of refused replies go; `nil`: none are sent.
    let outbox: Outbox?
    let messageIDDomain: String
    let requireMatchingFrom: Bool
    /// Where the attachments of replies go, when the settings allow attachments; `nil`: text only.
    let blobs: BlobStore?
    let logger: Logger

    public init(
        handler: CommandHandler, addresses: ReplyAddresses, outbox: Outbox?, messageIDDomain: String,
        requireMatchingFrom: Bool = false, blobs: BlobStore? = nil, logger: Logger
    ) {
        self.blobs = blobs
        self.handler = handler
        self.addresses = addresses
        self.outbox = outbox
        self.messageIDDomain = messageIDDomain
        self.requireMatchingFrom = requireMatchingFrom
        self.logger = logger
    }

    /// A message taken: where it went.
    public struct Receipt: Sendable, Hashable {
        public var thread: ThreadID
        public var user: UserID
        /// The log position of the message (of the first delivery, for a repeated one).
        public var position: UInt64
        /// The same message (Message-ID and reply address) was taken before; nothing was appended now.
        public var repeated: Bool
    }

    /// The thread and user of a reply address; `nil` when it is none (or its token does not verify).
    public func recipient(_ address: String) -> (thread: ThreadID, user: UserID)? {
        addresses.parse(address: address)
    }

    /// The reply address among `candidates` (envelope recipients, else To, Cc and Delivered-To), if any.
    func replyAddress(_ candidates: [String]) -> (address: String, thread: ThreadID, user: UserID)? {
        for candidate in candidates {
            if let (thread, user) = addresses.parse(address: candidate) { return (candidate, thread, user) }
        }
        return nil
    }

    /// Takes one message. `recipients`: the envelope's (RCPT TO, or `--recipient`); when empty, the
    /// message's own Delivered-To, To and Cc fields are searched for a reply address.
    /// Throws ``MailInRefusal`` when it is refused (nothing appended), other errors for faults (try again).
    public func take(_ raw: [UInt8], recipients: [String]) async throws -> Receipt {
        let message = InboundMessage(parsing: raw)
        let candidates =
            recipients.isEmpty
            ? (message.allHeaders("Delivered-To") + message.allHeaders("X-Original-To") + message.allHeaders("To")
                + message.allHeaders("Cc")).flatMap(InboundMessage.addresses(in:))
            : recipients
        guard let (address, thread, user) = replyAddress(candidates) else {
            // No bounce: whoever sent it is not known to be one of ours (no backscatter).
            throw MailInRefusal(
                .noReplyAddress, "no recipient is a valid reply address",
                reply: InboundReply(550, "5.1.1 no such reply address"))
        }
        let commandID = Self.commandID(message: message, raw: raw, address: address)
        do {
            if requireMatchingFrom {
                let from = message.header("From").map(InboundMessage.addresses(in:))?.first?.lowercased()
                let email = try handler.currentDirectory().users[user]?.email.lowercased()
                guard let from, from == email else {
                    throw MailInRefusal(
                        .senderMismatch, "the sender is not the address the reply address was made for",
                        reply: InboundReply(550, "5.7.1 the sender does not match the reply address"))
                }
            }
            let text = ReplyText.strip(message.text)
            let attachments = try store(message.attachments, thread: thread)
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || !attachments.isEmpty else {
                throw MailInRefusal(
                    .empty, "the reply has no text of its own once the quoted mail and signature are left out",
                    reply: InboundReply(550, "5.6.0 the reply is empty once quotes and signature are removed"))
            }
            let outcome: CommandOutcome
            do {
                outcome = try await handler.handle(
                    .postMessage(thread: thread, message: NewMessage(text: text, attachments: attachments)),
                    actor: .user(user),
                    commandID: commandID)
            } catch let error as DomainError {
                throw MailInRefusal(error)
            }
            logger.info(
                "reply by mail posted",
                metadata: [
                    "thread": "\(thread)", "user": "\(user)", "position": "\(outcome.position)",
                    "repeated": "\(outcome.deduplicated)",
                ])
            return Receipt(thread: thread, user: user, position: outcome.position, repeated: outcome.deduplicated)
        } catch var refusal as MailInRefusal {
            refusal.bounced = try await bounce(refusal, thread: thread, user: user, message: message, key: commandID)
            logger.notice(
                "reply by mail refused",
                metadata: [
                    "thread": "\(thread)", "user": "\(user)", "reason": "\(refusal.message)",
                    "bounced": "\(refusal.bounced)",
                ])
            throw refusal
        }
    }

    /// The attachments as blobs, when the settings allow attachments and a blob store is given; else
    /// none (the text alone is posted, and the log says what was left out). The message that names
    /// them is what lets the thread's readers download them, as with the API.
    private func store(_ files: [InboundAttachment], thread: ThreadID) throws -> [Attachment] {
        guard !files.isEmpty else { return [] }
        guard let blobs, try handler.currentDirectory().settings.attachmentsAllowed else {
            logger.info(
                "reply by mail: attachments left out (attachments are not allowed)",
                metadata: ["thread": "\(thread)", "attachments": "\(files.map(\.name))"])
            return []
        }
        return try files.map { file in
            let digest = try blobs.put(file.bytes)
            return Attachment(
                name: String(file.name.prefix(255)), contentType: file.contentType, size: Int64(file.bytes.count),
                sha256: digest)
        }
    }

    /// Derived from the Message-ID and the reply address, so a repeated delivery of the same message to
    /// the same address appends once; a message without a Message-ID is known by its bytes.
    static func commandID(message: InboundMessage, raw: [UInt8], address: String) -> String {
        var input = Array((message.messageID ?? "").utf8)
        if message.messageID == nil { input = Array(SHA256.hash(data: raw)) }
        input += [0] + Array(address.lowercased().utf8)
        return "mail-in." + SHA256.hash(data: input).map { String(format: "%02x", $0) }.joined()
    }

    /// Explains a refusal to the user the reply address was made for, at their address in the directory
    /// (never at the message's `From`, which anyone can write), once per message.
    private func bounce(
        _ refusal: MailInRefusal, thread: ThreadID, user: UserID, message: InboundMessage, key: String
    ) async throws -> Bool {
        guard let outbox, let person = try handler.currentDirectory().users[user], person.active else { return false }
        let subject = message.header("Subject").map { "Not posted: \($0)" } ?? "Your reply was not posted"
        let quoted = ReplyText.strip(message.text).split(separator: "\n", omittingEmptySubsequences: false)
            .map { "> " + $0 }.joined(separator: "\n")
        let body = """
            Hello \(person.name),

            your reply by mail was not added to the conversation: \(refusal.message)

            What you wrote:

            \(quoted)

            """
        return try await outbox.enqueue(
            unlogged: key, trigger: "replyRefused", thread: thread, to: [person.email],
            subject: String(subject.prefix(300)), body: body, messageIDDomain: messageIDDomain,
            nowMillis: Int64(Date().timeIntervalSince1970 * 1000))
    }
}

/// Why a reply by mail was not posted. Nothing was appended.
public struct MailInRefusal: Error, Sendable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// No recipient is a reply address with a valid token.
        case noReplyAddress
        /// The thread's rules refused the message (may not post, blocked, closed, purged, too large, …).
        case rules(DomainError)
        case empty
        case senderMismatch
    }

    public var reason: Reason
    /// One sentence for the sender.
    public var message: String
    /// The SMTP answer.
    public var reply: InboundReply
    /// An explanation went into the outbox.
    public var bounced = false

    init(_ reason: Reason, _ message: String, reply: InboundReply) {
        self.reason = reason
        self.message = message
        self.reply = reply
    }

    init(_ error: DomainError) {
        let reply: InboundReply =
            switch error {
            case .messageTooLarge: InboundReply(552, "5.3.4 \(error.message)")
            case .emptyMessage, .attachmentsNotAllowed, .invalidAttachment: InboundReply(550, "5.6.0 \(error.message)")
            default: InboundReply(550, "5.7.1 \(error.message)")
            }
        self.init(.rules(error), error.message, reply: reply)
    }

    public var description: String { message }

    /// The sysexits(3) code `threadlog mail-in` ends with: 67 (EX_NOUSER) no reply address, 77
    /// (EX_NOPERM) the thread's rules refuse the user's post, 65 (EX_DATAERR) the message itself (empty,
    /// too large).
    public var exitCode: Int32 {
        switch reason {
        case .noReplyAddress: 67
        case .empty: 65
        case .senderMismatch: 77
        case .rules(let error):
            switch error {
            case .messageTooLarge, .emptyMessage, .attachmentsNotAllowed, .invalidAttachment: 65
            default: 77
            }
        }
    }
}

/// The SMTP listener's owner: recipients are checked against the reply addresses at RCPT, messages
/// taken at the end of DATA; 250 only once the message is in the log.
public struct MailInReceiver: InboundMailReceiver {
    let mailIn: MailIn

    public init(_ mailIn: MailIn) { self.mailIn = mailIn }

    public func check(recipient: String) async -> InboundReply? {
        mailIn.recipient(recipient) == nil ? InboundReply(550, "5.1.1 <\(recipient)>: no such reply address") : nil
    }

    public func receive(_ envelope: InboundEnvelope) async -> InboundReply {
        // One message, each recipient a reply of its own; the answer is the first refusal only when
        // nothing was taken (SMTP has one answer per message).
        var taken = 0
        var refusal: InboundReply?
        for recipient in envelope.recipients {
            do {
                _ = try await mailIn.take(envelope.data, recipients: [recipient])
                taken += 1
            } catch let refused as MailInRefusal {
                refusal = refusal ?? refused.reply
            } catch {
                mailIn.logger.error("reply by mail could not be stored", metadata: ["error": "\(error)"])
                refusal = InboundReply(451, "4.3.0 the message could not be stored; try again later")
            }
        }
        if taken > 0 { return InboundReply(250, "2.0.0 posted") }
        return refusal ?? InboundReply(554, "5.5.1 no valid recipients")
    }
}

/// The inbound SMTP listener (on a configured `host:port`) as a service of `threadlog serve`:
/// it stops taking connections on graceful shutdown.
public struct InboundMailService: Service {
    let server: InboundSMTPServer
    let onBound: @Sendable (Int) -> Void

    public init(server: InboundSMTPServer, onBound: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.server = server
        self.onBound = onBound
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await server.run(onBound: onBound)
        }
    }

    /// `host:port` (`[::1]:2525` for IPv6); the error says what the setting must be.
    public static func address(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw ReplyAddressError("must be host:port, e.g. 127.0.0.1:2525") }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else {
            throw ReplyAddressError("must name a host, e.g. 127.0.0.1:2525")
        }
        return (host, port)
    }
}

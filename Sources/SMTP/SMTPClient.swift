import Logging
import NIOCore
import NIOPosix

/// Sends plain-text mail through one SMTP server, a new connection for each ``send(_:)-(MailMessage)``.
///
/// ```swift
/// let configuration = try SMTPConfiguration(url: "smtp://relay:25", from: "Threadlog <noreply@example.com>")
/// let client = SMTPClient(configuration: configuration, logger: logger)
/// try await client.send(MailMessage(to: ["jane@example.com"], subject: "Hello", textBody: "…"))
/// ```
public struct SMTPClient: Sendable {
    public let configuration: SMTPConfiguration
    private let group: any EventLoopGroup
    private let tls: TLS
    private let logger: Logger

    public init(
        configuration: SMTPConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup
        self.tls = TLS(configuration)
        var logger = logger
        logger[metadataKey: "smtp.server"] = "\(configuration.host):\(configuration.port)"
        self.logger = logger
    }

    /// Sends one message over a connection of its own.
    ///
    /// The message is checked completely before connecting, so an ``SMTPError/Code/invalidMessage``
    /// never reaches the server. When this returns, the server has taken responsibility for the mail.
    /// - Returns: the message's Message-ID (the given one, or the one generated).
    @discardableResult
    public func send(_ message: MailMessage) async throws(SMTPError) -> String {
        let mail = try message.prepared(defaultSender: configuration.sender)
        let session = try await SMTPSession.open(configuration: configuration, tls: tls, group: group, logger: logger)
        do throws(SMTPError) {
            try await session.transaction(mail)
        } catch {
            await session.close(afterReply: error.replyCode != nil)
            throw error
        }
        await session.close(afterReply: true)
        return mail.messageID
    }

    /// Sends several messages over one connection, with RSET between them.
    ///
    /// A message the server refuses does not stop the others; a broken connection fails the rest.
    /// - Returns: for each message in order, its Message-ID or why it was not sent.
    public func send(_ messages: [MailMessage]) async -> [Result<String, SMTPError>] {
        var results = [Result<String, SMTPError>?](repeating: nil, count: messages.count)
        var pending: [(index: Int, mail: PreparedMail)] = []
        for (index, message) in messages.enumerated() {
            do throws(SMTPError) {
                pending.append((index, try message.prepared(defaultSender: configuration.sender)))
            } catch {
                results[index] = .failure(error)
            }
        }
        guard !pending.isEmpty else { return results.map { $0! } }

        let session: SMTPSession
        do throws(SMTPError) {
            session = try await SMTPSession.open(configuration: configuration, tls: tls, group: group, logger: logger)
        } catch {
            for (index, _) in pending { results[index] = .failure(error) }
            return results.map { $0! }
        }
        var broken: SMTPError? = nil
        for (position, (index, mail)) in pending.enumerated() {
            if let broken {
                results[index] = .failure(broken)
                continue
            }
            do throws(SMTPError) {
                if position > 0 { try await session.reset() }
                try await session.transaction(mail)
                results[index] = .success(mail.messageID)
            } catch {
                results[index] = .failure(error)
                // Without a reply the conversation is lost; a refused mail leaves it usable.
                if error.replyCode == nil { broken = error }
            }
        }
        await session.close(afterReply: broken == nil)
        return results.map { $0! }
    }
}

import Foundation
import Logging
import NIOCore

/// One SMTP conversation, greeted and authenticated, ready for mail transactions.
struct SMTPSession: Sendable {
    private let connection: SMTPConnection
    private let logger: Logger
    /// EHLO keywords (upper-cased) with their parameters, e.g. `"AUTH": "PLAIN LOGIN"`.
    private(set) var extensions: [String: String]

    /// Connects (in TLS from the start for smtps), reads the greeting, introduces itself, upgrades to
    /// TLS with STARTTLS when the configuration calls for it, and authenticates when configured to.
    ///
    /// Credentials go only over TLS unless the configuration says ``SMTPConfiguration/Security/plaintext``.
    static func open(
        configuration: SMTPConfiguration, tls: TLS, group: any EventLoopGroup, logger: Logger
    ) async throws(SMTPError) -> SMTPSession {
        let connection = try await SMTPConnection.connect(
            host: configuration.host, port: configuration.port, timeout: TimeAmount(configuration.timeout),
            group: group, logger: logger)
        var conversationIntact = false
        do throws(SMTPError) {
            if configuration.security == .implicitTLS {
                try await connection.startTLS(tls, step: "TLS handshake")
            }
            let greeting = try await connection.reply(to: "greeting")
            guard greeting.code == 220 else { throw SMTPError.unexpected(greeting, during: "the greeting") }
            var session = SMTPSession(connection: connection, logger: logger, extensions: [:])
            try await session.hello(name: configuration.heloName)
            let credentials = configuration.username.flatMap { user in configuration.password.map { (user, $0) } }
            switch configuration.security {
            case .startTLSWhenOffered, .startTLSRequired:
                if session.extensions["STARTTLS"] != nil {
                    let reply = try await connection.command("STARTTLS", step: "STARTTLS")
                    guard reply.code == 220 else { throw SMTPError.unexpected(reply, during: "STARTTLS") }
                    guard !reply.followedByMore else {
                        throw SMTPError.protocolViolation("the server sent more in clear after its reply to STARTTLS")
                    }
                    try await connection.startTLS(tls, step: "STARTTLS")
                    // What the server offered in clear may have been tampered with; ask again (RFC 3207).
                    try await session.hello(name: configuration.heloName)
                } else if configuration.security == .startTLSRequired || credentials != nil {
                    conversationIntact = true
                    throw SMTPError(
                        .tlsFailed,
                        configuration.security == .startTLSRequired
                            ? "the server offers no STARTTLS and the SMTP URL says ?tls=require"
                            : "the server offers no STARTTLS; the credentials are not sent unencrypted "
                                + "(?tls=none in the SMTP URL allows that on a trusted network)")
                }
            case .implicitTLS, .plaintext:
                break
            }
            if let credentials {
                try await session.authenticate(username: credentials.0, password: credentials.1)
            }
            return session
        } catch {
            await SMTPSession(connection: connection, logger: logger, extensions: [:])
                .close(afterReply: conversationIntact || error.replyCode != nil)
            throw error
        }
    }

    /// EHLO, or HELO for a server that does not know EHLO.
    private mutating func hello(name: String) async throws(SMTPError) {
        let reply = try await connection.command("EHLO \(name)", step: "EHLO")
        if reply.code == 250 {
            extensions = [:]
            for line in reply.lines.dropFirst() {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard let keyword = parts.first else { continue }
                extensions[keyword.uppercased()] = parts.count > 1 ? String(parts[1]) : ""
            }
            return
        }
        guard (500..<600).contains(reply.code) else { throw SMTPError.unexpected(reply, during: "EHLO") }
        logger.debug("EHLO refused, falling back to HELO", metadata: ["smtp.reply": "\(reply.code) \(reply.text)"])
        let helo = try await connection.command("HELO \(name)", step: "HELO")
        guard helo.code == 250 else { throw SMTPError.unexpected(helo, during: "HELO") }
        extensions = [:]
    }

    private func authenticate(username: String, password: String) async throws(SMTPError) {
        let mechanisms = Set((extensions["AUTH"] ?? "").uppercased().split(separator: " ").map(String.init))
        if mechanisms.contains("PLAIN") {
            let token = Data(([0] + Array(username.utf8) + [0] + Array(password.utf8))).base64EncodedString()
            var reply = try await connection.command(
                "AUTH PLAIN \(token)", step: "AUTH PLAIN", logged: "AUTH PLAIN <credentials>")
            // A server that does not take the initial response asks for it with an empty 334.
            if reply.code == 334 {
                reply = try await connection.command(token, step: "AUTH PLAIN", logged: "<credentials>")
            }
            guard reply.code == 235 else { throw SMTPError.unexpected(reply, during: "AUTH PLAIN") }
        } else if mechanisms.contains("LOGIN") {
            let start = try await connection.command("AUTH LOGIN", step: "AUTH LOGIN")
            guard start.code == 334 else { throw SMTPError.unexpected(start, during: "AUTH LOGIN") }
            let user = try await connection.command(
                Data(username.utf8).base64EncodedString(), step: "AUTH LOGIN", logged: "<user>")
            guard user.code == 334 else { throw SMTPError.unexpected(user, during: "AUTH LOGIN") }
            let done = try await connection.command(
                Data(password.utf8).base64EncodedString(), step: "AUTH LOGIN", logged: "<password>")
            guard done.code == 235 else { throw SMTPError.unexpected(done, during: "AUTH LOGIN") }
        } else {
            // A relay that takes mail from this network may offer no AUTH at all; let it decide.
            logger.warning(
                "SMTP credentials are configured but the server offers neither AUTH PLAIN nor LOGIN; sending without",
                metadata: ["smtp.auth": "\(extensions["AUTH"] ?? "none")"])
        }
    }

    /// MAIL FROM, RCPT TO for every recipient, DATA and the content.
    @discardableResult
    func transaction(_ mail: PreparedMail) async throws(SMTPError) -> SMTPReply {
        let mailFrom = try await connection.command("MAIL FROM:<\(mail.sender)>", step: "MAIL FROM")
        guard mailFrom.code == 250 else { throw SMTPError.unexpected(mailFrom, during: "MAIL FROM:<\(mail.sender)>") }
        for recipient in mail.recipients {
            let reply = try await connection.command("RCPT TO:<\(recipient)>", step: "RCPT TO")
            // 251: the server will forward; the mail is accepted all the same.
            guard reply.code == 250 || reply.code == 251 else {
                throw SMTPError.unexpected(reply, during: "RCPT TO:<\(recipient)>")
            }
        }
        let data = try await connection.command("DATA", step: "DATA")
        guard data.code == 354 else { throw SMTPError.unexpected(data, during: "DATA") }
        let accepted = try await connection.send(SMTPDataEncoding.stuffed(mail.content), step: "message content")
        guard accepted.code == 250 else { throw SMTPError.unexpected(accepted, during: "the message content") }
        logger.debug(
            "mail accepted",
            metadata: [
                "smtp.message-id": "\(mail.messageID)", "smtp.recipients": "\(mail.recipients.count)",
                "smtp.reply": "\(accepted.text)",
            ])
        return accepted
    }

    /// Abandons whatever transaction is open so the next one starts clean.
    func reset() async throws(SMTPError) {
        let reply = try await connection.command("RSET", step: "RSET")
        guard reply.code == 250 else { throw SMTPError.unexpected(reply, during: "RSET") }
    }

    /// Says QUIT when the server is still listening, then closes. Failures here change nothing for
    /// the mail, so they are not reported.
    func close(afterReply conversationIntact: Bool) async {
        if conversationIntact {
            _ = try? await connection.command("QUIT", step: "QUIT")
        }
        await connection.close()
    }
}

/// The DATA section's transparency rule (RFC 5321 4.5.2) and terminator.
enum SMTPDataEncoding {
    /// Doubles a dot that starts a line, ends the content with CRLF, and adds the `.` line.
    static func stuffed(_ content: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(content.count + content.count / 64 + 5)
        var atLineStart = true
        for byte in content {
            if atLineStart && byte == UInt8(ascii: ".") { output.append(byte) }
            output.append(byte)
            atLineStart = byte == UInt8(ascii: "\n")
        }
        if !output.isEmpty && !atLineStart { output += [13, 10] }
        output += Array(".\r\n".utf8)
        return output
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

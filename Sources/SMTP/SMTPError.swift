/// Why a mail could not be sent.
///
/// Every error is either ``isTransient`` (trying the same mail again later may work) or
/// ``isPermanent`` (it never will, record the failure), so a retry policy needs no other case.
/// ``code`` tells which step failed; ``replyCode`` and ``replyText`` carry the server's answer
/// when there was one.
public struct SMTPError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. New kinds may be added; match with `==`, not exhaustively.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case connectionFailed
            case timeout
            case transient
            case permanent
            case protocolViolation
            case invalidMessage
            case invalidConfiguration
            case tlsFailed
        }

        fileprivate let base: Base

        private init(_ base: Base) { self.base = base }

        /// No connection could be opened, or the server dropped it mid-conversation.
        public static let connectionFailed = Code(.connectionFailed)
        /// The server did not answer a step within the configured timeout.
        public static let timeout = Code(.timeout)
        /// The server answered 4xx: try again later.
        public static let transient = Code(.transient)
        /// The server answered 5xx: this mail will not be accepted as it is.
        public static let permanent = Code(.permanent)
        /// The server answered something that is not SMTP, or a reply out of place.
        public static let protocolViolation = Code(.protocolViolation)
        /// The message cannot be sent as given (an unusable address, a line break in a header…);
        /// found before connecting.
        public static let invalidMessage = Code(.invalidMessage)
        /// The configuration (URL, sender) is unusable.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// TLS could not be used: the server offers no STARTTLS where TLS is needed (credentials to
        /// send, or `?tls=require`), or the handshake failed, most often over the server's certificate
        /// (an unknown authority, expired, or for another name). Nothing was sent in clear.
        public static let tlsFailed = Code(.tlsFailed)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// The server's three-digit reply code, when the failure is the server's answer.
    public let replyCode: Int?
    /// The server's reply text (lines joined with a newline), when the failure is the server's answer.
    public let replyText: String?
    /// What went wrong, for people and logs.
    public let message: String

    init(_ code: Code, _ message: String, replyCode: Int? = nil, replyText: String? = nil) {
        self.code = code
        self.message = message
        self.replyCode = replyCode
        self.replyText = replyText
    }

    /// Trying again later may succeed: a 4xx answer, a connection that failed or broke, a timeout,
    /// a server that spoke out of turn (a broken relay may be fixed), or TLS that failed (a server's
    /// certificate or STARTTLS may be fixed; the mail should wait for it rather than be dropped).
    public var isTransient: Bool {
        switch code.base {
        case .transient, .connectionFailed, .timeout, .protocolViolation, .tlsFailed: true
        case .permanent, .invalidMessage, .invalidConfiguration: false
        }
    }

    /// Trying again will not help: a 5xx answer, or a message or configuration that cannot be sent.
    public var isPermanent: Bool { !isTransient }

    public var description: String {
        var text = "SMTPError.\(code): \(message)"
        if let replyCode {
            text += " (server replied \(replyCode)"
            if let replyText, !replyText.isEmpty { text += " \(replyText.replacingOccurrences(of: "\n", with: " / "))" }
            text += ")"
        }
        return text
    }
}

extension SMTPError {
    static func invalidMessage(_ message: String) -> SMTPError { SMTPError(.invalidMessage, message) }

    static func invalidConfiguration(_ message: String) -> SMTPError { SMTPError(.invalidConfiguration, message) }

    static func protocolViolation(_ message: String) -> SMTPError { SMTPError(.protocolViolation, message) }

    /// The error for a reply that was not the one a step expected.
    static func unexpected(_ reply: SMTPReply, during step: String) -> SMTPError {
        switch reply.code {
        case 400..<500:
            SMTPError(.transient, "\(step) was deferred", replyCode: reply.code, replyText: reply.text)
        case 500..<600:
            SMTPError(.permanent, "\(step) was refused", replyCode: reply.code, replyText: reply.text)
        default:
            SMTPError(
                .protocolViolation, "\(step) got an unexpected reply", replyCode: reply.code, replyText: reply.text)
        }
    }
}

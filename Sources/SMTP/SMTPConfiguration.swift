import Foundation

/// Where and as whom to send mail.
public struct SMTPConfiguration: Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int
    /// With ``password``, authenticates with AUTH PLAIN or LOGIN when the server offers either.
    public let username: String?
    public let password: String?
    /// The default sender, e.g. `Threadlog <noreply@example.com>`; a message may name another.
    public let from: String
    /// The name this client gives in EHLO/HELO.
    public let heloName: String
    /// The longest wait for connecting and for each reply.
    public let timeout: Duration

    let sender: MailAddress

    /// Parses a `THREADLOG_SMTP_URL`-style address: `smtp://host`, `smtp://host:port` or
    /// `smtp://user:password@host:port` (user and password percent-encoded); the port defaults to 25.
    public init(
        url: String, from: String, heloName: String = "localhost", timeout: Duration = .seconds(30)
    ) throws(SMTPError) {
        guard let components = URLComponents(string: url.trimmingSpaces()), let scheme = components.scheme else {
            throw .invalidConfiguration("\"\(Self.redacted(url))\" is not a URL like smtp://host:port")
        }
        switch scheme.lowercased() {
        case "smtp": break
        case "smtps":
            throw .invalidConfiguration("smtps:// (TLS) is not supported; use smtp://host:port")
        default:
            throw .invalidConfiguration("unsupported scheme \"\(scheme)\" in the SMTP URL; use smtp://host:port")
        }
        var host = components.host ?? ""
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else {
            throw .invalidConfiguration("the SMTP URL \"\(Self.redacted(url))\" has no host")
        }
        guard components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil
        else {
            throw .invalidConfiguration(
                "the SMTP URL \"\(Self.redacted(url))\" has a path, query or fragment; expected smtp://host:port")
        }
        if components.user != nil, components.password == nil {
            throw .invalidConfiguration("the SMTP URL names a user but no password; expected smtp://user:password@host")
        }
        try self.init(
            host: host, port: components.port ?? 25, username: components.user, password: components.password,
            from: from, heloName: heloName, timeout: timeout)
    }

    public init(
        host: String, port: Int = 25, username: String? = nil, password: String? = nil, from: String,
        heloName: String = "localhost", timeout: Duration = .seconds(30)
    ) throws(SMTPError) {
        guard (1...65535).contains(port) else {
            throw .invalidConfiguration("SMTP port \(port) is not between 1 and 65535")
        }
        guard timeout > .zero else {
            throw .invalidConfiguration("the SMTP timeout must be positive")
        }
        guard !heloName.isEmpty, heloName.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0.asciiValue! >= 33 })
        else {
            throw .invalidConfiguration("the HELO name \"\(heloName)\" must be a host name without spaces")
        }
        for (name, value) in [("user", username), ("password", password)] {
            if let value, value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                throw .invalidConfiguration("the SMTP \(name) contains a line break or NUL")
            }
        }
        do {
            self.sender = try MailAddress(parsing: from, role: "from")
        } catch {
            throw .invalidConfiguration("the sender: \(error.message)")
        }
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.from = from
        self.heloName = heloName
        self.timeout = timeout
    }

    /// The URL without the password, fit for logs.
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let userPart = username.map { "\($0):***@" } ?? ""
        return "smtp://\(userPart)\(hostPart):\(port)"
    }

    /// Error messages quote the URL; the password must not end up in a log through them.
    private static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://"), let at = url[schemeEnd.upperBound...].lastIndex(of: "@") else {
            return url
        }
        let userInfo = url[schemeEnd.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return url[..<colon] + ":***" + url[at...]
    }
}

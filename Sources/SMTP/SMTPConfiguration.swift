import Foundation
import NIOSSL

/// Where and as whom to send mail.
public struct SMTPConfiguration: Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int
    /// With ``password``, authenticates with AUTH PLAIN or LOGIN when the server offers either, and only
    /// over TLS unless ``security`` is ``Security/plaintext``.
    public let username: String?
    public let password: String?
    /// The default sender, e.g. `Threadlog <noreply@example.com>`; a message may name another.
    public let from: String
    /// The name this client gives in EHLO/HELO.
    public let heloName: String
    /// The longest wait for connecting and for each reply.
    public let timeout: Duration
    /// Whether and how the connection is encrypted.
    public let security: Security
    /// A PEM file of extra certificate authorities to trust beside the system's, for a server whose
    /// certificate a private authority signed.
    public let trustedCAFile: String?

    let sender: MailAddress
    /// The TLS settings of every connection, `nil` for ``Security/plaintext``: the system's trust roots plus
    /// ``trustedCAFile``, the server's certificate checked against ``host``.
    let tlsConfiguration: TLSConfiguration?

    /// How the connection to the server is protected.
    public enum Security: String, Sendable, Hashable, CustomStringConvertible {
        /// `smtp://` (the default): STARTTLS when the server offers it. Credentials go only over TLS: a
        /// server without STARTTLS gets none and the mail fails. Without credentials, mail goes
        /// unencrypted to a server that offers no STARTTLS.
        case startTLSWhenOffered = "starttls"
        /// `smtp://…?tls=require`: STARTTLS or no mail at all, with or without credentials.
        case startTLSRequired = "require"
        /// `smtps://` (port 465 by default): TLS from the first byte.
        case implicitTLS = "implicit"
        /// `smtp://…?tls=none`: never TLS, even when offered; credentials, if any, go in clear. Only for a
        /// relay on a network that is trusted as it is.
        case plaintext = "none"

        public var description: String { rawValue }
    }

    /// Parses a `THREADLOG_SMTP_URL`-style address: `smtp://host`, `smtp://host:port`,
    /// `smtp://user:password@host:port` (user and password percent-encoded; the port defaults to 25) or
    /// `smtps://…` (TLS from the first byte; the port defaults to 465). `smtp://` takes `?tls=require`
    /// (STARTTLS or nothing) or `?tls=none` (never TLS, credentials in clear); see ``Security``.
    public init(
        url: String, from: String, heloName: String = "localhost", timeout: Duration = .seconds(30),
        trustedCAFile: String? = nil
    ) throws(SMTPError) {
        guard let components = URLComponents(string: url.trimmingSpaces()), let scheme = components.scheme else {
            throw .invalidConfiguration("\"\(Self.redacted(url))\" is not a URL like smtp://host:port")
        }
        var security: Security
        let defaultPort: Int
        switch scheme.lowercased() {
        case "smtp": (security, defaultPort) = (.startTLSWhenOffered, 25)
        case "smtps": (security, defaultPort) = (.implicitTLS, 465)
        default:
            throw .invalidConfiguration(
                "unsupported scheme \"\(scheme)\" in the SMTP URL; use smtp://host:port or smtps://host:port")
        }
        var host = components.host ?? ""
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else {
            throw .invalidConfiguration("the SMTP URL \"\(Self.redacted(url))\" has no host")
        }
        guard components.path.isEmpty || components.path == "/", components.fragment == nil else {
            throw .invalidConfiguration(
                "the SMTP URL \"\(Self.redacted(url))\" has a path or fragment; expected smtp://host:port")
        }
        if let query = components.queryItems {
            // Only `tls`, once, and only where there is a choice: smtps:// is TLS already.
            guard query.count == 1, query[0].name == "tls", security == .startTLSWhenOffered,
                let value = query[0].value.flatMap({ Security(rawValue: $0.lowercased()) }), value != .implicitTLS
            else {
                throw .invalidConfiguration(
                    "the SMTP URL \"\(Self.redacted(url))\" has an unknown query; smtp:// takes ?tls=starttls, "
                        + "?tls=require or ?tls=none, smtps:// takes none")
            }
            security = value
        }
        if components.user != nil, components.password == nil {
            throw .invalidConfiguration("the SMTP URL names a user but no password; expected smtp://user:password@host")
        }
        try self.init(
            host: host, port: components.port ?? defaultPort, username: components.user,
            password: components.password, from: from, heloName: heloName, timeout: timeout, security: security,
            trustedCAFile: trustedCAFile)
    }

    public init(
        host: String, port: Int = 25, username: String? = nil, password: String? = nil, from: String,
        heloName: String = "localhost", timeout: Duration = .seconds(30),
        security: Security = .startTLSWhenOffered, trustedCAFile: String? = nil
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
        if security == .plaintext {
            tlsConfiguration = nil
        } else {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.minimumTLSVersion = .tlsv12
            // Verification stays on (the default): the chain up to a trusted root, and the host's name.
            if let trustedCAFile {
                // Read now, so a missing or unreadable file stops the start instead of every mail.
                do {
                    let authorities = try NIOSSLCertificate.fromPEMFile(trustedCAFile)
                    guard !authorities.isEmpty else { throw NIOSSLError.failedToLoadCertificate }
                    tls.additionalTrustRoots = [.certificates(authorities)]
                } catch {
                    throw .invalidConfiguration("cannot read certificate authorities from \(trustedCAFile): \(error)")
                }
            }
            tlsConfiguration = tls
        }
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.from = from
        self.heloName = heloName
        self.timeout = timeout
        self.security = security
        self.trustedCAFile = trustedCAFile
    }

    /// The URL without the password, fit for logs.
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let userPart = username.map { "\($0):***@" } ?? ""
        switch security {
        case .startTLSWhenOffered: return "smtp://\(userPart)\(hostPart):\(port)"
        case .startTLSRequired, .plaintext: return "smtp://\(userPart)\(hostPart):\(port)?tls=\(security)"
        case .implicitTLS: return "smtps://\(userPart)\(hostPart):\(port)"
        }
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

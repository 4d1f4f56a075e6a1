/// A plain-text mail to send.
///
/// Addresses are written as in a header: `jane@example.com` or `Jane Doe <jane@example.com>`;
/// display names may be any Unicode. Bcc recipients get the mail but appear in no header.
public struct MailMessage: Sendable {
    /// The sender; `nil` sends as the configuration's ``SMTPConfiguration/from``.
    public var from: String?
    public var to: [String]
    public var cc: [String]
    public var bcc: [String]
    public var subject: String
    /// Any Unicode text; lines end in `\n` or `\r\n`. Sent quoted-printable, so long lines and
    /// lines starting with a dot arrive unchanged.
    public var textBody: String
    /// Further header fields in order, e.g. `("Message-ID", "<…>")`, `("In-Reply-To", "<…>")` or
    /// `("X-Threadlog-Thread", "…")`. A `Message-ID` or `Date` given here replaces the generated
    /// one; the fields this library writes itself (From, To, Cc, Bcc, Subject and the MIME fields)
    /// cannot be given.
    public var headers: [(String, String)]

    public init(
        from: String? = nil, to: [String], cc: [String] = [], bcc: [String] = [], subject: String,
        textBody: String, headers: [(String, String)] = []
    ) {
        self.from = from
        self.to = to
        self.cc = cc
        self.bcc = bcc
        self.subject = subject
        self.textBody = textBody
        self.headers = headers
    }
}

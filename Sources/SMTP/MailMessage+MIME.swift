import Foundation

/// A message checked and rendered, ready for one SMTP transaction.
struct PreparedMail: Sendable {
    var sender: String
    var recipients: [String]
    var messageID: String
    /// The message as RFC 5322 text, CRLF line ends, not yet dot-stuffed.
    var content: [UInt8]
}

extension MailMessage {
    /// Header fields written from the message's own properties; extra headers must not repeat them.
    static let reservedHeaders: Set<String> = [
        "from", "to", "cc", "bcc", "subject", "mime-version", "content-type", "content-transfer-encoding",
    ]
    /// Fields whose value is an address list, parsed and encoded like To.
    static let addressHeaders: Set<String> = ["reply-to", "sender"]
    /// Fields with a structured value (message ids, dates) that encoded-words would break.
    static let asciiOnlyHeaders: Set<String> = ["message-id", "in-reply-to", "references", "date"]

    /// Checks every address and header and renders the message; throws before any network work.
    func prepared(defaultSender: MailAddress, now: Date = Date()) throws(SMTPError) -> PreparedMail {
        let sender =
            try from.map { text throws(SMTPError) in try MailAddress(parsing: text, role: "from") } ?? defaultSender
        let toAddresses = try Self.parse(to, role: "to")
        let ccAddresses = try Self.parse(cc, role: "cc")
        let bccAddresses = try Self.parse(bcc, role: "bcc")
        guard !(toAddresses.isEmpty && ccAddresses.isEmpty && bccAddresses.isEmpty) else {
            throw .invalidMessage("the message has no recipients")
        }
        try HeaderText.requireSingleLine(subject, what: "the subject")

        var messageID: String? = nil
        var hasDate = false
        var extra = ""
        for (name, value) in headers {
            try Self.validateName(name)
            try HeaderText.requireSingleLine(value, what: "the \(name) header")
            let key = name.lowercased()
            if Self.reservedHeaders.contains(key) {
                throw .invalidMessage("the \(name) header is written from the message's own fields; it cannot be given")
            }
            if Self.addressHeaders.contains(key) {
                let addresses = try Self.parse(HeaderText.splitAddressList(value), role: name)
                extra += HeaderText.field(name, HeaderText.addressListTokens(addresses))
            } else if Self.asciiOnlyHeaders.contains(key) {
                guard HeaderText.isPlain(value) else {
                    throw .invalidMessage("the \(name) header must be plain ASCII")
                }
                let value = value.trimmingSpaces()
                if key == "message-id" { messageID = value }
                if key == "date" { hasDate = true }
                extra += HeaderText.field(name, value.split(separator: " ").map(String.init))
            } else {
                extra += HeaderText.field(name, HeaderText.unstructuredTokens(value))
            }
        }
        let id = messageID ?? "<\(UUID().uuidString.lowercased())@\(Self.domain(of: sender.address))>"

        var head = ""
        if !hasDate { head += HeaderText.field("Date", [MailDate.format(now)]) }
        head += HeaderText.field("From", HeaderText.addressListTokens([sender]))
        if !toAddresses.isEmpty { head += HeaderText.field("To", HeaderText.addressListTokens(toAddresses)) }
        if !ccAddresses.isEmpty { head += HeaderText.field("Cc", HeaderText.addressListTokens(ccAddresses)) }
        head += HeaderText.field("Subject", HeaderText.unstructuredTokens(subject))
        if messageID == nil { head += HeaderText.field("Message-ID", [id]) }
        head += extra
        head += "MIME-Version: 1.0\r\n"
        head += "Content-Type: text/plain; charset=utf-8\r\n"
        head += "Content-Transfer-Encoding: quoted-printable\r\n"
        head += "\r\n"

        var seen = Set<String>()
        let recipients = (toAddresses + ccAddresses + bccAddresses).map(\.address).filter {
            seen.insert($0.lowercased()).inserted
        }
        return PreparedMail(
            sender: sender.address, recipients: recipients, messageID: id,
            content: Array(head.utf8) + QuotedPrintable.encode(textBody))
    }

    private static func parse(_ addresses: [String], role: String) throws(SMTPError) -> [MailAddress] {
        var result: [MailAddress] = []
        for text in addresses { result.append(try MailAddress(parsing: text, role: role)) }
        return result
    }

    private static func validateName(_ name: String) throws(SMTPError) {
        // RFC 5322 field names: printable ASCII except the colon.
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.value >= 33 && $0.value <= 126 && $0 != ":" }) else {
            throw .invalidMessage("\(name.debugDescription) is not a valid header name")
        }
    }

    private static func domain(of address: String) -> String {
        address.lastIndex(of: "@").map { String(address[address.index(after: $0)...]) } ?? "localhost"
    }
}

/// A mailbox as written in a message: `noreply@example.com`, `Threadlog <noreply@example.com>` or
/// `"Doe, Jane" <jane@example.com>`.
struct MailAddress: Sendable, Equatable {
    var displayName: String?
    /// The address alone, as it goes into `MAIL FROM:<…>` and `RCPT TO:<…>`.
    var address: String

    /// - Parameter role: names the field in error messages ("to", "from", …).
    init(parsing text: String, role: String) throws(SMTPError) {
        try HeaderText.requireSingleLine(text, what: "the \(role) address")
        let trimmed = text.trimmingSpaces()
        var name: String? = nil
        var address = trimmed
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            var phrase = String(trimmed[..<open]).trimmingSpaces()
            if phrase.count >= 2, phrase.hasPrefix("\""), phrase.hasSuffix("\"") {
                phrase = Self.unquote(phrase.dropFirst().dropLast())
            }
            name = phrase.isEmpty ? nil : phrase
        }
        try Self.validate(address: address, role: role, original: text)
        self.displayName = name
        self.address = address
    }

    private static func unquote(_ quoted: Substring) -> String {
        var result = ""
        var escaped = false
        for character in quoted {
            if escaped || character != "\\" {
                result.append(character)
                escaped = false
            } else {
                escaped = true
            }
        }
        return result
    }

    private static func validate(address: String, role: String, original: String) throws(SMTPError) {
        guard let at = address.lastIndex(of: "@") else {
            throw .invalidMessage("the \(role) address \"\(original)\" has no @")
        }
        let local = address[..<at]
        let domain = address[address.index(after: at)...]
        guard !local.isEmpty, !domain.isEmpty else {
            throw .invalidMessage("the \(role) address \"\(original)\" is incomplete")
        }
        guard address.unicodeScalars.allSatisfy(\.isASCII) else {
            throw .invalidMessage(
                "the \(role) address \"\(original)\" is not ASCII; internationalized addresses (SMTPUTF8) are not supported"
            )
        }
        let localAllowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~.")
        let domainAllowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
        let isLiteral = domain.hasPrefix("[") && domain.hasSuffix("]") && domain.count > 2
        let domainOK =
            isLiteral
            ? domain.dropFirst().dropLast().allSatisfy { domainAllowed.contains($0) || $0 == ":" }
            : domain.allSatisfy { domainAllowed.contains($0) }
        guard local.allSatisfy({ localAllowed.contains($0) }), domainOK else {
            throw .invalidMessage("the \(role) address \"\(original)\" contains characters an address cannot have")
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

import Foundation

/// Header text rules: one line per field value, RFC 2047 encoded-words for anything not plain
/// ASCII, folding so lines stay short.
enum HeaderText {
    /// Lines are folded before this length where there is a space to fold at (RFC 5322 says 78).
    static let preferredLineLength = 78
    /// An encoded-word carries at most this many UTF-8 bytes: its base64 is 56 characters, the
    /// word 68, so `Subject: ` and one word still fit in 78 and no word comes near RFC 2047's 75.
    static let encodedWordPayload = 42

    /// A CR or LF would end the header field early and let the rest pose as new fields.
    static func requireSingleLine(_ value: String, what: String) throws(SMTPError) {
        if value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
            throw .invalidMessage("\(what) contains a line break or NUL; refused to prevent header injection")
        }
    }

    static func isPlain(_ value: String) -> Bool {
        value.unicodeScalars.allSatisfy { ($0.value >= 32 && $0.value < 127) || $0 == "\t" }
    }

    /// Tokens of an unstructured value (Subject, X-…): its words when it is plain ASCII, otherwise
    /// encoded-words. Joined by single spaces, the tokens give the value back.
    static func unstructuredTokens(_ value: String) -> [String] {
        let words = value.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        // "=?" would read as the start of an encoded-word; a word longer than a line cannot be folded.
        if isPlain(value), !value.contains("=?"), words.allSatisfy({ $0.utf8.count < 900 }) {
            return words
        }
        return encodedWords(value)
    }

    /// `=?utf-8?B?…?=` words, split between characters so that each decodes on its own.
    static func encodedWords(_ value: String) -> [String] {
        var chunks: [[UInt8]] = []
        var current: [UInt8] = []
        func add(_ bytes: [UInt8]) {
            if current.count + bytes.count > encodedWordPayload, !current.isEmpty {
                chunks.append(current)
                current = []
            }
            current += bytes
        }
        for character in value {
            let bytes = Array(character.utf8)
            if bytes.count <= encodedWordPayload {
                add(bytes)
            } else {
                // A grapheme too big for one word (a long emoji sequence) is split between scalars.
                for scalar in character.unicodeScalars { add(Array(String(scalar).utf8)) }
            }
        }
        if !current.isEmpty || chunks.isEmpty { chunks.append(current) }
        return chunks.map { "=?utf-8?B?\(Data($0).base64EncodedString())?=" }
    }

    /// A display name as a phrase: atoms as they are, other ASCII quoted, the rest encoded.
    static func phraseTokens(_ name: String) -> [String] {
        guard isPlain(name), !name.contains("=?") else { return encodedWords(name) }
        let atomCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~ ")
        if name.allSatisfy({ atomCharacters.contains($0) }) {
            return name.split(separator: " ").map(String.init)
        }
        var quoted = "\""
        for character in name {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return [quoted + "\""]
    }

    static func addressListTokens(_ addresses: [MailAddress]) -> [String] {
        var tokens: [String] = []
        for (index, mailbox) in addresses.enumerated() {
            var own: [String] = []
            if let name = mailbox.displayName {
                own = phraseTokens(name) + ["<\(mailbox.address)>"]
            } else {
                own = [mailbox.address]
            }
            if index < addresses.count - 1 { own[own.count - 1] += "," }
            tokens += own
        }
        return tokens
    }

    /// `Name: tokens…` with a CRLF before a space wherever the line would grow past 78.
    static func field(_ name: String, _ tokens: [String]) -> String {
        var result = ""
        var line = name + ":"
        var hasToken = false
        for token in tokens {
            if hasToken, !token.isEmpty, line.utf8.count + 1 + token.utf8.count > preferredLineLength {
                result += line + "\r\n"
                line = ""
            }
            line += " " + token
            hasToken = true
        }
        return result + line + "\r\n"
    }

    /// Splits `a@x, "Doe, Jane" <j@y>` at the commas that separate addresses.
    static func splitAddressList(_ value: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var inQuotes = false
        var inAngle = false
        var escaped = false
        for character in value {
            if escaped {
                escaped = false
            } else if inQuotes && character == "\\" {
                escaped = true
            } else if character == "\"" {
                inQuotes.toggle()
            } else if !inQuotes && character == "<" {
                inAngle = true
            } else if !inQuotes && character == ">" {
                inAngle = false
            } else if !inQuotes && !inAngle && character == "," {
                parts.append(current)
                current = ""
                continue
            }
            current.append(character)
        }
        parts.append(current)
        return parts.filter { !$0.trimmingSpaces().isEmpty }
    }
}

/// Quoted-printable (RFC 2045) for the body: 7-bit lines of at most 76 characters, whatever the text.
enum QuotedPrintable {
    static let maximumLineLength = 76

    /// Encodes text whose lines end in LF, CRLF or CR; the result has CRLF line ends and always
    /// ends in CRLF. Text without a final line break ends in a soft break, so it decodes exactly.
    static func encode(_ text: String) -> [UInt8] {
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        var output: [UInt8] = []
        for (index, line) in lines.enumerated() {
            let isLast = index == lines.count - 1
            if isLast && line.isEmpty { break }
            encodeLine(Array(line.utf8), into: &output)
            if isLast { output += Array("=".utf8) }
            output += [13, 10]
        }
        return output
    }

    private static func encodeLine(_ bytes: [UInt8], into output: inout [UInt8]) {
        var line: [UInt8] = []
        for (index, byte) in bytes.enumerated() {
            let isLineEnd = index == bytes.count - 1
            let literal: Bool
            switch byte {
            case 9, 32: literal = !isLineEnd  // whitespace at a line end may be stripped in transit
            case 61: literal = false  // "="
            case 33...126: literal = true
            default: literal = false
            }
            // "From " at a line start gets mangled by mbox stores; an escaped F avoids it.
            let isFromLine =
                line.isEmpty && byte == UInt8(ascii: "F") && bytes[index...].starts(with: Array("From ".utf8))
            let encoded: [UInt8] = literal && !isFromLine ? [byte] : escape(byte)
            // Keep room for the "=" of a soft line break.
            if line.count + encoded.count > maximumLineLength - 1 {
                output += line + Array("=\r\n".utf8)
                line = []
            }
            line += encoded
        }
        output += line
    }

    private static func escape(_ byte: UInt8) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        return [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
    }
}

enum MailDate {
    /// RFC 5322 date-time in UTC, e.g. `Tue, 25 Nov 2025 13:09:00 +0000`.
    static func format(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return
            "\(days[(parts.weekday ?? 1) - 1]), \(parts.day ?? 1) \(months[(parts.month ?? 1) - 1]) \(parts.year ?? 1970) "
            + "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0000"
    }
}

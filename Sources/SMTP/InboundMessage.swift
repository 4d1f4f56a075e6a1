import Foundation

/// A received RFC 5322 message, read for what a reply needs: its header fields (unfolded, encoded-words
/// decoded) and its text (the text/plain part, else the text/html part with its tags stripped), with
/// quoted-printable and base64 undone and the charset (UTF-8, Latin-1, Windows-1252, ASCII) decoded.
public struct InboundMessage: Sendable {
    /// Header fields in order; names as written, values unfolded and decoded.
    public var headers: [(name: String, value: String)]
    /// The readable text of the message, line ends normalised to `\n`; empty when it has none.
    public var text: String
    /// The parts that are neither the chosen text nor a container: attachments (and inline images).
    public var attachments: [InboundAttachment]

    public var attachmentNames: [String] { attachments.map(\.name) }

    /// The first field of that name (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public func allHeaders(_ name: String) -> [String] {
        headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }

    /// The Message-ID without its angle brackets, if any.
    public var messageID: String? {
        guard let raw = header("Message-ID")?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        return raw.hasPrefix("<") && raw.hasSuffix(">") ? String(raw.dropFirst().dropLast()) : raw
    }

    public init(parsing bytes: [UInt8]) {
        let (head, body) = Self.split(bytes[...])
        headers = Self.fields(head)
        var found = Found()
        Self.walk(headers: headers, body: body, depth: 0, into: &found)
        if let plain = found.plain {
            text = plain
        } else if let html = found.html {
            text = HTMLText.plain(html)
        } else {
            text = ""
        }
        attachments = found.attachments
    }

    /// Addresses in an address-list field value: the parts in angle brackets, or the bare addresses.
    public static func addresses(in value: String) -> [String] {
        var out: [String] = []
        var depth = 0
        var quoted = false
        var current = ""
        for character in value + "," {
            if character == "\"" { quoted.toggle() }
            if !quoted, character == "(" { depth += 1 }
            if !quoted, character == ")" { depth = max(0, depth - 1) }
            if !quoted, depth == 0, character == "," {
                let item = current.trimmingCharacters(in: .whitespaces)
                if let open = item.lastIndex(of: "<"), let close = item.lastIndex(of: ">"), open < close {
                    out.append(String(item[item.index(after: open)..<close]).trimmingCharacters(in: .whitespaces))
                } else if item.contains("@") {
                    out.append(item.split(separator: " ").first { $0.contains("@") }.map(String.init) ?? item)
                }
                current = ""
            } else {
                current.append(character)
            }
        }
        return out
    }

    private struct Found {
        var plain: String?
        var html: String?
        var attachments: [InboundAttachment] = []
    }

    /// Header and body at the first empty line (CRLF or LF line ends).
    static func split(_ bytes: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        var index = bytes.startIndex
        var lineStart = true
        while index < bytes.endIndex {
            if lineStart {
                if bytes[index] == 10 { return (bytes[..<index], bytes[(index + 1)...]) }
                if bytes[index] == 13, index + 1 < bytes.endIndex, bytes[index + 1] == 10 {
                    return (bytes[..<index], bytes[(index + 2)...])
                }
            }
            lineStart = bytes[index] == 10
            index += 1
        }
        return (bytes, [])
    }

    /// Unfolded fields; raw 8-bit header bytes are read as UTF-8, else Latin-1.
    static func fields(_ head: ArraySlice<UInt8>) -> [(name: String, value: String)] {
        let text = Charset.decode(Array(head), charset: "utf-8")
        var fields: [(name: String, value: String)] = []
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.isEmpty { continue }
            if line.first == " " || line.first == "\t", !fields.isEmpty {
                fields[fields.count - 1].value += String(line)
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields.append(
                (String(line[..<colon]).trimmingCharacters(in: .whitespaces), String(line[line.index(after: colon)...]))
            )
        }
        return fields.map { ($0.name, EncodedWords.decode($0.value.trimmingCharacters(in: .whitespaces))) }
    }

    private static func walk(
        headers: [(name: String, value: String)], body: ArraySlice<UInt8>, depth: Int, into found: inout Found
    ) {
        func value(_ name: String) -> String? {
            headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
        let type = ContentType(value("Content-Type") ?? "text/plain")
        let disposition = ContentType(value("Content-Disposition") ?? "inline")
        let name = disposition.parameters["filename"] ?? type.parameters["name"]
        if type.type == "multipart", depth < 20, let boundary = type.parameters["boundary"], !boundary.isEmpty {
            for part in Self.parts(body, boundary: boundary) {
                let (partHead, partBody) = Self.split(part)
                Self.walk(headers: Self.fields(partHead), body: partBody, depth: depth + 1, into: &found)
            }
            return
        }
        if type.type == "message" {
            // A forwarded message is history, not the reply.
            return
        }
        let isAttachment = disposition.type == "attachment" || name != nil
        if type.type == "text", !isAttachment, type.subtype == "plain" || type.subtype == "html" {
            let decoded = TransferEncoding.decode(Array(body), encoding: value("Content-Transfer-Encoding") ?? "7bit")
            let text = Charset.decode(decoded, charset: type.parameters["charset"] ?? "us-ascii")
                .replacingOccurrences(of: "\r\n", with: "\n")
            if type.subtype == "plain" {
                if found.plain == nil { found.plain = text }
            } else if found.html == nil {
                found.html = text
            }
            return
        }
        let decoded = TransferEncoding.decode(Array(body), encoding: value("Content-Transfer-Encoding") ?? "7bit")
        found.attachments.append(
            InboundAttachment(
                name: name ?? "attachment", contentType: "\(type.type)/\(type.subtype)", bytes: decoded))
    }

    /// The parts between `--boundary` lines, up to `--boundary--`.
    static func parts(_ body: ArraySlice<UInt8>, boundary: String) -> [ArraySlice<UInt8>] {
        let delimiter = Array("--\(boundary)".utf8)
        var parts: [ArraySlice<UInt8>] = []
        var partStart: Int? = nil
        var lineStart = body.startIndex
        while lineStart < body.endIndex {
            var lineEnd = lineStart
            while lineEnd < body.endIndex, body[lineEnd] != 10 { lineEnd += 1 }
            let line = body[lineStart..<lineEnd]
            let next = lineEnd < body.endIndex ? lineEnd + 1 : lineEnd
            if line.starts(with: delimiter) {
                let rest = line.dropFirst(delimiter.count)
                let closing = rest.starts(with: [45, 45])
                if closing || rest.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) {
                    if let start = partStart {
                        // The line break before the delimiter belongs to the delimiter.
                        var end = lineStart
                        if end > start, body[end - 1] == 10 { end -= 1 }
                        if end > start, body[end - 1] == 13 { end -= 1 }
                        parts.append(body[start..<end])
                    }
                    if closing { return parts }
                    partStart = next
                }
            }
            lineStart = next
        }
        if let start = partStart, start < body.endIndex { parts.append(body[start...]) }
        return parts
    }
}

/// A file a message carries, decoded from its transfer encoding.
public struct InboundAttachment: Sendable, Hashable {
    public var name: String
    public var contentType: String
    public var bytes: [UInt8]
}

/// `type/subtype; name=value; …`, names lowercased, quoted values unquoted.
struct ContentType {
    var type: String
    var subtype: String
    var parameters: [String: String] = [:]

    init(_ value: String) {
        var pieces: [String] = []
        var current = ""
        var quoted = false
        for character in value {
            if character == "\"" { quoted.toggle() }
            if character == ";", !quoted {
                pieces.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        pieces.append(current)
        let full = pieces[0].trimmingCharacters(in: .whitespaces).lowercased()
        let halves = full.split(separator: "/", maxSplits: 1)
        type = halves.first.map(String.init) ?? full
        subtype = halves.count > 1 ? String(halves[1]) : ""
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let name = piece[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = piece[piece.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            parameters[name.hasSuffix("*") ? String(name.dropLast()) : name] = value
        }
    }
}

enum TransferEncoding {
    static func decode(_ bytes: [UInt8], encoding: String) -> [UInt8] {
        switch encoding.trimmingCharacters(in: .whitespaces).lowercased() {
        case "quoted-printable": return QuotedPrintable.decode(bytes)
        case "base64":
            let text = bytes.filter { !($0 == 10 || $0 == 13 || $0 == 32 || $0 == 9) }
            var padded = String(decoding: text, as: UTF8.self)
            while padded.count % 4 != 0 { padded += "=" }
            return Data(base64Encoded: padded).map(Array.init) ?? bytes
        default: return bytes
        }
    }
}

extension QuotedPrintable {
    /// Soft line breaks removed, `=XX` turned into bytes; a malformed escape is kept as written.
    static func decode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: byte - 48
            case 65...70: byte - 55
            case 97...102: byte - 87
            default: nil
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 61 {
                // "=" then optional blanks then a line break: a soft break.
                var look = index + 1
                while look < bytes.count, bytes[look] == 32 || bytes[look] == 9 { look += 1 }
                if look < bytes.count, bytes[look] == 13, look + 1 < bytes.count, bytes[look + 1] == 10 {
                    index = look + 2
                    continue
                }
                if look < bytes.count, bytes[look] == 10 {
                    index = look + 1
                    continue
                }
                if look >= bytes.count {
                    index = look
                    continue
                }
                if index + 2 < bytes.count, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) {
                    out.append(high << 4 | low)
                    index += 3
                    continue
                }
            }
            out.append(byte)
            index += 1
        }
        return out
    }
}

enum Charset {
    /// UTF-8 when it is valid (whatever the label says of ASCII), else Latin-1 / Windows-1252 as labelled,
    /// else Latin-1: every byte becomes some character, so nothing is dropped.
    static func decode(_ bytes: [UInt8], charset: String) -> String {
        let label = charset.trimmingCharacters(in: .whitespaces).lowercased()
        if label != "iso-8859-1", label != "latin1", label != "windows-1252", label != "cp1252",
            let text = String(validating: bytes, as: UTF8.self)
        {
            return text
        }
        if label == "windows-1252" || label == "cp1252" {
            return String(String.UnicodeScalarView(bytes.map { windows1252($0) }))
        }
        if let text = String(validating: bytes, as: UTF8.self), label != "iso-8859-1", label != "latin1" { return text }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    private static let high: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D,
        0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
        0x0153, 0x9D, 0x017E, 0x0178,
    ]

    private static func windows1252(_ byte: UInt8) -> Unicode.Scalar {
        guard (0x80...0x9F).contains(byte) else { return Unicode.Scalar(byte) }
        return Unicode.Scalar(high[Int(byte - 0x80)]) ?? Unicode.Scalar(byte)
    }
}

/// RFC 2047 encoded-words in header values: `=?charset?B|Q?text?=`; blanks between two words vanish.
enum EncodedWords {
    static func decode(_ value: String) -> String {
        guard value.contains("=?") else { return value }
        var out = ""
        var rest = Substring(value)
        var pendingBlank = ""
        var lastWasWord = false
        while !rest.isEmpty {
            if rest.hasPrefix("=?"), let (decoded, after) = word(rest) {
                if !lastWasWord { out += pendingBlank }
                pendingBlank = ""
                out += decoded
                rest = after
                lastWasWord = true
                continue
            }
            let character = rest.removeFirst()
            if character == " " || character == "\t" {
                pendingBlank.append(character)
            } else {
                out += pendingBlank
                pendingBlank = ""
                out.append(character)
                lastWasWord = false
            }
        }
        return out + pendingBlank
    }

    private static func word(_ text: Substring) -> (String, Substring)? {
        let body = text.dropFirst(2)
        guard let q1 = body.firstIndex(of: "?") else { return nil }
        let charset = body[..<q1].split(separator: "*").first.map(String.init) ?? ""
        let afterCharset = body[body.index(after: q1)...]
        guard let q2 = afterCharset.firstIndex(of: "?") else { return nil }
        let encoding = afterCharset[..<q2].lowercased()
        let payloadStart = afterCharset.index(after: q2)
        guard let end = afterCharset[payloadStart...].range(of: "?=") else { return nil }
        let payload = afterCharset[payloadStart..<end.lowerBound]
        guard !payload.contains(" ") else { return nil }
        let bytes: [UInt8]
        switch encoding {
        case "b":
            var padded = String(payload)
            while padded.count % 4 != 0 { padded += "=" }
            guard let data = Data(base64Encoded: padded) else { return nil }
            bytes = Array(data)
        case "q":
            bytes = QuotedPrintable.decode(Array(payload.replacingOccurrences(of: "_", with: " ").utf8))
        default:
            return nil
        }
        return (Charset.decode(bytes, charset: charset), afterCharset[end.upperBound...])
    }
}

/// Readable text out of HTML: blocks become line breaks, quoted history (`blockquote`, Gmail's quote
/// container) and scripts or styles go, tags are dropped and entities decoded.
enum HTMLText {
    static func plain(_ html: String) -> String {
        var text = html
        for element in ["script", "style", "head", "blockquote"] {
            text = removeElements(element, from: text)
        }
        text = removeQuoteContainers(text)
        // Line breaks in the source are blanks in HTML; only the elements break lines.
        text = text.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "<") {
            out += rest[..<open]
            guard let close = rest[open...].firstIndex(of: ">") else {
                rest = rest[rest.endIndex...]
                break
            }
            let tag = rest[rest.index(after: open)..<close].lowercased()
            let name =
                tag.trimmingCharacters(in: CharacterSet(charactersIn: "/ ")).split(whereSeparator: {
                    $0 == " " || $0 == "/"
                }).first.map(String.init) ?? ""
            if ["br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table"].contains(name) { out += "\n" }
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return entities(out).split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in
                line.replacingOccurrences(of: "\u{00A0}", with: " ").split(separator: " ").joined(separator: " ")
            }
            .joined(separator: "\n")
    }

    private static func removeElements(_ name: String, from html: String) -> String {
        var text = html
        while let start = text.range(of: "<\(name)", options: .caseInsensitive) {
            guard
                let end = text.range(
                    of: "</\(name)>", options: .caseInsensitive, range: start.upperBound..<text.endIndex)
            else {
                text.removeSubrange(start.lowerBound...)
                break
            }
            text.removeSubrange(start.lowerBound..<end.upperBound)
        }
        return text
    }

    /// Gmail's `<div class="gmail_quote">` and the rest of the text after it.
    private static func removeQuoteContainers(_ html: String) -> String {
        for marker in ["class=\"gmail_quote", "id=\"divRplyFwdMsg", "id=\"appendonsend"] {
            if let found = html.range(of: marker, options: .caseInsensitive),
                let open = html[..<found.lowerBound].lastIndex(of: "<")
            {
                return String(html[..<open])
            }
        }
        return html
    }

    static func entities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        let named: [String: String] = [
            "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{00A0}", "#39": "'",
        ]
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            if let semi = after.prefix(10).firstIndex(of: ";") {
                let name = String(after[..<semi])
                if let value = named[name.lowercased()] {
                    out += value
                    rest = after[after.index(after: semi)...]
                    continue
                }
                if name.hasPrefix("#") {
                    let digits = name.dropFirst()
                    let code =
                        digits.lowercased().hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits)
                    if let code, let scalar = Unicode.Scalar(code) {
                        out.unicodeScalars.append(scalar)
                        rest = after[after.index(after: semi)...]
                        continue
                    }
                }
            }
            out += "&"
            rest = after
        }
        return out + rest
    }
}

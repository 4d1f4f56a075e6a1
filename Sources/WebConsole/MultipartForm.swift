import Foundation

/// A file of a `multipart/form-data` form: the name the browser gave it, its type and its bytes.
struct UploadedFile: Sendable {
    var field: String
    var name: String
    var contentType: String
    var bytes: [UInt8]
}

/// The parts of a `multipart/form-data` body (RFC 7578): text fields and files. The form of the
/// upload boxes; `nil` for a body that is not well formed.
struct MultipartForm: Sendable {
    var fields: [String: String] = [:]
    var files: [UploadedFile] = []

    /// The `boundary` parameter of a `multipart/form-data` content type.
    static func boundary(_ contentType: String?) -> String? {
        guard let contentType else { return nil }
        let parameters = Self.parameters(contentType)
        guard parameters.first?.name.lowercased() == "multipart/form-data",
            let boundary = parameters.first(where: { $0.name.lowercased() == "boundary" })?.value,
            (1...70).contains(boundary.utf8.count)
        else { return nil }
        return boundary
    }

    init?(_ body: [UInt8], boundary: String) {
        let delimiter = Array(("--" + boundary).utf8)
        let separator = Array(("\r\n--" + boundary).utf8)
        guard var at = Self.find(delimiter, in: body, from: 0) else { return nil }
        at += delimiter.count
        while true {
            // `--` after a delimiter ends the body; anything else starts a part on the next line.
            if body.count >= at + 2, body[at] == UInt8(ascii: "-"), body[at + 1] == UInt8(ascii: "-") { return }
            guard body.count >= at + 2, body[at] == 13, body[at + 1] == 10 else { return nil }
            at += 2
            guard let headEnd = Self.find(Array("\r\n\r\n".utf8), in: body, from: at) else { return nil }
            let head = String(decoding: body[at..<headEnd], as: UTF8.self)
            let start = headEnd + 4
            guard let end = Self.find(separator, in: body, from: start) else { return nil }
            var disposition: [(name: String, value: String)] = []
            var contentType = "application/octet-stream"
            for line in head.components(separatedBy: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if name == "content-disposition" { disposition = Self.parameters(value) }
                if name == "content-type", !value.isEmpty { contentType = value }
            }
            guard disposition.first?.name.lowercased() == "form-data",
                let field = disposition.first(where: { $0.name.lowercased() == "name" })?.value
            else { return nil }
            let bytes = Array(body[start..<end])
            if let filename = disposition.first(where: { $0.name.lowercased() == "filename" })?.value {
                // An empty file box still sends a part, with no name and no bytes.
                let name = Self.baseName(filename)
                if !name.isEmpty || !bytes.isEmpty {
                    files.append(UploadedFile(field: field, name: name, contentType: contentType, bytes: bytes))
                }
            } else {
                fields[field] = String(decoding: bytes, as: UTF8.self)
            }
            at = end + separator.count
        }
    }

    /// A path's last part: some browsers send the whole path of the chosen file.
    static func baseName(_ name: String) -> String {
        let last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        return String(last.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.map(Character.init))
    }

    /// `value; name=x; other="quoted; text"` as its parts, the first one without a value.
    static func parameters(_ header: String) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        var current = ""
        var inQuotes = false
        var items: [String] = []
        // Browsers send a quote or line end of a file name as `%22`, `%0D`, `%0A`, and a backslash
        // as itself (never as an escape).
        for character in header {
            if character == "\"" {
                inQuotes.toggle()
                current.append(character)
            } else if character == ";" && !inQuotes {
                items.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        items.append(current)
        for (index, item) in items.enumerated() {
            let trimmed = item.trimmingCharacters(in: .whitespaces)
            guard index > 0, let equals = trimmed.firstIndex(of: "=") else {
                if !trimmed.isEmpty || index == 0 { result.append((trimmed, "")) }
                continue
            }
            let name = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
            var value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            value = value.replacingOccurrences(of: "%22", with: "\"").replacingOccurrences(of: "%0D", with: "\r")
                .replacingOccurrences(of: "%0A", with: "\n")
            result.append((name, value))
        }
        return result
    }

    /// The first index of `needle` in `haystack` at or after `from` (memchr and memcmp: a body is
    /// megabytes of file).
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, from >= 0, haystack.count - from >= needle.count else { return nil }
        return haystack.withUnsafeBufferPointer { hay -> Int? in
            needle.withUnsafeBufferPointer { pin -> Int? in
                guard let base = hay.baseAddress, let first = pin.baseAddress else { return nil }
                let last = hay.count - pin.count
                var index = from
                while index <= last {
                    guard let hit = memchr(base + index, Int32(pin[0]), last - index + 1) else { return nil }
                    let at = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + at, first, pin.count) == 0 { return at }
                    index = at + 1
                }
                return nil
            }
        }
    }
}

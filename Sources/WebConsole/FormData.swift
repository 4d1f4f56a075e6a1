import Foundation

/// The fields of an `application/x-www-form-urlencoded` body or query (the last value of a name wins).
struct FormData: Sendable {
    private(set) var fields: [String: String] = [:]
    /// The files of a `multipart/form-data` form.
    private(set) var files: [UploadedFile] = []

    init(fields: [String: String], files: [UploadedFile]) {
        self.fields = fields
        self.files = files
    }

    init(_ text: String) {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            fields[name] = parts.count > 1 ? Self.decode(parts[1]) : ""
        }
    }

    subscript(_ name: String) -> String? { fields[name] }

    /// The value with surrounding white space removed, `nil` when empty.
    func text(_ name: String) -> String? {
        guard let value = fields[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
            return nil
        }
        return value
    }

    private static func decode(_ part: Substring) -> String {
        let spaced = part.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// `value` percent-encoded for a query string.
    static func encode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}

/// The cookies a request carries, by name.
func parseCookies(_ headers: [String]) -> [String: String] {
    var cookies: [String: String] = [:]
    for header in headers {
        for item in header.split(separator: ";") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            // The first of two same-named cookies is the more specific one; keep it.
            if cookies[name] == nil { cookies[name] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
    }
    return cookies
}

/// A path of this site to go back to after signing in or switching language: local, absolute, and
/// never `//host` (which a browser would take for another site).
func localPath(_ candidate: String?) -> String? {
    guard let candidate, candidate.hasPrefix("/"), !candidate.hasPrefix("//"), !candidate.contains("\\"),
        candidate.utf8.count <= 2000, !candidate.unicodeScalars.contains(where: { $0.value < 0x20 })
    else { return nil }
    return candidate
}

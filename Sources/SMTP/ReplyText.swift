import Foundation

/// The new text of a reply: what the person wrote above the quoted history and the signature.
///
/// Cut at the first of: an attribution line (`On … wrote:`, `Il … ha scritto:`, `Le … a écrit :`,
/// `… kirjoitti:`, `Am … schrieb …:`, also wrapped over two lines), an `-----Original Message-----`
/// separator (and its Italian, French, Finnish forms), an Outlook header block (`From:` followed within
/// a few lines by `Sent:`/`Date:`, in those languages too, or a line of underscores before it), or the
/// signature separator `-- `. Lines starting with `>` are dropped wherever they are; blank lines at
/// either end go.
public enum ReplyText {
    public static func strip(_ text: String) -> String {
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n", omittingEmptySubsequences: false
        )
        .map(String.init)
        var kept: [String] = []
        var index = 0
        scan: while index < lines.count {
            let line = lines[index]
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line == "-- " || trimmed == "--" { break scan }
            if isSeparator(trimmed) { break scan }
            if isAttribution(trimmed) { break scan }
            if index + 1 < lines.count,
                isAttribution(trimmed + " " + lines[index + 1].trimmingCharacters(in: .whitespaces)),
                !trimmed.isEmpty, startsAttribution(trimmed)
            {
                break scan
            }
            if isOutlookBlock(lines, at: index) { break scan }
            if trimmed.count >= 20, trimmed.allSatisfy({ $0 == "_" }),
                ((index + 1)..<min(lines.count, index + 4)).contains(where: { isOutlookBlock(lines, at: $0) })
            {
                break scan
            }
            if !trimmed.hasPrefix(">") { kept.append(line) }
            index += 1
        }
        while let first = kept.first, first.trimmingCharacters(in: .whitespaces).isEmpty { kept.removeFirst() }
        while let last = kept.last, last.trimmingCharacters(in: .whitespaces).isEmpty { kept.removeLast() }
        // Trailing blanks go; runs of empty lines shrink to one.
        var out: [String] = []
        for line in kept {
            let cleaned = String(line.reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
            if cleaned.isEmpty, out.last?.isEmpty == true { continue }
            out.append(cleaned)
        }
        return out.joined(separator: "\n")
    }

    private static let separators = [
        "original message", "messaggio originale", "message d'origine", "message d’origine", "message original",
        "alkuperäinen viesti", "ursprüngliche nachricht", "forwarded message",
    ]

    static func isSeparator(_ line: String) -> Bool {
        guard line.hasPrefix("---") || line.hasPrefix("- - -") else { return false }
        let words = line.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "- "))
        return separators.contains(words)
    }

    /// `On Mon, 7 Dec 2026 at 10:00, Ann <ann@example.com> wrote:` and its translations.
    static func isAttribution(_ line: String) -> Bool {
        let lower = line.lowercased()
        guard lower.hasSuffix(":") else { return false }
        let body = lower.dropLast().trimmingCharacters(in: .whitespaces)
        if body.hasPrefix("on "), body.hasSuffix(" wrote") { return true }
        if body.hasPrefix("il "), body.hasSuffix(" ha scritto") { return true }
        if body.hasPrefix("le "), body.hasSuffix(" a écrit") { return true }
        if body.hasSuffix(" kirjoitti") { return true }
        if body.hasPrefix("am "), body.contains(" schrieb ") || body.hasSuffix(" schrieb") { return true }
        if body.hasSuffix(" wrote") { return body.contains("@") }
        return false
    }

    static func startsAttribution(_ line: String) -> Bool {
        let lower = line.lowercased()
        return ["on ", "il ", "le ", "am "].contains { lower.hasPrefix($0) } || lower.contains("@")
    }

    private static let fromWords = ["from:", "da:", "de :", "de:", "lähettäjä:", "von:"]
    private static let sentWords = [
        "sent:", "date:", "inviato:", "data:", "envoyé :", "envoyé:", "date :", "lähetetty:", "gesendet:",
    ]

    /// An Outlook header block: `From: …` with `Sent: …` (or a translation) in the next few lines.
    static func isOutlookBlock(_ lines: [String], at index: Int) -> Bool {
        let lower = lines[index].trimmingCharacters(in: .whitespaces).lowercased()
        let plain = lower.replacingOccurrences(of: "*", with: "")
        guard fromWords.contains(where: { plain.hasPrefix($0) }) else { return false }
        for next in lines[(index + 1)...].prefix(4) {
            let candidate = next.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(
                of: "*", with: "")
            if sentWords.contains(where: { candidate.hasPrefix($0) }) { return true }
        }
        return false
    }
}

/// The console's words in one language: a catalogue file per language (`Labels+English.swift`, …),
/// each with the same keys (a test keeps them in step).
struct Labels: Sendable {
    var code: String
    var name: String
    var words: [String: String]

    static let all: [Labels] = [.english, .italian, .french, .finnish]
    static let fallback = Labels.english

    static func language(_ code: String) -> Labels? { all.first { $0.code == code } }

    subscript(_ key: String) -> String { words[key] ?? Labels.fallback.words[key] ?? key }

    /// The label of a value of a closed set (`status_open`), the value itself when none is known.
    func value(_ group: String, _ value: String) -> String { words[group + "_" + value] ?? value }

    /// The best supported language of an `Accept-Language` header (by `q`, then order), else English.
    static func negotiate(_ header: String?) -> Labels {
        guard let header else { return fallback }
        var choices: [(code: String, q: Double, index: Int)] = []
        for (index, item) in header.split(separator: ",").enumerated() {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = parts.first?.lowercased(), !tag.isEmpty else { continue }
            var q = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                q = Double(parameter.dropFirst(2)) ?? 0
            }
            let primary = String(tag.split(separator: "-").first ?? Substring(tag))
            choices.append((primary, q, index))
        }
        let ranked = choices.filter { $0.q > 0 }.sorted { $0.q != $1.q ? $0.q > $1.q : $0.index < $1.index }
        for choice in ranked {
            if let labels = language(choice.code) { return labels }
        }
        return fallback
    }
}

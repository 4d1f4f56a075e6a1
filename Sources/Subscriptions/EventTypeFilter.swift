/// Which event types a group or webhook takes: exact names (`message.posted`) and family patterns
/// (`thread.*`); no patterns at all takes every type.
public struct EventTypeFilter: Sendable, Hashable {
    public let patterns: [String]
    private let exact: Set<String>
    private let prefixes: [String]

    public init(_ patterns: [String]) {
        self.patterns = patterns
        exact = Set(patterns.filter { !$0.hasSuffix(".*") })
        prefixes = patterns.filter { $0.hasSuffix(".*") }.map { String($0.dropLast()) }
    }

    public func matches(_ type: String) -> Bool {
        if patterns.isEmpty || exact.contains(type) { return true }
        return prefixes.contains { type.hasPrefix($0) }
    }

    /// Whether a pattern names some of `known` (an exact type, or a family with at least one member).
    public static func isValid(_ pattern: String, known: [String]) -> Bool {
        if pattern.hasSuffix(".*") {
            let prefix = pattern.dropLast()
            return prefix.count > 1 && known.contains { $0.hasPrefix(prefix) }
        }
        return known.contains(pattern)
    }
}

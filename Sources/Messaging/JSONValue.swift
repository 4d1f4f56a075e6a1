import Foundation

/// A JSON document as a value, so upcasters can rewrite old payloads without knowing their types.
/// Read with `init(parsing:)` and written with `serialized()`, which keep every number as written;
/// it is deliberately not `Codable`, as a coder would read `1.0` as the integer `1` and write numbers
/// through `Double`.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number without fraction or exponent that fits in 64 bits.
    case integer(Int64)
    /// Any other number, kept as written so re-encoding does not change its form (`1.0` stays `1.0`).
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        get {
            guard case .object(let members) = self else { return nil }
            return members[key]
        }
        set {
            guard case .object(var members) = self else { return }
            members[key] = newValue
            self = .object(members)
        }
    }
}

/// A JSON number as its text (RFC 8259 grammar), so a payload read and written again keeps the number
/// as it was written: `1.0` does not become `1`, `1e3` does not become `1000`, and integers beyond 64
/// bits keep every digit.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible, ExpressibleByFloatLiteral {
    public let text: String

    init(unchecked text: String) { self.text = text }

    /// `nil` unless `text` is exactly one JSON number.
    public init?(_ text: String) {
        var text = text
        let valid = text.withUTF8 { bytes in
            var parser = JSONParser(bytes: UnsafeRawBufferPointer(bytes))
            return parser.number() != nil && parser.index == bytes.count
        }
        guard valid else { return nil }
        self.text = text
    }

    /// The shortest text that reads back as `value`; `nil` for infinities and NaN, which JSON cannot write.
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        text = "\(value)"
    }

    public init(floatLiteral value: Double) {
        precondition(value.isFinite, "JSON has no infinite numbers")
        text = "\(value)"
    }

    /// The nearest double (infinite when the exponent is beyond a double's range).
    public var doubleValue: Double { Double(text) ?? .nan }

    public var description: String { text }
}

import Foundation

/// A JSON document as a value, so upcasters can rewrite old payloads without knowing their types.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    /// A number without fraction or exponent that fits in 64 bits.
    case integer(Int64)
    /// Any other number, kept as written so re-encoding does not change its form (`1.0` stays `1.0`).
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            // Integers first: positions and sizes must not pass through Double.
            self = .integer(value)
        } else if let value = try? container.decode(Double.self), let number = JSONNumber(value) {
            self = .number(number)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value.doubleValue)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

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

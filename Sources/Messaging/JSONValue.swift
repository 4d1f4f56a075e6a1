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

    /// The number as an integer when it is exactly one (`1.0`, `1.50e1`, `-0`, `2E3`); `nil` when it
    /// has a fraction or lies beyond 64 bits. Worked out on the digits, so no value beyond a double's
    /// precision is rounded into an integer it is not.
    public var exactInteger: Int64? {
        let zero = UInt8(ascii: "0")
        var bytes = Array(text.utf8)[...]
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { bytes = bytes.dropFirst() }
        func isDigit(_ byte: UInt8) -> Bool { byte >= zero && byte <= UInt8(ascii: "9") }
        var digits: [UInt8] = []
        var exponent = 0
        while let byte = bytes.first, isDigit(byte) {
            digits.append(byte)
            bytes = bytes.dropFirst()
        }
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            while let byte = bytes.first, isDigit(byte) {
                digits.append(byte)
                exponent -= 1
                bytes = bytes.dropFirst()
            }
        }
        if let byte = bytes.first, byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            let negativeExponent = bytes.first == UInt8(ascii: "-")
            if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
            var written = 0
            // Beyond 10,000 the answer no longer changes: nil, or 0 for a zero.
            while let byte = bytes.first, isDigit(byte) {
                written = min(written * 10 + Int(byte - zero), 10_000)
                bytes = bytes.dropFirst()
            }
            exponent += negativeExponent ? -written : written
        }
        while digits.first == zero { digits.removeFirst() }
        if digits.isEmpty { return 0 }
        while exponent < 0 {
            guard digits.last == zero else { return nil }
            digits.removeLast()
            exponent += 1
        }
        guard digits.count + exponent <= 19 else { return nil }
        digits += repeatElement(zero, count: exponent)
        let magnitude = digits.reduce(UInt64(0)) { $0 * 10 + UInt64($1 - zero) }
        if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    public var description: String { text }
}

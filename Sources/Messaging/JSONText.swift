/// The one JSON string escaper of the wire formats (the envelope, the fast payload encoder, the API's
/// hand-written answers): `"` and `\` escaped, newline, carriage return and tab as short escapes,
/// other control characters as `\u00xx`; everything else, U+2028/2029 and all non-ASCII included, as
/// its UTF-8 bytes.
public enum JSONText {
    /// Appends `value` in quotes. With `shortEscapesOnly`, returns false (leaving `out` part written)
    /// at a control character that would need a `\u00xx` escape, for writers that must match another
    /// encoder's choice of escapes byte for byte.
    @discardableResult
    public static func appendString(_ value: String, to out: inout [UInt8], shortEscapesOnly: Bool = false) -> Bool {
        out.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
            case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0..<0x20:
                if shortEscapesOnly { return false }
                out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return true
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

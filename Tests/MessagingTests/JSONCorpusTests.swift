import Foundation
import Testing

@testable import Messaging

/// RFC 8259 conformance of the JSON reader, in the manner of JSONTestSuite: `y` cases must be read (as
/// the given value, when one is given), `n` cases must be refused. The cases are this project's own.
@Suite struct JSONCorpusTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static let accepted: [(name: String, text: [UInt8], value: JSONValue?)] = [
        ("y_empty_array", bytes("[]"), .array([])),
        ("y_empty_object", bytes("{}"), .object([:])),
        ("y_top_level_integer", bytes("1"), .integer(1)),
        ("y_top_level_string", bytes(#""a""#), .string("a")),
        ("y_top_level_null", bytes("null"), .null),
        ("y_top_level_false_with_space", bytes(" \t\r\nfalse \t\r\n"), .bool(false)),
        ("y_number_zero", bytes("[0]"), .array([.integer(0)])),
        ("y_number_minus_zero", bytes("[-0]"), .array([.number(JSONNumber("-0")!)])),
        ("y_number_negative", bytes("[-123]"), .array([.integer(-123)])),
        ("y_number_fraction", bytes("[1.5]"), .array([.number(1.5)])),
        ("y_number_zero_fraction", bytes("[1.0]"), .array([.number(JSONNumber("1.0")!)])),
        ("y_number_zero_point_zero", bytes("[0.0]"), .array([.number(JSONNumber("0.0")!)])),
        ("y_number_exponent", bytes("[1e2]"), .array([.number(JSONNumber("1e2")!)])),
        ("y_number_capital_exponent_plus", bytes("[1E+2]"), .array([.number(JSONNumber("1E+2")!)])),
        ("y_number_negative_exponent", bytes("[-1.5e-3]"), .array([.number(JSONNumber("-1.5e-3")!)])),
        ("y_number_zero_exponent", bytes("[0e0]"), .array([.number(JSONNumber("0e0")!)])),
        ("y_number_int64_max", bytes("[9223372036854775807]"), .array([.integer(.max)])),
        ("y_number_int64_min", bytes("[-9223372036854775808]"), .array([.integer(.min)])),
        ("y_number_beyond_int64", bytes("[9223372036854775808]"), .array([.number(JSONNumber("9223372036854775808")!)])),
        ("y_number_huge", bytes("[123456789012345678901234567890]"), .array([.number(JSONNumber("123456789012345678901234567890")!)])),
        ("y_number_huge_exponent", bytes("[1e400]"), .array([.number(JSONNumber("1e400")!)])),
        ("y_string_empty", bytes(#"[""]"#), .array([.string("")])),
        ("y_string_escapes", bytes(#"["\"\\\/\b\f\n\r\t"]"#), .array([.string("\"\\/\u{8}\u{C}\n\r\t")])),
        ("y_string_escaped_nul", bytes(#"["a\u0000b"]"#), .array([.string("a\u{0}b")])),
        ("y_string_escaped_letter", bytes(#"["\u00e9\u00C9"]"#), .array([.string("éÉ")])),
        ("y_string_surrogate_pair", bytes(#"["\ud83d\ude00"]"#), .array([.string("😀")])),
        ("y_string_surrogate_pair_uppercase", bytes(#"["\uD834\uDD1E"]"#), .array([.string("𝄞")])),
        ("y_string_noncharacter", bytes(#"["\uffff"]"#), .array([.string("\u{FFFF}")])),
        ("y_string_raw_utf8", bytes(#"["é 漢 😀"]"#), .array([.string("é 漢 😀")])),
        ("y_string_raw_line_separator", bytes("[\"\u{2028}\"]"), .array([.string("\u{2028}")])),
        ("y_string_raw_del", [0x5B, 0x22, 0x7F, 0x22, 0x5D], .array([.string("\u{7F}")])),
        ("y_object_nested", bytes(#"{"a":{"b":[{},[]]}}"#), .object(["a": .object(["b": .array([.object([:]), .array([])])])])),
        ("y_object_escaped_key", bytes(#"{"\u0061":1}"#), .object(["a": .integer(1)])),
        ("y_object_empty_key", bytes(#"{"":0}"#), .object(["": .integer(0)])),
        ("y_whitespace_everywhere", bytes(" [ 1 , { \"a\" : true } ] \n"), .array([.integer(1), .object(["a": .bool(true)])])),
        ("y_nesting_63", bytes(String(repeating: "[", count: 63) + String(repeating: "]", count: 63)), nil),
    ]

    static let refused: [(name: String, text: [UInt8])] = [
        ("n_empty", []),
        ("n_only_space", bytes(" \n")),
        ("n_number_leading_zero", bytes("[01]")),
        ("n_number_negative_leading_zero", bytes("[-01]")),
        ("n_number_double_zero", bytes("[00]")),
        ("n_number_leading_dot", bytes("[.5]")),
        ("n_number_negative_leading_dot", bytes("[-.5]")),
        ("n_number_trailing_dot", bytes("[1.]")),
        ("n_number_dot_exponent", bytes("[1.e3]")),
        ("n_number_exponent_without_digits", bytes("[1e]")),
        ("n_number_exponent_sign_only", bytes("[1e+]")),
        ("n_number_double_exponent", bytes("[1ee2]")),
        ("n_number_fraction_in_exponent", bytes("[1e2.5]")),
        ("n_number_two_dots", bytes("[1.2.3]")),
        ("n_number_plus", bytes("[+1]")),
        ("n_number_minus_only", bytes("[-]")),
        ("n_number_minus_space", bytes("[- 1]")),
        ("n_number_dot_only", bytes("[.]")),
        ("n_number_hex", bytes("[0x1]")),
        ("n_number_infinity", bytes("[Infinity]")),
        ("n_number_negative_infinity", bytes("[-Infinity]")),
        ("n_number_nan", bytes("[NaN]")),
        ("n_number_space_inside", bytes("[1 000]")),
        ("n_number_top_level_leading_zero", bytes("012")),
        ("n_number_top_level_trailing_dot", bytes("1.")),
        ("n_number_trailing_letter", bytes("[1a]")),
        ("n_string_lone_high_surrogate", bytes(#"["\ud800"]"#)),
        ("n_string_lone_low_surrogate", bytes(#"["\udc00"]"#)),
        ("n_string_high_surrogate_then_letter", bytes(#"["\ud800x"]"#)),
        ("n_string_high_surrogate_then_non_surrogate", bytes(#"["\ud800\u0041"]"#)),
        ("n_string_two_high_surrogates", bytes(#"["\ud800\ud800"]"#)),
        ("n_string_bad_escape", bytes(#"["\x"]"#)),
        ("n_string_escaped_apostrophe", bytes(#"["\'"]"#)),
        ("n_string_bad_hex", bytes(#"["\u00G0"]"#)),
        ("n_string_short_unicode_escape", bytes(#"["\u12"]"#)),
        ("n_string_unterminated", bytes(#"["a"#)),
        ("n_string_backslash_at_end", bytes(#"["\"#)),
        ("n_string_single_quotes", bytes("['a']")),
        ("n_string_raw_nul", [0x5B, 0x22, 0x00, 0x22, 0x5D]),
        ("n_string_raw_control", [0x5B, 0x22, 0x01, 0x22, 0x5D]),
        ("n_string_raw_tab", bytes("[\"\t\"]")),
        ("n_string_raw_newline", bytes("[\"a\nb\"]")),
        ("n_string_raw_newline_after_escape", bytes("[\"\\n\n\"]")),
        ("n_string_invalid_utf8", [0x5B, 0x22, 0xFF, 0x22, 0x5D]),
        ("n_string_truncated_utf8", [0x5B, 0x22, 0xC3, 0x22, 0x5D]),
        ("n_string_overlong_utf8", [0x5B, 0x22, 0xC0, 0xAF, 0x22, 0x5D]),
        ("n_string_utf8_encoded_surrogate", [0x5B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x5D]),
        ("n_string_invalid_utf8_after_escape", [0x5B, 0x22, 0x5C, 0x6E, 0xFF, 0x22, 0x5D]),
        ("n_key_raw_control", [0x7B, 0x22, 0x01, 0x22, 0x3A, 0x31, 0x7D]),
        ("n_key_invalid_utf8", [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]),
        ("n_key_unquoted", bytes("{a:1}")),
        ("n_key_number", bytes("{1:1}")),
        ("n_object_missing_colon", bytes(#"{"a" 1}"#)),
        ("n_object_missing_value", bytes(#"{"a":}"#)),
        ("n_object_key_only", bytes(#"{"a"}"#)),
        ("n_object_trailing_comma", bytes(#"{"a":1,}"#)),
        ("n_object_missing_comma", bytes(#"{"a":1 "b":2}"#)),
        ("n_object_unclosed", bytes(#"{"a":1"#)),
        ("n_object_extra_close", bytes(#"{"a":1}}"#)),
        ("n_object_repeated_key", bytes(#"{"a":1,"a":1}"#)),
        ("n_array_trailing_comma", bytes("[1,]")),
        ("n_array_leading_comma", bytes("[,1]")),
        ("n_array_double_comma", bytes("[1,,2]")),
        ("n_array_missing_comma", bytes("[1 2]")),
        ("n_array_unclosed", bytes("[")),
        ("n_array_close_only", bytes("]")),
        ("n_array_mismatched", bytes("[}")),
        ("n_two_values", bytes("[1][2]")),
        ("n_trailing_garbage", bytes("[1] x")),
        ("n_trailing_nul", [0x5B, 0x31, 0x5D, 0x00]),
        ("n_literal_truncated", bytes("tru")),
        ("n_literal_capital", bytes("True")),
        ("n_literal_extended", bytes("nulls")),
        ("n_literal_in_array_extended", bytes("[truex]")),
        ("n_byte_order_mark", [0xEF, 0xBB, 0xBF, 0x5B, 0x5D]),
        ("n_whitespace_form_feed", bytes("\u{0C}[]")),
        ("n_whitespace_vertical_tab", bytes("[\u{0B}1]")),
        ("n_whitespace_no_break_space", bytes("[\u{A0}1]")),
        ("n_comment", bytes("/* c */ []")),
        ("n_nesting_64", bytes(String(repeating: "[", count: 64) + String(repeating: "]", count: 64))),
        ("n_nesting_10000_objects", bytes(String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000))),
        ("n_nesting_10000_unclosed", bytes(String(repeating: "[", count: 10_000))),
    ]

    @Test func acceptsWhatJSONAllows() throws {
        for (name, text, value) in Self.accepted {
            let parsed = try? JSONValue(parsing: text)
            #expect(parsed != nil, "\(name) was refused")
            if let value { #expect(parsed == value, "\(name)") }
        }
    }

    @Test func refusesWhatJSONForbids() {
        for (name, text) in Self.refused {
            #expect(JSONValue.parse(text) == nil, "\(name) was accepted")
        }
    }

    /// The object walker of the fast decoders refuses the same keys.
    @Test func objectWalkerRefusesControlCharactersInKeys() {
        for text: [UInt8] in [[0x7B, 0x22, 0x01, 0x22, 0x3A, 0x31, 0x7D], Self.bytes("{\"a\tb\":1}")] {
            let walked = text.withUnsafeBytes { raw in
                var reader = JSONObjectReader(raw)
                return reader.forEachMember { _, member in member.value() != nil }
            }
            #expect(!walked)
        }
    }

    @Test func numbersKeepTheirFormThroughReencoding() throws {
        for text in ["1.0", "-0", "1e3", "1E+2", "-1.50e-3", "0.10", "123456789012345678901234567890", "1e400", "-9223372036854775808", "42"] {
            let document = "{\"n\":\(text),\"a\":[\(text)]}"
            let parsed = try JSONValue(parsing: Self.bytes(document))
            #expect(String(decoding: parsed.serialized(), as: UTF8.self) == "{\"a\":[\(text)],\"n\":\(text)}")
            #expect(JSONNumber(text) != nil || Int64(text) != nil, "\(text)")
        }
        for bad in ["01", "1.", ".5", "+1", "1 ", "", "1e", "NaN"] { #expect(JSONNumber(bad) == nil, "\(bad)") }
        #expect(JSONNumber(1.0 as Double)?.text == "1.0")
        #expect(JSONNumber(Double.infinity) == nil)
    }

    @Test func exactIntegersAreWorkedOutOnTheDigits() {
        let integers: [(String, Int64)] = [
            ("1.0", 1), ("-0", 0), ("0.000", 0), ("0e99999999999", 0), ("1.50e1", 15), ("2E3", 2000), ("100e-2", 1),
            ("-12.30e1", -123), ("12345678901234567.0", 12_345_678_901_234_567), ("9223372036854775807.0", .max),
            ("-9223372036854775808e0", .min), ("9.223372036854775807e18", .max),
        ]
        for (text, value) in integers { #expect(JSONNumber(text)?.exactInteger == value, "\(text)") }
        for text in [
            "1.5", "1e-1", "1.0000000000000001", "9223372036854775808.0", "-9223372036854775809e0", "1e19", "1e400",
            "123456789012345678901234567890", "1e99999999999",
        ] {
            #expect(JSONNumber(text)?.exactInteger == nil, "\(text)")
        }
    }

    @Test func serializedStringsReadBackUnchanged() throws {
        let text = "quote \" back \\ slash / nul \u{0} bell \u{7} tab \t line \n é 😀 \u{2028}"
        let value = JSONValue.object(["k \"\u{1}": .string(text), "b": .array([.null, .bool(true), .integer(-3)])])
        #expect(try JSONValue(parsing: value.serialized()) == value)
        let foundation = try JSONSerialization.jsonObject(with: Data(value.serialized())) as? [String: Any]
        #expect(foundation?["k \"\u{1}"] as? String == text)
    }

    /// An upcaster step rewrites a payload through this reader and writer: a number written `1.0`
    /// reaches the next step as `1.0`, not as the integer `1`.
    @Test func upcasterPathKeepsNumberForm() throws {
        let v1 = try JSONValue(parsing: Self.bytes(#"{"thread":"t","number":1,"author":"u","kind":"message","text":"x","attachments":[],"weight":1.0}"#))
        let v2 = Upcasters.step(.messagePosted, from: 1)!(v1)
        let written = String(decoding: v2.serialized(), as: UTF8.self)
        #expect(written.contains(#""weight":1.0"#))
        #expect(written.contains(#""format":"plain""#))
        #expect(written.contains(#""number":1,"#))
    }
}

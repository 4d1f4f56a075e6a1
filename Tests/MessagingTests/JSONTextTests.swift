import Foundation
import Messaging
import Testing

/// The one escaper of the wire formats writes what it always wrote: short escapes for quote,
/// backslash, newline, carriage return and tab, `\u00xx` for the other control characters, and every
/// other character as its UTF-8 bytes (U+2028/2029 included, as JSON allows).
@Suite struct JSONTextTests {
    func written(_ value: String, shortEscapesOnly: Bool = false) -> (String, Bool) {
        var out: [UInt8] = []
        let complete = JSONText.appendString(value, to: &out, shortEscapesOnly: shortEscapesOnly)
        return (String(decoding: out, as: UTF8.self), complete)
    }

    @Test func quotesBackslashesAndShortEscapes() {
        #expect(written(#"a"b\c/d"#).0 == #""a\"b\\c/d""#)
        #expect(written("\n\r\t").0 == #""\n\r\t""#)
        #expect(written("").0 == #""""#)
    }

    @Test func otherControlCharactersAsLowercaseUnicodeEscapes() {
        #expect(written("\u{0}\u{1}\u{8}\u{B}\u{C}\u{1F}").0 == #""\u0000\u0001\u0008\u000b\u000c\u001f""#)
        // DEL is not a control character for JSON.
        #expect(written("\u{7F}").0 == "\"\u{7F}\"")
    }

    @Test func lineAndParagraphSeparatorsAndNonASCIIAsTheirBytes() {
        let value = "\u{2028}\u{2029} é ü 漢字 😀"
        var out: [UInt8] = []
        JSONText.appendString(value, to: &out)
        #expect(out == [34] + Array(value.utf8) + [34])
    }

    @Test func shortEscapesOnlyRefusesWhatNeedsAUnicodeEscape() {
        #expect(written("line\nbreak\t\"q\"", shortEscapesOnly: true) == (#""line\nbreak\t\"q\"""#, true))
        #expect(written("bell\u{7}", shortEscapesOnly: true).1 == false)
    }

    @Test func everyControlCharacterReadsBack() throws {
        let value = String(decoding: (0..<0x20).map { UInt8($0) } + Array("\"\\/\u{2028}\u{2029}é😀".utf8), as: UTF8.self)
        var out: [UInt8] = []
        JSONText.appendString(value, to: &out)
        let read = try JSONSerialization.jsonObject(with: Data(out), options: .fragmentsAllowed) as? String
        #expect(read == value)
    }
}

import Messaging
import Foundation
import Testing

@Suite struct ISOTimeTests {
    /// Foundation's RFC 3339 text with milliseconds, for comparison.
    static func foundation(_ millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    @Test func formatsAsFoundationDoesAndParsesBack() {
        var generator = SystemRandomNumberGenerator()
        // From 1970 to 9999, and the edges of days, years and leap days.
        var samples: [Int64] = [0, 999, 1000, 86_399_999, 86_400_000, 951_782_400_000, 951_868_799_999, 253_402_300_799_999]
        for _ in 0..<2000 { samples.append(Int64.random(in: 0...253_402_300_799_999, using: &generator)) }
        for millis in samples {
            let text = ISOTime.format(millis: millis)
            #expect(text == Self.foundation(millis), "\(millis)")
            #expect(ISOTime.parse(text) == millis, "\(text)")
        }
    }

    @Test func timesBefore1970AndAfter9999() {
        #expect(ISOTime.format(millis: -1) == "1969-12-31T23:59:59.999Z")
        #expect(ISOTime.format(millis: -86_400_001) == "1969-12-30T23:59:59.999Z")
        #expect(ISOTime.parse(ISOTime.format(millis: -86_400_001)) == -86_400_001)
        #expect(ISOTime.format(millis: 253_402_300_800_000) == "10000-01-01T00:00:00.000Z")
    }
}

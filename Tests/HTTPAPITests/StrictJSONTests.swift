import Testing

@testable import HTTPAPI

/// Request bodies read by the strict reader: integer fields take only numbers that are integers.
@Suite struct StrictJSONTests {
    struct Limits: Decodable, Equatable {
        var count: Int
        var size: Int64
    }

    @Test func integerFieldsTakeExactIntegersOnly() throws {
        #expect(try StrictJSON.decode(Limits.self, from: Array(#"{"count":1.0,"size":12345678901234567.0}"#.utf8))
            == Limits(count: 1, size: 12_345_678_901_234_567))
        #expect(try StrictJSON.decode(Limits.self, from: Array(#"{"count":2E1,"size":-0}"#.utf8)) == Limits(count: 20, size: 0))
        for body in [#"{"count":1.5,"size":1}"#, #"{"count":1,"size":1.0000000000000001}"#, #"{"count":1,"size":1e19}"#] {
            #expect(throws: (any Error).self, "\(body)") { try StrictJSON.decode(Limits.self, from: Array(body.utf8)) }
        }
    }
}

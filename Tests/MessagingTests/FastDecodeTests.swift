import Foundation
import Testing

@testable import Messaging

/// The projectors' fast decoding must agree with the general decoder on everything it accepts.
@Suite struct FastDecodeTests {
    static let texts = [
        "plain", "", "line\nbreak \"quoted\" back\\slash /slash tab\t", "é ü 漢字 😀", "\u{1}\u{1F}", String(repeating: "x", count: 5000),
    ]

    @Test func messagePostedAgreesWithJSONDecoder() throws {
        for (i, text) in Self.texts.enumerated() {
            let attachments = i.isMultiple(of: 2) ? [] : [Attachment(name: "a \"b\".pdf", contentType: "application/pdf", size: 12, sha256: String(repeating: "0", count: 64))]
            let event = Event.messagePosted(
                MessagePosted(thread: ThreadID("t-\(i)"), number: i + 1, author: UserID("u-\(i)"), kind: .task, format: .markdown, text: text, attachments: attachments))
            let encoded = EventCodec.encode(event)
            let direct = EventCodec.decodeDirect(.messagePosted, encoded.data)
            #expect(direct == event)
            #expect(try EventCodec.decode(encoded) == event)
            #expect(try EventCodec.decodePayload(.messagePosted, from: Data(encoded.data)) == event)
        }
    }

    @Test func readMarkerAgreesWithJSONDecoder() throws {
        let event = Event.readMarkerMoved(ReadMarkerMoved(thread: "t", user: "u", upTo: 7))
        let encoded = EventCodec.encode(event)
        #expect(EventCodec.decodeDirect(.readMarkerMoved, encoded.data) == event)
    }

    @Test func unexpectedPayloadsFallBack() throws {
        // Unknown members, missing members, wrong types and escaped keys all leave the fast path.
        for payload in [
            #"{"thread":"t","user":"u","upTo":1,"extra":true}"#, #"{"thread":"t","user":"u"}"#,
            #"{"thread":"t","user":"u","upTo":"1"}"#, #"{"thr\u0065ad":"t","user":"u","upTo":1}"#, #"{"thread":"t","user":"u","upTo":1"#,
        ] {
            #expect(EventCodec.decodeDirect(.readMarkerMoved, Array(payload.utf8)) == nil)
        }
        // The general path still decodes what JSON allows (escaped keys, extra members).
        let escaped = try EventCodec.decode(type: "read_marker.moved", schemaVersion: 1, data: Array(#"{"thr\u0065ad":"t","user":"u","upTo":1}"#.utf8))
        #expect(escaped == .readMarkerMoved(ReadMarkerMoved(thread: "t", user: "u", upTo: 1)))
    }

    @Test func parserReadsWhatJSONSerializationReads() throws {
        let text = #"{"a":[1,-2,3.5,1e3,true,false,null],"b":{"c":"\u00e9\ud83d\ude00"},"d":""}"#
        let parsed = try #require(JSONValue.parse(Array(text.utf8)))
        #expect(parsed == .object([
            "a": .array([.integer(1), .integer(-2), .number(3.5), .number(1000), .bool(true), .bool(false), .null]),
            "b": .object(["c": .string("é😀")]), "d": .string(""),
        ]))
        for bad in ["{", "[1,]", #"{"a" 1}"#, "tru", #""\x""#, "1 2"] {
            #expect(JSONValue.parse(Array(bad.utf8)) == nil)
        }
    }
}

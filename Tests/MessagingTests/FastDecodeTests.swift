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
            // Who it concerns and its template vary too: absent, with and without a ref.
            let concerning: Concerning? =
                switch i % 3 {
                case 0: nil
                case 1: Concerning(kind: .company, name: text)
                default: Concerning(kind: .person, name: "Maria \"M\" Rossi", ref: text)
                }
            let event = Event.messagePosted(
                MessagePosted(
                    thread: ThreadID("t-\(i)"), number: i + 1, author: UserID("u-\(i)"), kind: .task, format: .markdown, text: text,
                    attachments: attachments, concerning: concerning, template: i.isMultiple(of: 2) ? nil : text))
            let encoded = EventCodec.encode(event)
            let direct = EventCodec.decodeDirect(.messagePosted, encoded.data)
            #expect(direct == event)
            #expect(try EventCodec.decode(encoded) == event)
            #expect(try EventCodec.decodePayload(.messagePosted, from: Data(encoded.data)) == event)
        }
    }

    @Test func threadOpenedAgreesWithJSONDecoder() throws {
        for (i, title) in Self.texts.enumerated() {
            let event = Event.threadOpened(
                ThreadOpened(
                    thread: ThreadID("t-\(i)"), subject: Subject(kind: "contract", ref: title), title: title,
                    category: i.isMultiple(of: 2) ? nil : CategoryID("c-\(i)"), priority: Priority.allCases[i % Priority.allCases.count],
                    type: ThreadType.allCases[i % ThreadType.allCases.count],
                    importance: Importance.allCases[i % Importance.allCases.count], openedBy: UserID("u-\(i)"),
                    participants: (0...i).map { UserID("p-\($0)") }, structures: i % 3 == 0 ? [] : [StructureID("s-\(i)")],
                    roles: i % 3 == 0 ? nil : (i % 3 == 1 ? [] : [Role("r-\(i)"), Role("r")])))
            let encoded = EventCodec.encode(event)
            let direct = EventCodec.decodeDirect(.threadOpened, encoded.data)
            #expect(direct == event)
            #expect(try EventCodec.decodePayload(.threadOpened, from: Data(encoded.data)) == event)
        }
        // What the direct reader leaves to the general decoder: an explicit null, an unknown member.
        let base = #"{"importance":"normal","openedBy":"u","participants":["u"],"priority":"normal","structures":[],"#
            + #""subject":{"kind":"k","ref":"r"},"thread":"t","title":"T","type":"message""#
        for extra in [#","category":null"#, #","roles":null"#, #","later":1"#] {
            let data = Array((base + extra + "}").utf8)
            #expect(EventCodec.decodeDirect(.threadOpened, data) == nil)
            #expect(try EventCodec.decode(type: "thread.opened", schemaVersion: EventType.threadOpened.latestSchemaVersion, data: data)
                == EventCodec.decodePayload(.threadOpened, from: Data(data)))
        }
    }

    @Test func readMarkerAgreesWithJSONDecoder() throws {
        let event = Event.readMarkerMoved(ReadMarkerMoved(thread: "t", user: "u", upTo: 7))
        let encoded = EventCodec.encode(event)
        #expect(EventCodec.decodeDirect(.readMarkerMoved, encoded.data) == event)
    }

    @Test func directEncodingIsWhatTheGeneralEncoderWrites() throws {
        var generator = SystemRandomNumberGenerator()
        // Every ASCII byte (controls included) and some wider characters, in random strings.
        let alphabet = (0..<128).map { Character(Unicode.Scalar(UInt8($0))) } + ["é", "漢", "😀", "\u{2028}", "/"]
        var texts = Self.texts
        for _ in 0..<300 {
            let length = Int.random(in: 0...40, using: &generator)
            texts.append(String((0..<length).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        for (i, text) in texts.enumerated() {
            let attachments = i.isMultiple(of: 3) ? [Attachment(name: text, contentType: "text/plain", size: Int64(i), sha256: String(repeating: "a", count: 64))] : []
            let events: [Event] = [
                .messagePosted(MessagePosted(thread: ThreadID("t/\(i)"), number: i, author: UserID(text), kind: .message, format: .plain, text: text, attachments: attachments)),
                .messagePosted(
                    MessagePosted(
                        thread: "t", number: i, author: "u", text: "x", concerning: Concerning(kind: .person, name: text, ref: text),
                        template: text)),
                .readMarkerMoved(ReadMarkerMoved(thread: ThreadID(text), user: "u", upTo: i)),
            ]
            for event in events {
                let general = Array(try EventCodec.encodePayload(of: event))
                if let direct = EventCodec.encodeDirect(event) {
                    #expect(direct == general, "\(String(decoding: direct, as: UTF8.self)) vs \(String(decoding: general, as: UTF8.self))")
                } else {
                    // Only text with control characters that have no short escape leaves the direct path.
                    #expect(text.utf8.contains { $0 < 0x20 && ![0x09, 0x0A, 0x0D].contains($0) })
                }
                #expect(EventCodec.encode(event).data == general)
            }
        }
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
            "a": .array([.integer(1), .integer(-2), .number(3.5), .number(JSONNumber("1e3")!), .bool(true), .bool(false), .null]),
            "b": .object(["c": .string("é😀")]), "d": .string(""),
        ]))
        for bad in ["{", "[1,]", #"{"a" 1}"#, "tru", #""\x""#, "1 2"] {
            #expect(JSONValue.parse(Array(bad.utf8)) == nil)
        }
    }

    @Test func parserRefusesRepeatedKeysAtEveryDepthAndNamesThem() throws {
        let cases: [(String, String)] = [
            (#"{"body":"a","body":"b"}"#, "body"),
            (#"{"body":"a","x":1,"body":"a"}"#, "body"),
            (#"{"a":{"b":1,"c":2,"b":1}}"#, "a.b"),
            (#"{"items":[{"n":1},{"n":1,"n":2}]}"#, "items[1].n"),
            (#"[[{"k":null,"k":null}]]"#, "[0][0].k"),
            (#"{"a":[{"b":{"c":[0,{"d":1,"d":1}]}}]}"#, "a[0].b.c[1].d"),
            (#"{"\u0062ody":"a","body":"b"}"#, "body"),
        ]
        for (text, path) in cases {
            #expect(throws: JSONParseError.duplicateKey(path), "\(text)") { try JSONValue(parsing: Array(text.utf8)) }
            #expect(JSONValue.parse(Array(text.utf8)) == nil)
        }
        // The same key in sibling objects is no repeat; malformed text stays malformed.
        let siblings = try JSONValue(parsing: Array(#"{"a":{"k":1},"b":{"k":2},"c":[{"k":3},{"k":4}]}"#.utf8))
        #expect(siblings["b"] == .object(["k": .integer(2)]))
        #expect(throws: JSONParseError.malformed) { try JSONValue(parsing: Array(#"{"a":1,"a""#.utf8)) }
    }
}

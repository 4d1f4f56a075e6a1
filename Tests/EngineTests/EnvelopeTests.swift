import Engine
import EventLog
import Testing

/// The envelope's bytes are the outside contract: fixed key order, the payload spliced in as stored.
@Suite struct EnvelopeTests {
    func event(data: [UInt8], purged: Bool = false) -> RecordedEvent {
        RecordedEvent(
            position: 7, stream: "thread-1", version: 2, type: "message.posted", schemaVersion: 2,
            timeMillis: 1_795_428_000_123, actor: "user-1", correlationID: "c\"1\n\u{1}", commandID: "cmd",
            data: data, isPurged: purged, payloadDigest: [], chainHash: [], previousInStream: 0)
    }

    @Test func envelopeBytes() {
        let head =
            #"{"position":7,"stream":"thread-1","version":2,"type":"message.posted","schemaVersion":2,"#
            + #""time":"2026-11-23T10:00:00.123Z","actor":"user-1","correlationId":"c\"1\n\u0001""#
        #expect(String(decoding: event(data: Array(#"{"text":"é"}"#.utf8)).envelopeJSON(), as: UTF8.self)
            == head + #","data":{"text":"é"}}"#)
        #expect(String(decoding: event(data: []).envelopeJSON(), as: UTF8.self) == head + #","data":null}"#)
        #expect(
            String(decoding: event(data: [], purged: true).envelopeJSON(), as: UTF8.self)
                == head + #","purged":true,"data":null}"#)
        var appended = Array("x".utf8)
        event(data: Array("{}".utf8)).appendEnvelope(to: &appended)
        #expect(appended == Array("x".utf8) + event(data: Array("{}".utf8)).envelopeJSON())
    }
}

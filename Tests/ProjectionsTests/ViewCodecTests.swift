import Foundation
import Messaging
import Projections
import Testing

@Suite struct ViewCodecTests {
    @Test("thread states, inbox rows and audiences survive the binary codec unchanged")
    func roundTrip() throws {
        var state = ThreadState(
            id: "t-1", subject: Subject(kind: "ticket", ref: "TT4"), title: "Ünïcödé title", category: "hr", priority: .urgent,
            type: .clientRemark, importance: .high, openedBy: "sam", openedAtMillis: -5, openedAtPosition: 9,
            participants: ["sam", "hana"], structures: ["circle"], status: .waiting, handler: "hana", blocked: true,
            messages: [], readMarkers: ["sam": 2, "hana": 1], lastActivityMillis: 1_800_000_000_123, lastPosition: 1 << 40,
            version: 12, memberwise: ())
        for n in 1...3 {
            state.messages.append(
                PostedMessage(
                    number: n, author: n == 2 ? "hana" : "sam", kind: .message, format: .plain, text: "m\(n) 😀\n",
                    attachments: n == 3 ? [Attachment(name: "x.pdf", contentType: "application/pdf", size: 1 << 33, sha256: "ab")] : [],
                    timeMillis: Int64(n) * 1000, position: UInt64(n) + 100,
                    concerning: n == 1 ? nil : Concerning(kind: n == 2 ? .person : .company, name: "Maria Rossi", ref: n == 2 ? "EMP-1" : nil),
                    template: n == 3 ? "received" : nil, memberwise: ()))
        }
        let bytes = ViewCodec.encode(state)
        #expect(try bytes.withUnsafeBytes { try ViewCodec.decodeThread($0) } == state)
        for message in state.messages {
            #expect(try ViewCodec.encode(message).withUnsafeBytes { try ViewCodec.decodeMessage($0) } == message)
        }

        let directory = Directory()
        let row = InboxRow(thread: state, for: "sam", in: directory)
        #expect(try ViewCodec.encode(row).withUnsafeBytes { try ViewCodec.decodeInboxRow($0) } == row)
        let audience = AudienceRow(activityMillis: 42, users: ["a", "b"])
        #expect(try ViewCodec.encode(audience).withUnsafeBytes { try ViewCodec.decodeAudience($0) } == audience)

        // Truncated or foreign bytes are refused, never misread.
        for cut in [0, 1, bytes.count / 2, bytes.count - 1] {
            #expect(throws: ViewCodecError.self) { try Array(bytes.prefix(cut)).withUnsafeBytes { try ViewCodec.decodeThread($0) } }
        }
    }
}

import Foundation
import Messaging
import Testing

@Suite struct PurgeSpecs {
    let w = World.self

    private func attachment(_ name: String, _ sha256: String) -> Messaging.Attachment {
        Messaging.Attachment(name: name, contentType: "application/pdf", size: 10, sha256: sha256)
    }

    @Test func aPurgeNamesTheThreadsAttachmentsSortedAndUnique() {
        let a = String(repeating: "aa", count: 32)
        let b = String(repeating: "bb", count: 32)
        let history = w.directory + w.opened + [
            .messagePosted(
                MessagePosted(
                    thread: w.thread, number: 2, author: w.client, text: "scans",
                    attachments: [attachment("b.pdf", b), attachment("a.pdf", a)])),
            .messagePosted(
                MessagePosted(thread: w.thread, number: 3, author: w.handler, text: "again", attachments: [attachment("a2.pdf", a)])),
        ]
        Spec.given(history)
            .when(.purgeThread(thread: w.thread, reason: "retention"), by: .admin)
            .then([
                .threadPurged(
                    ThreadPurged(
                        thread: w.thread, subject: Subject(kind: "request", ref: "D-1187"), category: nil,
                        openedBy: w.client, participants: [w.client], structures: [w.circle], reason: "retention",
                        attachments: [a, b]))
            ])
    }

    @Test func aThreadWithoutAttachmentsIsPurgedWithNone() throws {
        let outcome = Spec.given(w.directory + w.opened).when(.purgeThread(thread: w.thread, reason: "r"), by: .admin)
        guard case .success(let events) = outcome.result, case .threadPurged(let purged)? = events.first else {
            Issue.record("no purge: \(outcome.result)")
            return
        }
        #expect(purged.attachments == [])
        #expect(EventType.threadPurged.latestSchemaVersion == 2)
    }

    @Test func aVersionOnePurgeWithoutAttachmentsDecodesWithNone() throws {
        let v1 = #"{"openedBy":"c1","participants":["c1"],"reason":"retention","structures":[],"subject":{"kind":"request","ref":"D-1"},"thread":"t1"}"#
        let event = try EventCodec.decode(type: "thread.purged", schemaVersion: 1, data: Array(v1.utf8))
        guard case .threadPurged(let purged) = event else {
            Issue.record("decoded \(event)")
            return
        }
        #expect(purged.attachments == [])
        #expect(purged.thread == "t1")
        // Written again, it is a v2 payload that names its (no) attachments and reads back the same.
        let encoded = EventCodec.encode(event)
        #expect(encoded.schemaVersion == 2)
        #expect(String(decoding: encoded.data, as: UTF8.self).contains(#""attachments":[]"#))
        #expect(try EventCodec.decode(encoded) == event)
    }
}

@Suite struct PurgedRolesSpecs {
    let w = World.self

    @Test func theHoldersOfARoleAddedAtOpeningStillLearnOfThePurge() {
        let open = OpenThread(subjectKind: "request", subjectRef: "R1", title: "Check", roles: ["supervisor"])
        let opened = Spec.given(w.directory).when(.openThread(open), by: .user(w.handler), newID: "t9").then([
            .threadOpened(
                ThreadOpened(
                    thread: "t9", subject: Subject(kind: "request", ref: "R1"), title: "Check", category: nil,
                    priority: .normal, type: .message, importance: .normal, openedBy: w.handler,
                    participants: [w.handler], structures: [], roles: ["supervisor"]))
        ])
        let purged = opened.when(.purgeThread(thread: "t9", reason: "retention"), by: .admin).then([
            .threadPurged(
                ThreadPurged(
                    thread: "t9", subject: Subject(kind: "request", ref: "R1"), category: nil, openedBy: w.handler,
                    participants: [w.handler], structures: [], reason: "retention", roles: ["supervisor"]))
        ])
        // Folded from the purge alone (the earlier payloads erased), the roles are still there.
        let purge = purged.history.filter { $0.event.stream == StreamName.thread("t9") }.last!
        let thread = ThreadState.fold([purge])!
        #expect(thread.isPurged)
        #expect(thread.roles == ["supervisor"])
        #expect(Access.isHandler(w.supervisor, of: thread, in: purged.directory))
        // So the role's holder is told the thread was purged, not that it does not exist.
        purged.when(.postMessage(thread: "t9", message: w.message("still there?")), by: .user(w.supervisor))
            .thenRefused(.threadPurged("t9"))
        purged.when(.postMessage(thread: "t9", message: w.message("still there?")), by: .user(w.payroll))
            .thenRefused(.threadNotFound("t9"))
    }
}

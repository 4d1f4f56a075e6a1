import Engine
import EventLog
import Foundation
import Messaging
import Testing

@Suite("A purged thread over HTTP")
struct PurgeTests {
    @Test("readers get 410 thread_purged, outsiders 404; posting is refused; the event stream shows the purge")
    func purgedThread() async throws {
        try await withHarness(readKind: .projected) { harness in
            let cast = try await harness.seed()
            let purge = try await harness.handler.handle(
                .purgeThread(thread: ThreadID(cast.thread), reason: "retention test"), actor: .admin)

            let read = try await harness.call(.get, "/v1/threads/\(cast.thread)?minPosition=\(purge.position)", token: cast.bob)
            #expect(read.status == 410)
            #expect((read.json["error"] as? [String: Any])?["code"] as? String == "thread_purged")
            let outsider = try await harness.call(.get, "/v1/threads/\(cast.thread)", token: cast.eve)
            #expect(outsider.status == 404)

            let before = try harness.lastPosition()
            let post = try await harness.call(.post, "/v1/threads/\(cast.thread)/messages", token: cast.bob, body: #"{"body":"hi"}"#)
            #expect(post.status == 410)
            #expect(try harness.lastPosition() == before)

            let inbox = try await harness.call(.get, "/v1/inbox", token: cast.bob)
            #expect((inbox.json["items"] as? [Any])?.isEmpty == true)

            let events = try await harness.call(.get, "/v1/events?from=1&limit=1000", token: cast.service)
            let types = (events.json["events"] as? [[String: Any]])?.compactMap { $0["type"] as? String } ?? []
            #expect(types.last == "thread.purged")
        }
    }
}

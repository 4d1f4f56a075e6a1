import Foundation
import Testing

/// Every read reflects every write acknowledged before it arrived, whoever wrote it; positions that
/// can never be reached are refused at once.
@Suite("Consistent reads")
struct ConsistentReadTests {
    @Test("another user's acknowledged write is in the very next read of every read route")
    func othersWritesAreSeen() async throws {
        // Projections paced far apart: only a read's own wait for the head can make it current.
        try await withHarness(readKind: .projected, projectionInterval: .seconds(30)) { h in
            let cast = try await h.seed()
            for round in 1...20 {
                // A new ticket by bob: ann handles it (default handler role) and must find it at once.
                var reply = try await h.call(
                    .post, "/v1/threads", token: cast.bob,
                    body: #"{"subject":{"kind":"ticket"},"title":"Round \#(round)","body":"Help \#(round)"}"#)
                #expect(reply.status == 201)
                let ticket = try #require(reply.json["id"] as? String)
                reply = try await h.call(.get, "/v1/threads/\(ticket)", token: cast.ann)
                #expect(reply.status == 200, "round \(round): \(reply.text)")
                reply = try await h.call(.get, "/v1/inbox", token: cast.ann)
                let items = reply.json["items"] as? [[String: Any]] ?? []
                #expect(items.first?["id"] as? String == ticket, "round \(round)")
                reply = try await h.call(.post, "/v1/threads/\(ticket)/messages", token: cast.ann, body: #"{"body":"On it"}"#)
                #expect(reply.status == 201)
                reply = try await h.call(.get, "/v1/unread", token: cast.bob)
                let threads = reply.json["threads"] as? [[String: Any]] ?? []
                #expect(threads.contains { $0["id"] as? String == ticket && $0["unread"] as? Int == 1 }, "round \(round)")
            }
        }
    }

    @Test("a minPosition beyond the log's head is refused at once; one within it is served")
    func unreachablePosition() async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            let head = try h.lastPosition()
            for path in ["/v1/inbox", "/v1/unread", "/v1/threads/\(cast.thread)"] {
                let started = ContinuousClock.now
                var reply = try await h.call(.get, "\(path)?minPosition=\(head + 19_307_295)", token: cast.bob)
                #expect(reply.status == 422, "\(path)")
                #expect(reply.errorCode == "invalid_parameter", "\(path)")
                // Well under the 5 s a read waits for a reachable position (a bound for a busy machine).
                #expect(ContinuousClock.now - started < .seconds(4), "\(path) answered without waiting")
                reply = try await h.call(.get, "\(path)?minPosition=\(head)", token: cast.bob)
                #expect(reply.status == 200, "\(path): \(reply.text)")
            }
        }
    }

    @Test("a write that appends nothing answers the log's head as its position")
    func positionOfAWriteThatAppendsNothing() async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            var reply = try await h.call(.post, "/v1/threads/\(cast.thread)/read", token: cast.bob, body: #"{"upTo":1}"#)
            #expect(reply.status == 200)
            let head = try h.lastPosition()
            // A backward or repeated move records nothing.
            reply = try await h.call(.post, "/v1/threads/\(cast.thread)/read", token: cast.bob, body: #"{"upTo":1}"#)
            #expect(reply.status == 200)
            #expect(try h.lastPosition() == head)
            #expect(reply.position == head)
            #expect((reply.position ?? 0) >= 1)
        }
    }
}

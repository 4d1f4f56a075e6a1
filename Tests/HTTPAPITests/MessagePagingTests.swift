import Foundation
import Testing

@Suite("Paged thread messages")
struct MessagePagingTests {
    private func numbers(_ reply: Reply) -> [Int] {
        (reply.json["messages"] as? [[String: Any]] ?? []).compactMap { $0["number"] as? Int }
    }

    private func page(_ reply: Reply) -> [String: Any] { reply.json["page"] as? [String: Any] ?? [:] }

    @Test("a long thread answers its newest 100 messages by default and pages both ways", arguments: [ReadKind.projected, .logFold])
    func pagesBothWays(readKind: ReadKind) async throws {
        try await withHarness(readKind: readKind) { h in
            let cast = try await h.seed()
            let thread = "/v1/threads/\(cast.thread)"
            // The opening message is number 1; 249 more make 250.
            var position: UInt64 = 0
            for index in 2...250 {
                let reply = try await h.call(
                    .post, "\(thread)/messages", token: index.isMultiple(of: 2) ? cast.ann : cast.bob,
                    body: #"{"body":"message \#(index)"}"#)
                #expect(reply.status == 201)
                position = reply.position ?? position
            }
            let first = try await h.call(.get, "\(thread)?minPosition=\(position)", token: cast.bob)
            #expect(first.status == 200, "\(first.text)")
            #expect(numbers(first) == Array(151...250))
            #expect(page(first)["limit"] as? Int == 100)
            #expect(page(first)["hasOlder"] as? Bool == true)
            #expect(page(first)["hasNewer"] as? Bool == false)
            #expect(page(first)["before"] as? Int == 151)
            #expect(page(first)["after"] == nil)
            #expect((first.json["thread"] as? [String: Any])?["messageCount"] as? Int == 250)
            // Walking backwards with `before` until there is nothing older.
            var seen = numbers(first)
            var before = page(first)["before"] as? Int
            while let cursor = before {
                let older = try await h.call(.get, "\(thread)?limit=70&before=\(cursor)", token: cast.bob)
                #expect(older.status == 200)
                #expect(numbers(older).count <= 70)
                #expect(page(older)["hasNewer"] as? Bool == true)
                seen = numbers(older) + seen
                before = page(older)["before"] as? Int
            }
            #expect(seen == Array(1...250))
            // Walking forwards with `after` from the start.
            var forward: [Int] = []
            var after: Int? = 0
            while let cursor = after {
                let newer = try await h.call(.get, "\(thread)?limit=200&after=\(cursor)", token: cast.ann)
                #expect(newer.status == 200)
                forward += numbers(newer)
                after = page(newer)["after"] as? Int
            }
            #expect(forward == Array(1...250))
            let middle = try await h.call(.get, "\(thread)?limit=5&after=10", token: cast.ann)
            #expect(numbers(middle) == [11, 12, 13, 14, 15])
            #expect(page(middle)["hasOlder"] as? Bool == true)
            #expect(page(middle)["hasNewer"] as? Bool == true)
            #expect(page(middle)["before"] as? Int == 11)
            #expect(page(middle)["after"] as? Int == 15)
            let beyond = try await h.call(.get, "\(thread)?after=999", token: cast.ann)
            #expect(numbers(beyond) == [])
            #expect(page(beyond)["hasOlder"] as? Bool == true)
            #expect(page(beyond)["before"] as? Int == 251)
            // Invalid values: 422 invalid_parameter.
            for query in ["limit=0", "limit=201", "limit=x", "before=-1", "after=abc", "before=5&after=2", "limit="] {
                let reply = try await h.call(.get, "\(thread)?\(query)", token: cast.bob)
                #expect(reply.status == 422, "\(query): \(reply.text)")
                #expect(reply.errorCode == "invalid_parameter", "\(query)")
            }
        }
    }
}

/// Every message of a thread the caller may see, oldest first, read page by page with `after`.
func allMessages(port: Int, thread: String, token: String) async throws -> [[String: Any]] {
    var messages: [[String: Any]] = []
    var after: Int? = 0
    while let cursor = after {
        let reply = try await send(port: port, .get, "/v1/threads/\(thread)?limit=200&after=\(cursor)", token: token)
        guard reply.status == 200 else { throw TestFailure("thread page: \(reply.status) \(reply.text.prefix(300))") }
        messages += reply.json["messages"] as? [[String: Any]] ?? []
        after = (reply.json["page"] as? [String: Any])?["after"] as? Int
    }
    return messages
}

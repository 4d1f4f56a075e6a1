import Foundation
import Messaging
import Testing

@Suite("Marking messages as tasks over HTTP")
struct MessageKindTests {
    private func kinds(_ reply: Reply) -> [Int: String] {
        var kinds: [Int: String] = [:]
        for message in reply.json["messages"] as? [[String: Any]] ?? [] {
            if let number = message["number"] as? Int { kinds[number] = message["kind"] as? String }
        }
        return kinds
    }

    private func ids(_ reply: Reply) -> [String] {
        (reply.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    @Test("a handler marks a message as a task and back; the view and the inbox's kind filter follow; refusals append nothing",
          arguments: [ReadKind.projected, .logFold])
    func markAndUnmark(readKind: ReadKind) async throws {
        try await withHarness(readKind: readKind) { h in
            let cast = try await h.seed()
            let thread = "/v1/threads/\(cast.thread)"
            let marked = try await h.call(.post, "\(thread)/messages/1/kind", token: cast.ann, body: #"{"kind":"task"}"#)
            #expect(marked.status == 200, "\(marked.text)")
            #expect(marked.json["kind"] as? String == "task")
            #expect(marked.json["number"] as? Int == 1)
            #expect(marked.json["id"] as? String == "\(cast.thread)/1")
            let position = try #require(marked.position)
            let events = try h.store.read(from: position, limit: 1)
            #expect(events.first?.type == "message.kind_changed")
            for token in [cast.bob, cast.ann] {
                let view = try await h.call(.get, "\(thread)?minPosition=\(position)", token: token)
                #expect(kinds(view)[1] == "task", "\(view.text)")
                #expect(ids(try await h.call(.get, "/v1/inbox?kind=task&minPosition=\(position)", token: token)) == [cast.thread])
            }
            // Refusals: each a 4xx error and nothing appended.
            let head = try h.lastPosition()
            let refusals: [(String, String, String, Int, String?)] = [
                (cast.bob, "1", #"{"kind":"message"}"#, 403, "not_allowed"),
                (cast.hal, "1", #"{"kind":"message"}"#, 404, nil),
                (cast.eve, "1", #"{"kind":"message"}"#, 404, nil),
                (cast.ann, "99", #"{"kind":"message"}"#, 404, "message_not_found"),
                (cast.ann, "0", #"{"kind":"message"}"#, 422, "invalid_parameter"),
                (cast.ann, "x", #"{"kind":"message"}"#, 422, "invalid_parameter"),
                (cast.ann, "1", #"{"kind":"chore"}"#, 422, nil),
                (cast.ann, "1", #"{}"#, 422, nil),
            ]
            for (token, number, body, status, code) in refusals {
                let reply = try await h.call(.post, "\(thread)/messages/\(number)/kind", token: token, body: body)
                #expect(reply.status == status || (status == 422 && reply.status == 400), "\(number) \(body): \(reply.status) \(reply.text)")
                #expect(reply.errorCode != nil, "\(reply.text)")
                if let code { #expect(reply.errorCode == code, "\(reply.text)") }
            }
            #expect(try h.lastPosition() == head)
            // The same kind again writes nothing; back to a message.
            let again = try await h.call(.post, "\(thread)/messages/1/kind", token: cast.ann, body: #"{"kind":"task"}"#)
            #expect(again.status == 200)
            #expect(try h.lastPosition() == head)
            let back = try await h.call(.post, "\(thread)/messages/1/kind", token: cast.ann, body: #"{"kind":"message"}"#)
            #expect(back.status == 200)
            let backPosition = try #require(back.position)
            #expect(kinds(try await h.call(.get, "\(thread)?minPosition=\(backPosition)", token: cast.bob))[1] == "message")
            #expect(ids(try await h.call(.get, "/v1/inbox?kind=task&minPosition=\(backPosition)", token: cast.ann)) == [])
            // A purged thread: 410, nothing appended.
            let purge = try await h.handler.handle(.purgeThread(thread: ThreadID(cast.thread), reason: "retention test"), actor: .admin)
            let gone = try await h.call(.post, "\(thread)/messages/1/kind", token: cast.ann, body: #"{"kind":"task"}"#)
            #expect(gone.status == 410, "\(gone.text)")
            #expect(try h.lastPosition() == purge.position)
        }
    }
}

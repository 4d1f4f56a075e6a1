import Engine
import EventLog
import Foundation
import Messaging
import Testing

@Suite("Internal notes")
struct NoteTests {
    @Test(
        "a note reaches the internal side only: no outside answer, count, unread, inbox order or feed shows it",
        arguments: [ReadKind.projected, .logFold])
    func notesStayInside(readKind: ReadKind) async throws {
        try await withHarness(readKind: readKind) { h in
            let cast = try await h.seed()
            let thread = "/v1/threads/\(cast.thread)"
            #expect(try await h.call(.post, "\(thread)/messages", token: cast.ann, body: #"{"body":"visible answer"}"#).status == 201)
            // What bob sees before the note.
            let threadBefore = try await h.call(.get, thread, token: cast.bob)
            let inboxBefore = try await h.call(.get, "/v1/inbox", token: cast.bob)
            let unreadBefore = try await h.call(.get, "/v1/unread", token: cast.bob)
            let secret = "SECRET-NOTE-7f3a: the customer is on the blacklist"
            let note = try await h.call(.post, "\(thread)/notes", token: cast.ann, body: #"{"body":"\#(secret)"}"#)
            #expect(note.status == 201, "\(note.text)")
            #expect(note.json["id"] as? String == "\(cast.thread)/note-1")
            let position = try #require(note.position)
            // Outside readers: not allowed to write one; the thread looks exactly as before.
            let refused = try await h.call(.post, "\(thread)/notes", token: cast.bob, body: #"{"body":"mine"}"#)
            #expect(refused.status == 403)
            #expect(refused.errorCode == "not_allowed")
            #expect(try await h.call(.post, "\(thread)/notes", token: cast.eve, body: #"{"body":"x"}"#).status == 404)
            for (label, path) in [("thread", thread), ("inbox", "/v1/inbox"), ("unread", "/v1/unread")] {
                let reply = try await h.call(.get, "\(path)\(path.contains("?") ? "&" : "?")minPosition=\(position)", token: cast.bob)
                #expect(reply.status == 200, "\(label): \(reply.text)")
                #expect(!reply.text.contains("SECRET-NOTE"), "\(label) shows the note: \(reply.text)")
                #expect(!reply.text.contains("\"notes\""), "\(label): \(reply.text)")
                let before = label == "thread" ? threadBefore : label == "inbox" ? inboxBefore : unreadBefore
                #expect(reply.text == before.text, "\(label) changed for an outside reader:\n\(before.text)\n\(reply.text)")
            }
            // The outside reader's feed carries nothing of it.
            let events = try h.store.read(from: 1, limit: 1000)
            let bobFeed = try UserFeed.items(events, for: "bob", handler: h.handler)
            #expect(!bobFeed.contains { $0.type == "note.posted" })
            #expect(bobFeed.allSatisfy { $0.message?.body.contains("SECRET-NOTE") != true })
            // The internal side reads it in the thread view and its feed; the audit trail has it.
            let annView = try await h.call(.get, "\(thread)?minPosition=\(position)", token: cast.ann)
            let notes = annView.json["notes"] as? [[String: Any]] ?? []
            #expect(notes.count == 1)
            #expect(notes.first?["body"] as? String == secret)
            #expect(notes.first?["number"] as? Int == 1)
            #expect((notes.first?["author"] as? [String: Any])?["id"] as? String == "ann")
            let annFeed = try UserFeed.items(events, for: "ann", handler: h.handler)
            #expect(annFeed.contains { $0.type == "note.posted" && $0.position == position })
            let audit = try await h.call(.get, "/v1/events?from=\(position)&limit=1", token: cast.service)
            #expect(audit.text.contains(secret))
            // Notes have their own numbers: the next message is still the next message number.
            let next = try await h.call(.post, "\(thread)/messages", token: cast.ann, body: #"{"body":"after the note"}"#)
            let messages = try await h.call(.get, "\(thread)?minPosition=\(next.position ?? 0)", token: cast.bob)
            let numbers = (messages.json["messages"] as? [[String: Any]] ?? []).compactMap { $0["number"] as? Int }
            #expect(numbers == Array(1...numbers.count))
            // A blank note is refused and appends nothing.
            let before = try h.lastPosition()
            let blank = try await h.call(.post, "\(thread)/notes", token: cast.ann, body: #"{"body":"  "}"#)
            #expect(blank.status == 422)
            #expect(try h.lastPosition() == before)
        }
    }
}

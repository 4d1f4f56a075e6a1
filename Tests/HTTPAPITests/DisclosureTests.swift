import Foundation
import Testing

/// What an outside reader may learn about the internal side: only what the display policy shows.
@Suite("Disclosure to outside readers")
struct DisclosureTests {
    @Test(
        "contacts, handler, opener and participants follow the display policy in every answer",
        arguments: ["none", "workgroup", "custom", "fullName"])
    func displayPolicyHolds(mode: String) async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            let text = mode == "custom" ? #","text":"Service desk""# : ""
            var reply = try await h.call(
                .put, "/v1/settings", token: cast.admin, body: #"{"displayPolicy":{"mode":"\#(mode)"\#(text)}}"#)
            #expect(reply.status == 200, "\(reply.text)")
            reply = try await h.call(
                .post, "/v1/threads/\(cast.thread)/assign", token: cast.ann, body: #"{"handler":"ann"}"#)
            #expect(reply.status == 200, "\(reply.text)")
            reply = try await h.call(.post, "/v1/threads/\(cast.thread)/messages", token: cast.ann, body: #"{"body":"Hi"}"#)
            #expect(reply.status == 201)
            // ann opens a thread with bob as a participant: the opener is internal.
            reply = try await h.call(
                .post, "/v1/threads", token: cast.ann,
                body: #"{"subject":{"kind":"request","ref":"R-7"},"title":"From us","participants":["bob"],"body":"Note"}"#)
            #expect(reply.status == 201)
            let second = try #require(reply.json["id"] as? String)

            let shown = mode == "fullName"
            for thread in [cast.thread, second] {
                let view = try await h.call(.get, "/v1/threads/\(thread)", token: cast.bob)
                #expect(view.status == 200)
                #expect(view.text.contains(#""ann""#) == shown, "\(mode): \(view.text)")
                #expect(view.text.contains("Ann") == shown, "\(mode): \(view.text)")
                let contacts = view.json["contacts"] as? [[String: Any]] ?? []
                let internalContacts = contacts.filter { $0["internal"] as? Bool == true }
                switch mode {
                case "none": #expect(internalContacts.isEmpty)
                case "workgroup": #expect(internalContacts.map { $0["name"] as? String } == ["Acme"])
                case "custom": #expect(internalContacts.map { $0["name"] as? String } == ["Service desk"])
                default: #expect(internalContacts.compactMap { $0["id"] as? String }.contains("ann"))
                }
                #expect(contacts.contains { $0["id"] as? String == "bob" })
            }
            let inbox = try await h.call(.get, "/v1/inbox", token: cast.bob)
            #expect(inbox.text.contains(#""ann""#) == shown, "\(mode): \(inbox.text)")
            let byHandler = try await h.call(.get, "/v1/inbox?handler=ann", token: cast.bob)
            #expect(((byHandler.json["items"] as? [Any])?.isEmpty ?? true) == !shown)
            // The internal side still sees everyone.
            let own = try await h.call(.get, "/v1/threads/\(cast.thread)", token: cast.ann)
            #expect((own.json["thread"] as? [String: Any])?["handler"] as? String == "ann")
        }
    }

    @Test("a late structure member's message count counts only what they may see")
    func lateJoinerCounts() async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            let admin = cast.admin
            #expect(
                try await h.call(.post, "/v1/structures", token: admin, body: #"{"id":"circle","name":"Circle","party":"sup"}"#)
                    .status == 201)
            var reply = try await h.call(
                .post, "/v1/threads", token: cast.ann,
                body: #"{"subject":{"kind":"case","ref":"K-1"},"title":"Shared","structures":["circle"],"body":"Before"}"#)
            #expect(reply.status == 201)
            let thread = try #require(reply.json["id"] as? String)
            #expect(try await h.call(.post, "/v1/structures/circle/members", token: admin, body: #"{"user":"eve"}"#).status == 201)
            reply = try await h.call(.post, "/v1/threads/\(thread)/messages", token: cast.ann, body: #"{"body":"After"}"#)
            #expect(reply.status == 201)
            reply = try await h.call(.get, "/v1/threads/\(thread)", token: cast.eve)
            #expect(reply.status == 200)
            #expect((reply.json["messages"] as? [Any])?.count == 1)
            #expect((reply.json["thread"] as? [String: Any])?["messageCount"] as? Int == 1)
            reply = try await h.call(.get, "/v1/threads/\(thread)", token: cast.ann)
            #expect((reply.json["thread"] as? [String: Any])?["messageCount"] as? Int == 2)
        }
    }
}

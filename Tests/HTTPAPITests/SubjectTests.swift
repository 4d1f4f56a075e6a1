import Foundation
import Testing

/// Subjects bound to parties: every user of the supplier enabled on a contract reads and writes its
/// chat, users created later too; an outsider learns nothing by opening.
@Suite("Declared subjects")
struct SubjectTests {
    @Test("a user of the declared party created later finds the existing chat in the inbox and answers it")
    func laterUserOfTheParty() async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            // bob opened the chat of C-1, declared for his party; a second supplier user arrives.
            let created = try await h.call(
                .post, "/v1/users", token: cast.admin,
                body: #"{"id":"bea","name":"Bea","email":"bea@example.test","party":"sup","roles":["supplier"]}"#)
            let bea = try #require(created.json["token"] as? String)
            var reply = try await h.call(.get, "/v1/inbox", token: bea)
            #expect((reply.json["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [cast.thread])
            reply = try await h.call(
                .post, "/v1/threads", token: bea, body: #"{"subject":{"kind":"contract","ref":"C-1"},"title":"Chat"}"#)
            #expect(reply.status == 200)
            #expect(reply.json["id"] as? String == cast.thread)
            reply = try await h.call(.post, "/v1/threads/\(cast.thread)/messages", token: bea, body: #"{"body":"Bea here"}"#)
            #expect(reply.status == 201)
            reply = try await h.call(.get, "/v1/unread", token: cast.bob)
            #expect(reply.json["total"] as? Int == 1)
        }
    }

    @Test("opening reveals nothing to an outsider: the same answer with or without a chat, declared or not")
    func noExistenceOracle() async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            let before = try h.lastPosition()
            var answers: [String] = []
            for ref in ["C-1", "C-404"] {
                let reply = try await h.call(
                    .post, "/v1/threads", token: cast.eve,
                    body: #"{"subject":{"kind":"contract","ref":"\#(ref)"},"title":"Probe","body":"hi"}"#)
                let message = (reply.json["error"] as? [String: Any])?["message"] as? String ?? ""
                answers.append("\(reply.status) \(reply.errorCode ?? "") \(message.replacingOccurrences(of: ref, with: "REF"))")
                #expect(!reply.text.contains(cast.thread))
            }
            #expect(answers[0] == answers[1], "\(answers)")
            #expect(answers[0].hasPrefix("404 subject_not_found"))
            #expect(try h.lastPosition() == before)
            // The internal side may open an undeclared contract's chat.
            let reply = try await h.call(
                .post, "/v1/threads", token: cast.ann, body: #"{"subject":{"kind":"contract","ref":"C-404"},"title":"Ours"}"#)
            #expect(reply.status == 201)
        }
    }

    @Test("declaring needs the admin or a service token and known parties; an unchanged declaration appends nothing")
    func declaring() async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            var reply = try await h.call(
                .post, "/v1/subjects", token: cast.bob, body: #"{"kind":"contract","ref":"C-2","parties":["sup"]}"#)
            #expect(reply.status == 403)
            reply = try await h.call(
                .post, "/v1/subjects", token: cast.service, body: #"{"kind":"contract","ref":"C-2","parties":["nope"]}"#)
            #expect(reply.status == 422)
            #expect(reply.errorCode == "unknown_party")
            reply = try await h.call(
                .post, "/v1/subjects", token: cast.service, body: #"{"kind":"contract","ref":"C-2","parties":["sup"]}"#)
            #expect(reply.status == 200)
            #expect(reply.json["parties"] as? [String] == ["sup"])
            let head = try h.lastPosition()
            reply = try await h.call(
                .post, "/v1/subjects", token: cast.admin, body: #"{"kind":"contract","ref":"C-2","parties":["sup"]}"#)
            #expect(reply.status == 200)
            #expect(try h.lastPosition() == head)
            reply = try await h.call(.post, "/v1/subjects", token: cast.admin, body: #"{"kind":"ticket","ref":"TT1"}"#)
            #expect(reply.status == 422)
            #expect(reply.errorCode == "invalid_subject")
        }
    }
}

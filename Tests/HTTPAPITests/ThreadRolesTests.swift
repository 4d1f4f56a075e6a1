import Foundation
import Messaging
import Testing

@Suite("Handler roles added to a thread when it is opened")
struct ThreadRolesTests {
    private func inboxIDs(_ reply: Reply) -> [String] {
        (reply.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    @Test(
        "the holders of a role added at opening see, read and answer the thread; later holders too; outside openers and unknown roles are refused",
        arguments: [ReadKind.projected, .logFold])
    func rolesAddedAtOpening(readKind: ReadKind) async throws {
        try await withHarness(readKind: readKind) { h in
            let cast = try await h.seed()
            // Without the role, the supervisor does not see a handler's thread.
            let plain = try await h.call(
                .post, "/v1/threads", token: cast.ann,
                body: #"{"subject":{"kind":"request","ref":"R-1"},"title":"Plain","body":"x"}"#)
            #expect(plain.status == 201, "\(plain.text)")
            let plainID = try #require(plain.json["id"] as? String)
            #expect(
                try await h.call(.get, "/v1/threads/\(plainID)?minPosition=\(plain.position ?? 0)", token: cast.hal)
                    .status == 404)

            let opened = try await h.call(
                .post, "/v1/threads", token: cast.ann,
                body:
                    #"{"subject":{"kind":"request","ref":"R-2"},"title":"Payroll check","body":"Please check.","roles":["supervisor"]}"#
            )
            #expect(opened.status == 201, "\(opened.text)")
            let id = try #require(opened.json["id"] as? String)
            let position = try #require(opened.position)
            let inbox = try await h.call(.get, "/v1/inbox?minPosition=\(position)", token: cast.hal)
            #expect(inboxIDs(inbox) == [id], "\(inbox.text)")
            #expect(try await h.call(.get, "/v1/threads/\(id)?minPosition=\(position)", token: cast.hal).status == 200)
            let answer = try await h.call(
                .post, "/v1/threads/\(id)/messages", token: cast.hal, body: #"{"body":"Checked."}"#)
            #expect(answer.status == 201, "\(answer.text)")
            // The opener's own handlers still have it; outsiders still do not.
            #expect(
                inboxIDs(try await h.call(.get, "/v1/inbox?minPosition=\(answer.position ?? 0)", token: cast.ann))
                    .contains(id))
            #expect(try await h.call(.get, "/v1/threads/\(id)", token: cast.bob).status == 404)

            // A supervisor created afterwards sees it too (the projected inbox revisits the role's threads).
            let created = try await h.call(
                .post, "/v1/users", token: Harness.adminToken,
                body: #"{"id":"sue","name":"Sue","email":"sue@example.test","party":"acme","roles":["supervisor"]}"#)
            #expect(created.status == 201, "\(created.text)")
            let sue = try #require(created.json["token"] as? String)
            #expect(
                inboxIDs(try await h.call(.get, "/v1/inbox?minPosition=\(created.position ?? 0)", token: sue)) == [id])

            // Refusals append nothing: an outside opener may not add roles, a role nobody has is unknown.
            let head = try h.lastPosition()
            let outside = try await h.call(
                .post, "/v1/threads", token: cast.bob,
                body: #"{"subject":{"kind":"request","ref":"R-4"},"title":"Mine","body":"x","roles":["supervisor"]}"#)
            #expect(outside.status == 403, "\(outside.text)")
            #expect(outside.errorCode == "roles_not_allowed")
            let unknown = try await h.call(
                .post, "/v1/threads", token: cast.ann,
                body: #"{"subject":{"kind":"request","ref":"R-3"},"title":"Bad","roles":["nobody-has-this"]}"#)
            #expect(unknown.status == 422, "\(unknown.text)")
            #expect(unknown.errorCode == "unknown_role")
            #expect(try h.lastPosition() == head)
        }
    }

    @Test("after a purge the holders of a role added at opening get 410 thread_purged, others 404",
        arguments: [ReadKind.projected, .logFold])
    func purgedThreadWithRoles(readKind: ReadKind) async throws {
        try await withHarness(readKind: readKind) { h in
            let cast = try await h.seed()
            let opened = try await h.call(
                .post, "/v1/threads", token: cast.ann,
                body: #"{"subject":{"kind":"request","ref":"R-9"},"title":"Payroll check","body":"x","roles":["supervisor"]}"#)
            #expect(opened.status == 201, "\(opened.text)")
            let id = try #require(opened.json["id"] as? String)
            let purge = try await h.handler.handle(.purgeThread(thread: ThreadID(id), reason: "retention test"), actor: .admin)
            let read = try await h.call(.get, "/v1/threads/\(id)?minPosition=\(purge.position)", token: cast.hal)
            #expect(read.status == 410, "\(read.text)")
            #expect(read.errorCode == "thread_purged")
            #expect(try await h.call(.get, "/v1/threads/\(id)", token: cast.bob).status == 404)
        }
    }
}

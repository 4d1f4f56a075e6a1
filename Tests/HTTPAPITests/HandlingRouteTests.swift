import Foundation
import HTTPAPI
import HTTPTypes
import Testing

/// Handling after opening, end to end: reclassifying, the first handler action, "answered by
/// customer" in thread and inbox, legal holds and category periods through the API.
@Suite("Handling routes over a real server and log")
struct HandlingRouteTests {
    @Test("reclassify, open by the first handler action, answered by customer", arguments: [ReadKind.logFold, .projected])
    func handling(readKind: ReadKind) async throws {
        try await withHarness(readKind: readKind) { h in
            let cast = try await h.seed()
            let thread = cast.thread

            // A handler's answer is their first action on the new thread: it opens it.
            var reply = try await h.call(.get, "/v1/threads/\(thread)", token: cast.ann)
            #expect((reply.json["thread"] as? [String: Any])?["status"] as? String == "new")
            reply = try await h.call(.post, "/v1/threads/\(thread)/messages", token: cast.ann, body: #"{"body":"On it"}"#)
            #expect(reply.status == 201)
            reply = try await h.call(.get, "/v1/threads/\(thread)", token: cast.bob)
            #expect((reply.json["thread"] as? [String: Any])?["status"] as? String == "open")

            // Reclassified by the handler; the supplier may not; bad values are refused.
            reply = try await h.call(
                .patch, "/v1/threads/\(thread)", token: cast.ann, body: #"{"type":"task","priority":"urgent","importance":"high"}"#)
            #expect(reply.status == 200)
            let summary: [String: Any]? = reply.json
            #expect(summary?["type"] as? String == "task" && summary?["priority"] as? String == "urgent")
            #expect(summary?["importance"] as? String == "high")
            reply = try await h.call(.patch, "/v1/threads/\(thread)", token: cast.bob, body: #"{"priority":"low"}"#)
            #expect(reply.status == 403 && reply.errorCode == "not_allowed")
            let before = try h.lastPosition()
            reply = try await h.call(.patch, "/v1/threads/\(thread)", token: cast.ann, body: #"{"priority":"URGENT"}"#)
            #expect(reply.status == 422)
            reply = try await h.call(.patch, "/v1/threads/\(thread)", token: cast.ann, body: #"{"category":"nope"}"#)
            #expect(reply.status == 422 && reply.errorCode == "unknown_category")
            reply = try await h.call(.patch, "/v1/threads/\(thread)", token: cast.eve, body: #"{"priority":"low"}"#)
            #expect(reply.status == 404)
            #expect(try h.lastPosition() == before)
            reply = try await h.call(.post, "/v1/threads/\(thread)/assign", token: cast.ann, body: #"{"handler":"ann"}"#)
            #expect(reply.status == 200)
            // The inbox filters see the new values at once.
            reply = try await h.call(.get, "/v1/inbox?type=task&priority=urgent", token: cast.bob)
            var items = reply.json["items"] as? [[String: Any]] ?? []
            #expect(items.map { $0["id"] as? String } == [thread])
            #expect(items.first?["importance"] as? String == "high")
            #expect(items.first?["messageCount"] as? Int == 2)
            #expect(items.first?["number"] as? String == "C-1")
            // The supplier sees the handler as the display policy shows them (the workgroup), not who.
            #expect(items.first?["handler"] == nil)
            #expect(items.first?["handlerName"] as? String == "Acme")
            #expect(items.first?["openedBy"] as? String == "bob")
            reply = try await h.call(.get, "/v1/inbox", token: cast.ann)
            items = reply.json["items"] as? [[String: Any]] ?? []
            #expect(items.first?["handler"] as? String == "ann")
            #expect(items.first?["handlerName"] as? String == "Ann")

            // Waiting on the supplier, who answers: marked until the handler acts.
            reply = try await h.call(.post, "/v1/threads/\(thread)/status", token: cast.ann, body: #"{"status":"waiting"}"#)
            #expect(reply.status == 200)
            reply = try await h.call(.post, "/v1/threads/\(thread)/messages", token: cast.bob, body: #"{"body":"Here"}"#)
            #expect(reply.status == 201)
            reply = try await h.call(.get, "/v1/inbox?answered=true", token: cast.ann)
            items = reply.json["items"] as? [[String: Any]] ?? []
            #expect(items.map { $0["id"] as? String } == [thread])
            #expect(items.first?["answeredByCustomer"] as? Bool == true)
            reply = try await h.call(.get, "/v1/threads/\(thread)", token: cast.ann)
            #expect((reply.json["thread"] as? [String: Any])?["answeredByCustomer"] as? Bool == true)
            #expect((reply.json["thread"] as? [String: Any])?["status"] as? String == "open")
            reply = try await h.call(.post, "/v1/threads/\(thread)/messages", token: cast.ann, body: #"{"body":"Thanks"}"#)
            #expect(reply.status == 201)
            reply = try await h.call(.get, "/v1/inbox?answered=true", token: cast.ann)
            #expect((reply.json["items"] as? [[String: Any]])?.isEmpty == true)
            reply = try await h.call(.get, "/v1/inbox?answered=maybe", token: cast.ann)
            #expect(reply.status == 422 && reply.errorCode == "invalid_parameter")
        }
    }

    @Test("legal holds and category periods are the administrator's routes")
    func retentionRoutes() async throws {
        try await withHarness { h in
            let cast = try await h.seed()
            var reply = try await h.call(
                .post, "/v1/threads/\(cast.thread)/legal-hold", token: cast.admin, body: #"{"reason":"audit 7"}"#)
            #expect(reply.status == 200 && reply.json["legalHold"] as? Bool == true)
            #expect(try h.handler.threadState(.init(rawValue: cast.thread))?.legalHold == true)
            reply = try await h.call(
                .post, "/v1/threads/\(cast.thread)/legal-hold", token: cast.ann, body: #"{"reason":"x"}"#)
            #expect(reply.status == 403)
            reply = try await h.call(.post, "/v1/threads/nope/legal-hold", token: cast.admin, body: #"{"reason":"x"}"#)
            #expect(reply.status == 404)
            reply = try await h.call(.delete, "/v1/threads/\(cast.thread)/legal-hold", token: cast.admin)
            #expect(reply.status == 200 && reply.json["legalHold"] as? Bool == false)
            #expect(try h.handler.threadState(.init(rawValue: cast.thread))?.legalHold == false)

            reply = try await h.call(
                .post, "/v1/categories", token: cast.admin,
                body: #"{"id":"hr","name":"HR","handlerRoles":["handler"],"structures":[],"defaultRecipients":[]}"#)
            #expect(reply.status == 201)
            reply = try await h.call(.put, "/v1/categories/hr/retention", token: cast.admin, body: #"{"days":365}"#)
            #expect(reply.status == 200 && reply.json["days"] as? Int == 365)
            #expect(try h.handler.currentDirectory().categories["hr"]?.retentionDays == 365)
            reply = try await h.call(.put, "/v1/categories/hr/retention", token: cast.admin, body: #"{"days":null}"#)
            #expect(reply.status == 200)
            #expect(try h.handler.currentDirectory().categories["hr"]?.retentionDays == nil)
            reply = try await h.call(.put, "/v1/categories/nope/retention", token: cast.admin, body: #"{"days":5}"#)
            #expect(reply.status == 404)
            reply = try await h.call(.put, "/v1/categories/hr/retention", token: cast.admin, body: #"{"days":0}"#)
            #expect(reply.status == 422)
        }
    }
}

@Suite("User maintenance over a real server and log")
struct UserMaintenanceRouteTests {
    @Test("an update shows at once; a deactivated user's token stops working and their name stays")
    func updateAndDeactivate() async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            var reply = try await h.call(
                .patch, "/v1/users/bob", token: cast.admin, body: #"{"name":"Bob Rossi","roles":["supplier","manager"]}"#)
            #expect(reply.status == 200)
            #expect(reply.json["name"] as? String == "Bob Rossi")
            #expect(reply.json["roles"] as? [String] == ["supplier", "manager"])
            reply = try await h.call(.get, "/v1/threads/\(cast.thread)", token: cast.ann)
            let authors = (reply.json["messages"] as? [[String: Any]])?.compactMap { ($0["author"] as? [String: Any])?["name"] as? String }
            #expect(authors == ["Bob Rossi"])
            reply = try await h.call(.patch, "/v1/users/nobody", token: cast.admin, body: #"{"name":"X"}"#)
            #expect(reply.status == 404)
            reply = try await h.call(.patch, "/v1/users/bob", token: cast.ann, body: #"{"name":"X"}"#)
            #expect(reply.status == 403)

            reply = try await h.call(.delete, "/v1/users/bob", token: cast.admin)
            #expect(reply.status == 200 && reply.json["active"] as? Bool == false)
            reply = try await h.call(.get, "/v1/inbox", token: cast.bob)
            #expect(reply.status == 401)
            reply = try await h.call(.get, "/v1/threads/\(cast.thread)", token: cast.ann)
            #expect(reply.status == 200)
            let after = (reply.json["messages"] as? [[String: Any]])?.compactMap { ($0["author"] as? [String: Any])?["name"] as? String }
            #expect(after == ["Bob Rossi"])
            // Deactivating again changes nothing.
            let before = try h.lastPosition()
            reply = try await h.call(.delete, "/v1/users/bob", token: cast.admin)
            #expect(reply.status == 200)
            #expect(try h.lastPosition() == before)
        }
    }
}

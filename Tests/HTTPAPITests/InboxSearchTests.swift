import Foundation
import Messaging
import Testing

@Suite("Inbox search and order")
struct InboxSearchTests {
    private func ids(_ reply: Reply) -> [String] {
        (reply.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    @Test(
        "q finds bodies, ticket numbers and names as the reader may see them, nothing purged; sort and order page with offsets",
        arguments: [ReadKind.projected, .logFold])
    func searchAndSort(readKind: ReadKind) async throws {
        try await withHarness(readKind: readKind) { h in
            let cast = try await h.seed()
            let contract = cast.thread
            let policy = try await h.call(.put, "/v1/settings", token: cast.admin, body: #"{"displayPolicy":{"mode":"workgroup"}}"#)
            #expect(policy.status == 200, "\(policy.text)")
            #expect(try await h.call(.post, "/v1/threads/\(contract)/assign", token: cast.ann, body: #"{"handler":"ann"}"#).status == 200)
            let posted = try await h.call(
                .post, "/v1/threads/\(contract)/messages", token: cast.ann,
                body: #"{"body":"The turbine serial XK-99 arrived","kind":"task"}"#)
            #expect(posted.status == 201, "\(posted.text)")
            let low = try await h.call(
                .post, "/v1/threads", token: cast.ann,
                body: #"{"subject":{"kind":"ticket"},"title":"Printer jam","priority":"low","body":"paper stuck"}"#)
            #expect(low.status == 201, "\(low.text)")
            let urgent = try await h.call(
                .post, "/v1/threads", token: cast.ann,
                body: #"{"subject":{"kind":"ticket"},"title":"Server down","priority":"urgent","body":"no answer"}"#)
            #expect(urgent.status == 201, "\(urgent.text)")
            let lowID = try #require(low.json["id"] as? String)
            let urgentID = try #require(urgent.json["id"] as? String)
            let head = try #require(urgent.position)
            func inbox(_ token: String, _ query: String) async throws -> Reply {
                try await h.call(.get, "/v1/inbox?minPosition=\(head)&\(query)", token: token)
            }
            // Message bodies, the title as before, ticket numbers.
            #expect(ids(try await inbox(cast.bob, "q=xk-99")) == [contract])
            #expect(ids(try await inbox(cast.bob, "q=INVOICE")) == [contract])
            #expect(ids(try await inbox(cast.ann, "q=tt2")) == [urgentID])
            #expect(ids(try await inbox(cast.ann, "q=paper%20stuck")) == [lowID])
            // People: the handler's name only where the display policy shows it.
            #expect(ids(try await inbox(cast.bob, "q=bob")) == [contract])
            #expect(ids(try await inbox(cast.bob, "q=ann")) == [], "bob sees the handler as a workgroup only")
            #expect(ids(try await inbox(cast.bob, "q=acme")) == [contract], "the workgroup name bob sees does match")
            #expect(ids(try await inbox(cast.ann, "q=ann")).sorted() == [contract, lowID, urgentID].sorted(), "the internal side sees the handler's and opener's name")
            // Tasks.
            #expect(ids(try await inbox(cast.ann, "kind=task")) == [contract])
            #expect(ids(try await inbox(cast.ann, "kind=message")).sorted() == [contract, lowID, urgentID].sorted())
            // Orders.
            #expect(ids(try await inbox(cast.ann, "sort=priority")) == [urgentID, contract, lowID])
            #expect(ids(try await inbox(cast.ann, "sort=priority&order=asc")) == [lowID, contract, urgentID])
            #expect(ids(try await inbox(cast.ann, "sort=number&order=asc")) == [contract, lowID, urgentID])
            #expect(ids(try await inbox(cast.ann, "sort=lastActivity&order=asc")) == [contract, lowID, urgentID])
            #expect(ids(try await inbox(cast.ann, "")) == [urgentID, lowID, contract])
            // Sorted pages: offset cursors, one item a page, nothing lost or repeated.
            var walked: [String] = []
            var cursor: String? = ""
            while let next = cursor {
                let page = try await inbox(cast.ann, "sort=priority&limit=1\(next.isEmpty ? "" : "&cursor=\(next)")")
                #expect(page.status == 200, "\(page.text)")
                walked += ids(page)
                cursor = page.json["nextCursor"] as? String
                #expect(walked.count <= 3)
            }
            #expect(walked == [urgentID, contract, lowID])
            // Bad values: 422 invalid_parameter.
            for query in ["sort=title", "order=up", "kind=chore", "sort=priority&cursor=abc"] {
                let reply = try await inbox(cast.ann, query)
                #expect(reply.status == 422, "\(query): \(reply.text)")
                #expect(reply.errorCode == "invalid_parameter", "\(query)")
            }
            // Purged text matches nothing.
            let purge = try await h.handler.handle(.purgeThread(thread: ThreadID(contract), reason: "retention test"), actor: .admin)
            for needle in ["xk-99", "invoice", "acme", "bob"] {
                let reply = try await h.call(.get, "/v1/inbox?minPosition=\(purge.position)&q=\(needle)", token: cast.bob)
                #expect(reply.status == 200)
                #expect(ids(reply) == [], "\(needle) still finds the purged thread")
            }
        }
    }
}

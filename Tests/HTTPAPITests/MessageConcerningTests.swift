import Engine
import Foundation
import Messaging
import Testing

@Suite("Who a message concerns and the template it was made from")
struct MessageConcerningTests {
    private func message(_ reply: Reply, number: Int) -> [String: Any]? {
        (reply.json["messages"] as? [[String: Any]] ?? []).first { $0["number"] as? Int == number }
    }

    @Test(
        "a posted message and a thread's first message carry concerning and template to every reader; bad values append nothing",
        arguments: [ReadKind.projected, .logFold])
    func concerningAndTemplate(readKind: ReadKind) async throws {
        try await withHarness(readKind: readKind) { h in
            let cast = try await h.seed()
            let thread = "/v1/threads/\(cast.thread)"
            let template = try await h.call(
                .put, "/v1/templates/received", token: cast.hal, body: #"{"text":"We received your documents."}"#)
            #expect(template.status == 200, "\(template.text)")

            let before = try h.lastPosition()
            let posted = try await h.call(
                .post, "\(thread)/messages", token: cast.ann,
                body:
                    #"{"body":"We received your documents.","template":"received","concerning":{"kind":"person","name":"Maria Rossi","ref":"EMP-0042"}}"#
            )
            #expect(posted.status == 201, "\(posted.text)")
            let position = try #require(posted.position)
            // The handler and the outside reader see both; the event carries them in its data.
            for token in [cast.ann, cast.bob] {
                let view = try await h.call(.get, "\(thread)?minPosition=\(position)", token: token)
                let shown = try #require(message(view, number: 2), "\(view.text)")
                #expect(shown["template"] as? String == "received")
                let concerning = try #require(shown["concerning"] as? [String: Any])
                #expect(concerning["kind"] as? String == "person")
                #expect(concerning["name"] as? String == "Maria Rossi")
                #expect(concerning["ref"] as? String == "EMP-0042")
                #expect(message(view, number: 1)?["concerning"] == nil)
                #expect(message(view, number: 1)?["template"] == nil)
            }
            // The message is the first event the post appended (a handler's answer also opens the thread).
            let event = try await h.call(.get, "/v1/events?from=\(before + 1)&limit=1", token: cast.service)
            #expect(event.text.contains(#""schemaVersion":3"#), "\(event.text)")
            #expect(
                event.text.contains(#""concerning":{"kind":"person","name":"Maria Rossi","ref":"EMP-0042"}"#),
                "\(event.text)")
            // The feed's message is the thread view's.
            let feed = try UserFeed.items(try h.store.read(from: before + 1, limit: 1), for: "bob", handler: h.handler)
            #expect(feed.first?.message?.concerning == Concerning(kind: .person, name: "Maria Rossi", ref: "EMP-0042"))
            #expect(feed.first?.message?.template == "received")

            // Refusals: each a 422 and nothing appended.
            let head = try h.lastPosition()
            let refusals: [(String, Int, String)] = [
                (#"{"body":"x","template":"never"}"#, 422, "unknown_template"),
                (#"{"body":"x","concerning":{"kind":"robot","name":"R2"}}"#, 422, "invalid_field"),
                (#"{"body":"x","concerning":{"kind":"company","name":"   "}}"#, 422, "invalid_concerning"),
                (
                    #"{"body":"x","concerning":{"kind":"company","name":"\#(String(repeating: "n", count: 201))"}}"#,
                    422, "invalid_concerning"
                ),
                (#"{"body":"x","concerning":{"kind":"company","name":"Acme","ref":""}}"#, 422, "invalid_concerning"),
                (
                    #"{"body":"x","concerning":{"kind":"company","name":"Acme","ref":"\#(String(repeating: "r", count: 101))"}}"#,
                    422, "invalid_concerning"
                ),
                (#"{"body":"x","concerning":{"kind":"company"}}"#, 422, "missing_field"),
                (#"{"body":"x","concerning":{"kind":"company","name":"Acme","extra":1}}"#, 400, "unknown_field"),
            ]
            for (body, status, code) in refusals {
                let reply = try await h.call(.post, "\(thread)/messages", token: cast.bob, body: body)
                #expect(reply.status == status, "\(body): \(reply.text)")
                #expect(reply.errorCode == code, "\(body): \(reply.text)")
            }
            #expect(try h.lastPosition() == head)

            // The opening message of a thread takes them too; without a first message they are refused.
            let opened = try await h.call(
                .post, "/v1/threads", token: cast.ann,
                body:
                    #"{"subject":{"kind":"request","ref":"R-9"},"title":"Payslip","body":"See the payslip.","template":"received","concerning":{"kind":"company","name":"Supplier Ltd"}}"#
            )
            #expect(opened.status == 201, "\(opened.text)")
            let id = try #require(opened.json["id"] as? String)
            let view = try await h.call(.get, "/v1/threads/\(id)?minPosition=\(opened.position ?? 0)", token: cast.ann)
            let first = try #require(message(view, number: 1), "\(view.text)")
            #expect(first["template"] as? String == "received")
            #expect((first["concerning"] as? [String: Any])?["name"] as? String == "Supplier Ltd")
            #expect((first["concerning"] as? [String: Any])?["ref"] == nil)
            let headAfterOpen = try h.lastPosition()
            let bodiless = try await h.call(
                .post, "/v1/threads", token: cast.ann,
                body:
                    #"{"subject":{"kind":"request","ref":"R-10"},"title":"No body","concerning":{"kind":"person","name":"Maria"}}"#
            )
            #expect(bodiless.status == 422)
            #expect(bodiless.errorCode == "missing_field")
            let unknown = try await h.call(
                .post, "/v1/threads", token: cast.ann,
                body: #"{"subject":{"kind":"request","ref":"R-11"},"title":"Bad","body":"x","template":"never"}"#)
            #expect(unknown.status == 422)
            #expect(unknown.errorCode == "unknown_template")
            #expect(try h.lastPosition() == headAfterOpen)
        }
    }
}

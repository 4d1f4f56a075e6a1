import Foundation
import Testing

/// What portal users rely on when handling threads and listing them.
@Suite("Handling and lists")
struct HandlingTests {
    @Test("a client remark is opened by the outside side only")
    func clientRemark() async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            let body = #"{"subject":{"kind":"request","ref":"R-5"},"title":"Remark","type":"clientRemark","body":"x"}"#
            let before = try h.lastPosition()
            var reply = try await h.call(.post, "/v1/threads", token: cast.ann, body: body)
            #expect(reply.status == 403)
            #expect(reply.errorCode == "not_allowed")
            #expect(try h.lastPosition() == before)
            reply = try await h.call(.post, "/v1/threads", token: cast.bob, body: body)
            #expect(reply.status == 201)
        }
    }

    @Test("an invalid filter value or an unknown inbox parameter is refused, not answered with an empty list")
    func inboxParameters() async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            for query in ["priority=URGENT", "status=done", "type=memo", "colour=red", "Status=new"] {
                let reply = try await h.call(.get, "/v1/inbox?\(query)", token: cast.bob)
                #expect(reply.status == 422, "\(query): \(reply.text)")
                #expect(reply.errorCode == "invalid_parameter", "\(query)")
            }
            let reply = try await h.call(.get, "/v1/inbox?priority=normal&status=new&type=message", token: cast.bob)
            #expect((reply.json["items"] as? [Any])?.count == 1)
        }
    }

    @Test("attachments: a message of attachments only, downloads with their name, uploads refused where not allowed")
    func attachments() async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            let upload = try await h.call(.post, "/v1/blobs", token: cast.bob, bytes: Array("scan".utf8))
            let sha = try #require(upload.json["sha256"] as? String)
            let attachment = #"{"name":"Scan \"März\".pdf","contentType":"application/pdf","size":4,"sha256":"\#(sha)"}"#
            var reply = try await h.call(
                .post, "/v1/threads/\(cast.thread)/messages", token: cast.bob, body: #"{"body":"","attachments":[\#(attachment)]}"#)
            #expect(reply.status == 201, "\(reply.text)")
            reply = try await h.call(.get, "/v1/blobs/\(sha)", token: cast.ann)
            #expect(reply.status == 200)
            #expect(
                reply.headers[.contentDisposition]
                    == #"attachment; filename="Scan _M_rz_.pdf"; filename*=UTF-8''Scan%20%22M%C3%A4rz%22.pdf"#)
            // Without a message, an empty body stays refused.
            reply = try await h.call(.post, "/v1/threads/\(cast.thread)/messages", token: cast.bob, body: #"{"body":" "}"#)
            #expect(reply.status == 422)
            #expect(reply.errorCode == "empty_message")

            #expect(try await h.call(.put, "/v1/settings", token: cast.admin, body: #"{"attachmentsAllowed":false}"#).status == 200)
            let before = try h.lastPosition()
            reply = try await h.call(.post, "/v1/blobs", token: cast.bob, bytes: Array("more".utf8))
            #expect(reply.status == 422)
            #expect(reply.errorCode == "attachments_not_allowed")
            reply = try await h.call(
                .post, "/v1/threads/\(cast.thread)/messages", token: cast.bob, body: #"{"body":"","attachments":[\#(attachment)]}"#)
            #expect(reply.status == 422)
            #expect(reply.errorCode == "attachments_not_allowed")
            #expect(try h.lastPosition() == before)
        }
    }
}

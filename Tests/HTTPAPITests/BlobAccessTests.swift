import Engine
import EventLog
import Foundation
import Messaging
import Testing

/// A blob's digest is no capability: only its uploader and the readers of a thread whose message
/// references it may attach or download it.
@Suite("Who may use a blob")
struct BlobAccessTests {
    static func upload(_ h: Harness, _ token: String, _ text: String) async throws -> (sha: String, size: Int) {
        let reply = try await h.call(.post, "/v1/blobs", token: token, bytes: Array(text.utf8))
        guard reply.status == 201, let sha = reply.json["sha256"] as? String else {
            throw TestFailure("upload: \(reply.status) \(reply.text)")
        }
        return (sha, text.utf8.count)
    }

    static func attachment(_ sha: String, _ size: Int) -> String {
        #"{"name":"plan.pdf","contentType":"application/pdf","size":\#(size),"sha256":"\#(sha)"}"#
    }

    @Test("an outsider who learnt the digest can neither attach nor download it; the uploader can before attaching")
    func digestIsNoCapability() async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            let (sha, size) = try await Self.upload(h, cast.bob, "bob's private plan")
            // Before it is attached, the uploader reads it back; nobody else does.
            var reply = try await h.call(.get, "/v1/blobs/\(sha)", token: cast.bob)
            #expect(reply.status == 200)
            #expect(reply.text == "bob's private plan")
            reply = try await h.call(.get, "/v1/blobs/\(sha)", token: cast.eve)
            #expect(reply.status == 404)
            #expect(reply.errorCode == "not_found")

            reply = try await h.call(
                .post, "/v1/threads/\(cast.thread)/messages", token: cast.bob,
                body: #"{"body":"The plan","attachments":[\#(Self.attachment(sha, size))]}"#)
            #expect(reply.status == 201)

            // Eve knows the digest and size: opening her own thread with it is refused exactly as for
            // a digest never uploaded, and appends nothing.
            let before = try h.lastPosition()
            reply = try await h.call(
                .post, "/v1/threads", token: cast.eve,
                body:
                    #"{"subject":{"kind":"request","ref":"R-1"},"title":"Mine","body":"see","attachments":[\#(Self.attachment(sha, size))]}"#
            )
            #expect(reply.status == 422)
            #expect(reply.errorCode == "unknown_blob")
            let never = String(repeating: "ab", count: 32)
            let unknown = try await h.call(
                .post, "/v1/threads", token: cast.eve,
                body:
                    #"{"subject":{"kind":"request","ref":"R-1"},"title":"Mine","body":"see","attachments":[\#(Self.attachment(never, size))]}"#
            )
            #expect(unknown.status == reply.status)
            #expect(unknown.errorCode == reply.errorCode)
            #expect(
                (unknown.json["error"] as? [String: Any])?["message"] as? String
                    == (reply.json["error"] as? [String: Any])?["message"] as? String)
            #expect(try h.lastPosition() == before)
            reply = try await h.call(.get, "/v1/blobs/\(sha)", token: cast.eve)
            #expect(reply.status == 404)

            // A reader of the thread (ann handles it) may download and attach it elsewhere.
            reply = try await h.call(.get, "/v1/blobs/\(sha)", token: cast.ann)
            #expect(reply.status == 200)
            #expect(reply.headers[.contentType] == "application/pdf")
            reply = try await h.call(
                .post, "/v1/threads", token: cast.ann,
                body:
                    #"{"subject":{"kind":"request","ref":"R-2"},"title":"Forwarded","body":"fyi","attachments":[\#(Self.attachment(sha, size))]}"#
            )
            #expect(reply.status == 201)

            // The same bytes uploaded by eve herself: now she may use them.
            let again = try await Self.upload(h, cast.eve, "bob's private plan")
            #expect(again.sha == sha)
            reply = try await h.call(
                .post, "/v1/threads", token: cast.eve,
                body:
                    #"{"subject":{"kind":"request","ref":"R-3"},"title":"Mine","body":"see","attachments":[\#(Self.attachment(sha, size))]}"#
            )
            #expect(reply.status == 201)
        }
    }

    @Test("an upload is recorded once per uploader, and a service token may not upload or download")
    func uploadsAreRecordedOnce() async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            let first = try await h.call(.post, "/v1/blobs", token: cast.bob, bytes: Array("once".utf8))
            #expect(first.status == 201)
            let position = try #require(first.position)
            let second = try await h.call(.post, "/v1/blobs", token: cast.bob, bytes: Array("once".utf8))
            #expect(second.status == 201)
            #expect(second.position == position)
            #expect(try h.lastPosition() == position)
            let events = try await h.call(.get, "/v1/events?from=\(position)&limit=10", token: cast.service)
            let event = try #require((events.json["events"] as? [[String: Any]])?.first)
            #expect(event["type"] as? String == "blob.uploaded")
            #expect((event["data"] as? [String: Any])?["uploader"] as? String == "bob")

            let sha = try #require(first.json["sha256"] as? String)
            #expect(try await h.call(.get, "/v1/blobs/\(sha)", token: cast.service).status == 403)
            #expect(try await h.call(.post, "/v1/blobs", token: cast.service, bytes: [1]).status == 403)
        }
    }

    @Test("a member removed from a structure loses the blobs of its threads")
    func removedMember() async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            let admin = cast.admin
            #expect(
                try await h.call(.post, "/v1/structures", token: admin, body: #"{"id":"team","name":"Team","party":"acme","shareHistory":true}"#)
                    .status == 201)
            #expect(try await h.call(.post, "/v1/structures/team/members", token: admin, body: #"{"user":"hal"}"#).status == 201)
            var reply = try await h.call(
                .post, "/v1/threads", token: cast.ann,
                body: #"{"subject":{"kind":"case","ref":"K-1"},"title":"Team case","structures":["team"]}"#)
            #expect(reply.status == 201)
            let thread = try #require(reply.json["id"] as? String)
            let (sha, size) = try await Self.upload(h, cast.ann, "team notes")
            reply = try await h.call(
                .post, "/v1/threads/\(thread)/messages", token: cast.ann,
                body: #"{"body":"notes","attachments":[\#(Self.attachment(sha, size))]}"#)
            #expect(reply.status == 201)

            #expect(try await h.call(.get, "/v1/blobs/\(sha)", token: cast.hal).status == 200)
            #expect(
                try await h.call(.delete, "/v1/structures/team/members/hal", token: admin).status == 200)
            #expect(try await h.call(.get, "/v1/blobs/\(sha)", token: cast.hal).status == 404)
            let before = try h.lastPosition()
            reply = try await h.call(
                .post, "/v1/threads", token: cast.hal,
                body: #"{"subject":{"kind":"case","ref":"K-2"},"title":"Copy","body":"x","attachments":[\#(Self.attachment(sha, size))]}"#
            )
            #expect(reply.status == 422)
            #expect(reply.errorCode == "unknown_blob")
            #expect(try h.lastPosition() == before)
        }
    }

    @Test("a purged thread's blob is gone for its readers, and once erased for its uploader too")
    func purgedThread() async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            let (sha, size) = try await Self.upload(h, cast.ann, "to be purged")
            var reply = try await h.call(
                .post, "/v1/threads/\(cast.thread)/messages", token: cast.ann,
                body: #"{"body":"file","attachments":[\#(Self.attachment(sha, size))]}"#)
            #expect(reply.status == 201)
            #expect(try await h.call(.get, "/v1/blobs/\(sha)", token: cast.bob).status == 200)

            _ = try await h.handler.handle(.purgeThread(thread: ThreadID(cast.thread), reason: "test"), actor: .admin)
            #expect(try await h.call(.get, "/v1/blobs/\(sha)", token: cast.bob).status == 404)
            reply = try await h.call(
                .post, "/v1/threads", token: cast.bob,
                body: #"{"subject":{"kind":"request","ref":"R-9"},"title":"Copy","body":"x","attachments":[\#(Self.attachment(sha, size))]}"#
            )
            #expect(reply.status == 422)
            #expect(reply.errorCode == "unknown_blob")

            // Retention erases the purged thread's files: nobody gets the bytes any more.
            let models = try #require(h.models)
            let retention = Retention(
                log: h.store, models: models, handler: h.handler,
                data: try DataDirectory(h.directory.sub("data"), create: false))
            let report = try await retention.run(asOfMillis: Int64.max / 2, dryRun: false)
            #expect(report.deletedBlobs == 1)
            #expect(try await h.call(.get, "/v1/blobs/\(sha)", token: cast.ann).status == 404)
        }
    }
}

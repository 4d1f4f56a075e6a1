import Engine
import EventFeed
import Foundation
import HTTPAPI
import HTTPTypes
import Messaging
import TestSupport
import Testing

@Suite("Replacing and revoking tokens")
struct TokenTests {
    @Test("a token's hash is the lowercase hex SHA-256 of its UTF-8 bytes; new tokens are 64 hex digits")
    func tokenHash() {
        // FIPS 180-2 test vectors.
        #expect(Tokens.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Tokens.hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let token = Tokens.generate()
        #expect(token.utf8.count == 64 && token.utf8.allSatisfy { Array("0123456789abcdef".utf8).contains($0) })
        #expect(Tokens.generate() != token)
    }

    @Test("a replaced user token stops working at once, the new one works, and the log keeps only hashes")
    func replaceUserToken() async throws {
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            #expect(try await h.call(.get, "/v1/inbox", token: cast.ann).status == 200)

            let reply = try await h.call(.post, "/v1/users/ann/token", token: cast.admin)
            #expect(reply.status == 200, "\(reply.text)")
            let token = try #require(reply.json["token"] as? String)
            #expect(reply.json["id"] as? String == "ann")
            #expect(token != cast.ann)
            #expect(reply.position == (try h.lastPosition()))

            let old = try await h.call(.get, "/v1/inbox", token: cast.ann)
            #expect(old.status == 401)
            #expect(old.errorCode == "unauthorized")
            let fresh = try await h.call(.get, "/v1/inbox", token: token)
            #expect(fresh.status == 200)
            // Acting with the new token is acting as the same user.
            let posted = try await h.call(
                .post, "/v1/threads/\(cast.thread)/messages", token: token, body: #"{"body":"still me"}"#)
            #expect(posted.status == 201, "\(posted.text)")
            // Other users' tokens are untouched.
            #expect(try await h.call(.get, "/v1/inbox", token: cast.bob).status == 200)

            // A JSON body is accepted when empty; anything in it is refused and nothing is appended.
            let before = try h.lastPosition()
            let extra = try await h.call(.post, "/v1/users/ann/token", token: cast.admin, body: #"{"token":"mine"}"#)
            #expect(extra.status == 400)
            #expect(extra.errorCode == "unknown_field")
            let missing = try await h.call(.post, "/v1/users/nobody/token", token: cast.admin)
            #expect(missing.status == 404)
            #expect(missing.errorCode == "not_found")
            #expect(try await h.call(.post, "/v1/users/ann/token", token: token).status == 403)
            #expect(try h.lastPosition() == before)

            // With an Idempotency-Key a repeat replaces nothing more: the first token was shown once.
            let keyed = try await h.call(
                .post, "/v1/users/hal/token", token: cast.admin, headers: ["Idempotency-Key": "rotate-hal-1"])
            #expect(keyed.status == 200)
            let halToken = try #require(keyed.json["token"] as? String)
            let repeated = try await h.call(
                .post, "/v1/users/hal/token", token: cast.admin, headers: ["Idempotency-Key": "rotate-hal-1"])
            #expect(repeated.status == 409)
            #expect(repeated.errorCode == "already_created")
            #expect(try await h.call(.get, "/v1/inbox", token: halToken).status == 200)

            // The log records the new token's hash, never the token; a new process folds the same directory.
            let events = try await h.call(.get, "/v1/events?from=1&limit=1000", token: cast.admin)
            let replaced = (events.json["events"] as? [[String: Any]] ?? []).filter {
                $0["type"] as? String == "user.token_replaced" && ($0["data"] as? [String: Any])?["id"] as? String == "ann"
            }
            #expect(replaced.count == 1)
            #expect((replaced.first?["data"] as? [String: Any])?["tokenHash"] as? String == Tokens.hash(token))
            #expect(!events.text.contains(token))
            let restarted = try CommandHandler(store: h.store).currentDirectory()
            #expect(restarted.principal(withTokenHash: Tokens.hash(token)) == .user("ann"))
            #expect(restarted.principal(withTokenHash: Tokens.hash(cast.ann)) == nil)
        }
    }

    @Test("a revoked service token stops reading the event stream at once; revoking it again is 404")
    func revokeServiceToken() async throws {
        try await withHarness { h in
            let cast = try await h.seed()
            let created = try await h.call(.post, "/v1/service-tokens", token: cast.admin, body: #"{"name":"archive"}"#)
            let id = try #require(created.json["id"] as? String)
            let token = try #require(created.json["token"] as? String)
            #expect(try await h.call(.get, "/v1/events?from=1", token: token).status == 200)

            let revoked = try await h.call(.delete, "/v1/service-tokens/\(id)", token: cast.admin)
            #expect(revoked.status == 200, "\(revoked.text)")
            #expect(revoked.json["id"] as? String == id)
            #expect(revoked.position == (try h.lastPosition()))
            let refused = try await h.call(.get, "/v1/events?from=1", token: token)
            #expect(refused.status == 401)
            #expect(refused.errorCode == "unauthorized")
            // The other service principal still reads.
            #expect(try await h.call(.get, "/v1/events?from=1", token: cast.service).status == 200)

            let before = try h.lastPosition()
            let again = try await h.call(.delete, "/v1/service-tokens/\(id)", token: cast.admin)
            #expect(again.status == 404)
            #expect(again.errorCode == "not_found")
            #expect(try await h.call(.delete, "/v1/service-tokens/\(id)", token: cast.service).status == 403)
            #expect(try h.lastPosition() == before)
        }
    }

    @Test("an open event stream of a revoked service token ends before the revocation is sent")
    func revokedStreamEnds() async throws {
        try await withHarness(heartbeat: .milliseconds(150)) { h in
            let cast = try await h.seed()
            let created = try await h.call(.post, "/v1/service-tokens", token: cast.admin, body: #"{"name":"watcher"}"#)
            let id = try #require(created.json["id"] as? String)
            let token = try #require(created.json["token"] as? String)
            let endpoint = try EventFeedClient.Endpoint(url: "http://127.0.0.1:\(h.port)")
            let port = h.port
            let (seen, ended) = try await { () async throws -> ([UInt64], Bool) in
                var seen: [UInt64] = []
                var revoked = false
                var beats = 0
                do {
                    _ = try await EventFeedClient.stream(endpoint, token: token, after: 0, timeoutSeconds: 10) { item in
                        switch item {
                        case .event(let position, _, _): seen.append(position)
                        case .comment: beats += 1
                        }
                        if !revoked, !seen.isEmpty {
                            revoked = true
                            _ = try? await send(
                                port: port, .delete, "/v1/service-tokens/\(id)", token: Harness.adminToken)
                        }
                        // Still open after some 40 heartbeats (6 s): give up, the stream did not end.
                        return beats < 40
                    }
                    return (seen, false)
                } catch let failure as EventFeedClient.Failure where failure.description == "the event stream ended" {
                    // The server closed it (a hang would have timed out with another error).
                    return (seen, true)
                }
            }()
            #expect(ended)
            let log = try await h.call(.get, "/v1/events?from=1&limit=1000", token: cast.admin)
            let revocation = (log.json["events"] as? [[String: Any]] ?? []).first {
                $0["type"] as? String == "service.token_revoked"
            }
            let position = try #require(revocation?["position"] as? Int)
            #expect(!seen.isEmpty)
            #expect(seen.allSatisfy { $0 < UInt64(position) }, "\(seen) against revocation at \(position)")
            #expect(try await h.call(.get, "/v1/events", token: token).status == 401)
        }
    }
}

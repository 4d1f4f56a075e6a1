import Foundation
import EventFeed
import HTTPAPI
import HTTPTypes
import TestSupport
import Testing

@Suite("HTTP routes over a real server and log")
struct RouteTests {
    @Test("every route does its job end to end", arguments: [ReadKind.logFold, .projected])
    func everyRoute(readKind: ReadKind) async throws {
        try await withHarness(readKind: readKind) { h in
            let cast = try await h.seed()
            let admin = cast.admin

            // Structures, members, categories, settings.
            var reply = try await h.call(
                .post, "/v1/structures", token: admin,
                body: #"{"id":"team","name":"Team","party":"acme","shareHistory":true}"#)
            #expect(reply.status == 201)
            reply = try await h.call(.post, "/v1/structures/team/members", token: admin, body: #"{"user":"hal"}"#)
            #expect(reply.status == 201)
            #expect(reply.position != nil)
            reply = try await h.call(.delete, "/v1/structures/team/members/hal", token: admin)
            #expect(reply.status == 200)
            reply = try await h.call(.delete, "/v1/structures/nope/members/hal", token: admin)
            #expect(reply.status == 404)
            reply = try await h.call(
                .post, "/v1/categories", token: admin,
                body:
                    #"{"id":"billing","name":"Billing","handlerRoles":["handler"],"structures":["team"],"defaultRecipients":["ann"]}"#
            )
            #expect(reply.status == 201)
            reply = try await h.call(
                .put, "/v1/settings", token: admin,
                body: #"{"displayPolicy":{"mode":"custom","text":"Customer service"},"retention":{"days":2000}}"#)
            #expect(reply.status == 200)
            reply = try await h.call(.get, "/v1/settings", token: admin)
            #expect(reply.status == 200)
            #expect((reply.json["retention"] as? [String: Any])?["days"] as? Int == 2000)
            #expect((reply.json["displayPolicy"] as? [String: Any])?["text"] as? String == "Customer service")

            // Opening the same contract again answers the existing thread with 200.
            reply = try await h.call(
                .post, "/v1/threads", token: cast.bob,
                body: #"{"subject":{"kind":"contract","ref":"C-1"},"title":"Again"}"#)
            #expect(reply.status == 200)
            #expect(reply.json["id"] as? String == cast.thread)
            // A ticket gets a number.
            reply = try await h.call(
                .post, "/v1/threads", token: cast.bob,
                body:
                    #"{"subject":{"kind":"ticket"},"title":"Broken login","category":"billing","priority":"urgent","type":"task"}"#
            )
            #expect(reply.status == 201)
            #expect(reply.json["number"] as? String == "TT1")
            let ticket = try #require(reply.json["id"] as? String)

            // Messages, with an attachment uploaded first.
            let upload = try await h.call(
                .post, "/v1/blobs", token: cast.ann, bytes: Array("PDF bytes".utf8),
                headers: ["Content-Type": "application/pdf"])
            #expect(upload.status == 201)
            let sha = try #require(upload.json["sha256"] as? String)
            reply = try await h.call(
                .post, "/v1/threads/\(cast.thread)/messages", token: cast.ann,
                body:
                    #"{"body":"See the invoice","attachments":[{"name":"invoice.pdf","contentType":"application/pdf","size":9,"sha256":"\#(sha)"}]}"#
            )
            #expect(reply.status == 201)
            #expect(reply.json["number"] as? Int == 2)
            let position = try #require(reply.json["position"] as? Int)
            #expect(reply.position == UInt64(position))
            #expect(reply.json["id"] as? String == "\(cast.thread)/2")

            // The blob: readers of the thread get it, others 404.
            reply = try await h.call(.get, "/v1/blobs/\(sha)", token: cast.bob)
            #expect(reply.status == 200)
            #expect(reply.text == "PDF bytes")
            #expect(reply.headers[.contentType] == "application/pdf")
            reply = try await h.call(.get, "/v1/blobs/\(sha)", token: cast.eve)
            #expect(reply.status == 404)

            // The thread as bob sees it: the internal author through the display policy. Another user's
            // write shows in the read models once they reach its position, which bob asks for.
            reply = try await h.call(.get, "/v1/threads/\(cast.thread)?minPosition=\(position)", token: cast.bob)
            #expect(reply.status == 200)
            let messages = try #require(reply.json["messages"] as? [[String: Any]])
            #expect(messages.count == 2)
            #expect((messages[1]["author"] as? [String: Any])?["name"] as? String == "Customer service")
            #expect((messages[1]["attachments"] as? [[String: Any]])?.first?["sha256"] as? String == sha)
            #expect(reply.json["unread"] as? Int == 1)
            #expect((reply.json["contacts"] as? [[String: Any]])?.isEmpty == false)
            reply = try await h.call(.get, "/v1/threads/\(cast.thread)", token: cast.eve)
            #expect(reply.status == 404)
            #expect(reply.errorCode == "thread_not_found")

            // Unread, read marker, inbox.
            reply = try await h.call(.get, "/v1/unread", token: cast.bob)
            #expect(reply.json["total"] as? Int == 1)
            reply = try await h.call(.post, "/v1/threads/\(cast.thread)/read", token: cast.bob, body: #"{"upTo":2}"#)
            #expect(reply.status == 200)
            reply = try await h.call(.get, "/v1/unread", token: cast.bob)
            #expect(reply.json["total"] as? Int == 0)
            reply = try await h.call(.get, "/v1/inbox", token: cast.bob)
            #expect((reply.json["items"] as? [[String: Any]])?.count == 2)
            reply = try await h.call(.get, "/v1/inbox?priority=urgent&type=task", token: cast.bob)
            #expect((reply.json["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [ticket])
            reply = try await h.call(.get, "/v1/inbox?subject=contract:C-1&q=invoice", token: cast.ann)
            #expect((reply.json["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [cast.thread])
            reply = try await h.call(.get, "/v1/inbox?limit=1", token: cast.bob)
            #expect((reply.json["items"] as? [[String: Any]])?.count == 1)
            let cursor = try #require(reply.json["nextCursor"] as? String)
            reply = try await h.call(.get, "/v1/inbox?limit=1&cursor=\(cursor)", token: cast.bob)
            #expect((reply.json["items"] as? [[String: Any]])?.count == 1)
            #expect(reply.json["nextCursor"] == nil)
            reply = try await h.call(.get, "/v1/inbox?unread=true", token: cast.bob)
            #expect((reply.json["items"] as? [[String: Any]])?.isEmpty == true)
            reply = try await h.call(.get, "/v1/inbox?minPosition=1", token: cast.bob)
            #expect(reply.status == 200)

            // Handling: assign, status, block (the outsider cannot post), unblock.
            reply = try await h.call(
                .post, "/v1/threads/\(cast.thread)/assign", token: cast.ann, body: #"{"handler":"ann"}"#)
            #expect(reply.status == 200)
            #expect(reply.json["handler"] as? String == "ann")
            reply = try await h.call(
                .post, "/v1/threads/\(cast.thread)/status", token: cast.ann, body: #"{"status":"waiting"}"#)
            #expect(reply.status == 200)
            #expect(reply.json["status"] as? String == "waiting")
            reply = try await h.call(.post, "/v1/threads/\(cast.thread)/block", token: cast.ann)
            #expect(reply.status == 200)
            #expect(reply.json["blocked"] as? Bool == true)
            reply = try await h.call(
                .post, "/v1/threads/\(cast.thread)/messages", token: cast.bob, body: #"{"body":"hi"}"#)
            #expect(reply.status == 409)
            #expect(reply.errorCode == "thread_blocked")
            reply = try await h.call(.post, "/v1/threads/\(cast.thread)/unblock", token: cast.ann, body: "{}")
            #expect(reply.status == 200)
            reply = try await h.call(
                .post, "/v1/threads/\(cast.thread)/assign", token: cast.bob, body: #"{"handler":"bob"}"#)
            #expect(reply.status == 403)

            // The event feed, liveness and metrics.
            reply = try await h.call(.get, "/v1/events?from=1&limit=2", token: cast.service)
            #expect(reply.status == 200)
            let events = try #require(reply.json["events"] as? [[String: Any]])
            #expect(events.map { $0["position"] as? Int } == [1, 2])
            #expect(events.first?["type"] as? String == "party.created")
            #expect(reply.json["next"] as? Int == 3)
            let last = try h.lastPosition()
            reply = try await h.call(.get, "/v1/events?from=\(last + 1)", token: cast.service)
            #expect((reply.json["events"] as? [Any])?.isEmpty == true)
            #expect(reply.json["next"] as? Int == Int(last + 1))
            reply = try await h.call(.get, "/healthz")
            #expect(reply.status == 200)
            #expect(reply.json["position"] as? Int == Int(last))
            // Paths match with empty segments skipped; HEAD answers a GET route without its body.
            reply = try await h.call(.get, "//v1/threads//\(cast.thread)/", token: cast.bob)
            #expect(reply.status == 200)
            #expect((reply.json["thread"] as? [String: Any])?["id"] as? String == cast.thread)
            reply = try await h.call(.head, "/healthz")
            #expect(reply.status == 200)
            #expect(reply.text.isEmpty)
            reply = try await h.call(.get, "/metrics")
            #expect(reply.status == 200)
            #expect(reply.text.contains("threadlog_http_requests_total"))
            // Requests count under their route's pattern, not their concrete path.
            #expect(reply.text.contains(#"route="/v1/threads/{id}/messages""#))
            #expect(!reply.text.contains("route=\"/v1/threads/\(cast.thread)"))
            #expect(reply.text.contains("threadlog_append_duration_seconds"))
            #expect(reply.text.contains("threadlog_log_group_commits"))
        }
    }

    @Test("authorization: every route × no token, admin, user, outsider, service")
    func authorizationMatrix() async throws {
        try await withHarness { h in
            let cast = try await h.seed()
            #expect(
                try await h.call(
                    .post, "/v1/structures", token: cast.admin, body: #"{"id":"st1","name":"S","party":"acme"}"#
                ).status == 201)
            let blob =
                try await h.call(.post, "/v1/blobs", token: cast.ann, bytes: [1, 2, 3]).json["sha256"] as? String ?? ""
            // The service principal whose token the administrator's DELETE revokes (not the cast's).
            let doomed =
                try await h.call(.post, "/v1/service-tokens", token: cast.admin, body: #"{"name":"doomed"}"#)
                .json["id"] as? String ?? ""
            // The category whose period the administrator sets.
            #expect(
                try await h.call(
                    .post, "/v1/categories", token: cast.admin, body: #"{"id":"cat1","name":"C","handlerRoles":["handler"]}"#
                ).status == 201)
            // A consumer group and a webhook for their routes (each DELETE gets one of its own, below).
            #expect(try await h.call(.post, "/v1/consumer-groups", token: cast.admin, body: #"{"name":"g1"}"#).status == 201)
            let hook =
                try await h.call(
                    .post, "/v1/webhooks", token: cast.admin,
                    body: #"{"url":"http://127.0.0.1:9/hook","secret":"0123456789abcdef"}"#
                ).json["id"] as? String ?? ""
            enum Who: CaseIterable { case nobody, admin, user, outsider, service }
            var counter = 0
            for spec in RouteTable.all {
                for who in Who.allCases {
                    counter += 1
                    let token: String? =
                        switch who {
                        case .nobody: nil
                        case .admin: cast.admin
                        case .user: cast.ann
                        case .outsider: cast.eve
                        case .service: cast.service
                        }
                    let role: CallerRole? =
                        switch who {
                        case .nobody: nil
                        case .admin: .admin
                        case .user, .outsider: .user
                        case .service: .service
                        }
                    var id =
                        switch spec.name {
                        case .getConsumerGroup, .consumerGroupEvents, .ackConsumerGroup: "g1"
                        case .getWebhook, .webhookDeliveries, .pauseWebhook, .resumeWebhook: hook
                        case .addStructureMember, .removeStructureMember: "st1"
                        case .replaceUserToken, .updateUser, .deactivateUser: "hal"
                        case .setCategoryRetention: "cat1"
                        case .revokeServiceToken: doomed
                        // No mail has failed here: the administrator's resend finds none (404).
                        case .resendOutbox: "1.0"
                        default: cast.thread
                        }
                    if spec.name == .deleteConsumerGroup {
                        id = "gone\(counter)"
                        #expect(
                            try await h.call(.post, "/v1/consumer-groups", token: cast.admin, body: #"{"name":"\#(id)"}"#)
                                .status == 201)
                    }
                    if spec.name == .deleteWebhook {
                        id =
                            try await h.call(
                                .post, "/v1/webhooks", token: cast.admin,
                                body: #"{"url":"http://127.0.0.1:9/hook","secret":"0123456789abcdef"}"#
                            ).json["id"] as? String ?? ""
                    }
                    if spec.name == .deleteTemplate {
                        #expect(
                            try await h.call(.put, "/v1/templates/tpl\(counter)", token: cast.admin, body: #"{"text":"T"}"#)
                                .status == 200)
                    }
                    let path = spec.path.replacingOccurrences(of: "{id}", with: id)
                        .replacingOccurrences(of: "{name}", with: "tpl\(counter)")
                    .replacingOccurrences(of: "{user}", with: "hal").replacingOccurrences(of: "{sha256}", with: blob)
                        .replacingOccurrences(of: "{number}", with: "1")
                    let body: String? =
                        switch spec.name {
                        case .createParty: #"{"id":"mp\#(counter)","name":"P","kind":"external"}"#
                        case .createUser:
                            #"{"id":"mu\#(counter)","name":"U","email":"u@example.test","party":"acme","roles":["client"]}"#
                        case .createServiceToken: #"{"name":"reader"}"#
                        case .createStructure: #"{"id":"ms\#(counter)","name":"S","party":"acme"}"#
                        case .addStructureMember: #"{"user":"hal"}"#
                        case .createCategory: #"{"id":"mc\#(counter)","name":"C","handlerRoles":["handler"]}"#
                        case .putSettings: #"{"retention":{"days":1500}}"#
                        case .putTemplate: #"{"text":"A template"}"#
                        case .declareSubject: #"{"kind":"contract","ref":"K-\#(counter)","parties":["sup"]}"#
                        case .openThread: #"{"subject":{"kind":"request","ref":"R-\#(counter)"},"title":"T"}"#
                        case .postMessage: #"{"body":"hello"}"#
                        case .postNote: #"{"body":"a note"}"#
                        case .moveReadMarker: #"{"upTo":1}"#
                        case .assignHandler: #"{"handler":"ann"}"#
                        case .changeStatus: #"{"status":"open"}"#
                        case .changeAttributes: #"{"priority":"high"}"#
                        case .changeMessageKind: #"{"kind":"task"}"#
                        case .placeLegalHold: #"{"reason":"audit"}"#
                        case .setCategoryRetention: #"{"days":400}"#
                        case .updateUser: #"{"name":"Hal \#(counter)"}"#
                        case .createConsumerGroup: #"{"name":"mg\#(counter)","types":["message.posted"]}"#
                        case .ackConsumerGroup: #"{"positions":[]}"#
                        case .createWebhook: #"{"url":"http://127.0.0.1:9/hook","secret":"0123456789abcdef"}"#
                        default: nil
                        }
                    // An admitted caller's feed is a stream that never ends on its own; its answers are
                    // the feed tests' (Tests/WebConsoleTests/FeedTests.swift). Refusals are checked here.
                    if spec.name == .feed, let role, spec.roles.contains(role) { continue }
                    let method = HTTPRequest.Method(spec.method)!
                    let before = try h.lastPosition()
                    let reply =
                        spec.name == .uploadBlob
                        ? try await h.call(method, path, token: token, bytes: [9, 9, counter.bitWidth > 0 ? 7 : 8])
                        : try await h.call(method, path, token: token, body: body)
                    let label = "\(spec.method) \(spec.path) as \(who): \(reply.status) \(reply.text)"
                    if spec.roles.contains(.anyone) {
                        #expect(reply.status == 200, "\(label)")
                    } else if role == nil {
                        #expect(reply.status == 401, "\(label)")
                        #expect(reply.errorCode == "unauthorized", "\(label)")
                    } else if !spec.roles.contains(role!) {
                        #expect(reply.status == 403, "\(label)")
                        #expect(reply.errorCode == "forbidden", "\(label)")
                    } else if spec.name == .putTemplate || spec.name == .deleteTemplate, role == .user {
                        // Users pass the route; only supervisors (not ann, a handler) pass the domain.
                        #expect(reply.status == 403, "\(label)")
                        #expect(reply.errorCode == "not_allowed", "\(label)")
                    } else if spec.name == .resendOutbox {
                        #expect(reply.status == 404, "\(label)")
                    } else if who == .outsider && (path.contains(cast.thread) || spec.name == .getBlob) {
                        // The blob is ann's upload: she gets it, the outsider does not learn it exists.
                        #expect(reply.status == 404, "\(label)")
                    } else {
                        #expect((200..<300).contains(reply.status), "\(label)")
                    }
                    if !(200..<300).contains(reply.status) {
                        #expect(try h.lastPosition() == before, "appended on refusal: \(label)")
                    }
                }
            }
        }
    }

    @Test("bad input is refused with the error shape and appends nothing")
    func badInput() async throws {
        try await withHarness(maxBodyBytes: 4096) { h in
            let cast = try await h.seed()
            let before = try h.lastPosition()
            let admin = cast.admin
            let thread = "/v1/threads/\(cast.thread)"
            let cases: [(HTTPRequest.Method, String, String?, String?, Int, String)] = [
                (.post, "/v1/parties", admin, #"{"id":"#, 400, "invalid_json"),
                (.post, "/v1/parties", admin, #"[1,2]"#, 400, "invalid_json"),
                (
                    .post, "/v1/parties", admin, #"{"id":"x","name":"X","kind":"external","colour":"red"}"#, 400,
                    "unknown_field"
                ),
                (.post, "/v1/parties", admin, #"{"id":7,"name":"X","kind":"external"}"#, 422, "invalid_field"),
                (.post, "/v1/parties", admin, #"{"id":"x","kind":"external"}"#, 422, "missing_field"),
                (.post, "/v1/parties", admin, #"{"id":"x","name":"X","kind":"martian"}"#, 422, "invalid_field"),
                (.post, "/v1/parties", admin, #"{"id":"acme","name":"Again","kind":"internal"}"#, 409, "duplicate_id"),
                (.post, "/v1/parties", admin, #"{"id":"a b","name":"X","kind":"internal"}"#, 422, "invalid_id"),
                (
                    .post, "/v1/parties", admin,
                    "{\"id\":\"x\",\"name\":\"" + String(repeating: "n", count: 5000) + "\",\"kind\":\"internal\"}",
                    413, "body_too_large"
                ),
                (.patch, "/v1/parties", admin, "{}", 405, "method_not_allowed"),
                (.delete, thread, cast.ann, nil, 405, "method_not_allowed"),
                (.get, "/v1/nothing-here", admin, nil, 404, "not_found"),
                (
                    .post, "/v1/users", admin,
                    #"{"id":"z","name":"Z","email":"z@example.test","party":"nope","roles":[]}"#, 422, "unknown_party"
                ),
                (.put, "/v1/settings", admin, #"{"retention":{"days":"long"}}"#, 422, "invalid_field"),
                (.put, "/v1/settings", admin, #"{"retention":{"days":3,"hours":2}}"#, 400, "unknown_field"),
                (.post, "/v1/threads/missing/messages", cast.ann, #"{"body":"hi"}"#, 404, "thread_not_found"),
                (.post, thread + "/messages", cast.bob, #"{"body":""}"#, 422, "empty_message"),
                (.post, thread + "/messages", cast.bob, #"{"body":5}"#, 422, "invalid_field"),
                (.post, thread + "/messages", cast.bob, #"{"body":"x","colour":1}"#, 400, "unknown_field"),
                (.post, thread + "/messages", cast.bob, #"{"text":"x"}"#, 422, "missing_field"),
                (.post, thread + "/messages", cast.bob, #"{"body":null}"#, 422, "missing_field"),
                (
                    .post, thread + "/messages", cast.bob,
                    #"{"body":"x","attachments":[{"name":"a","contentType":"text/plain","size":1,"sha256":"\#(String(repeating: "ab", count: 32))"}]}"#,
                    422, "unknown_blob"
                ),
                (.post, thread + "/read", cast.bob, #"{"upTo":99}"#, 422, "read_marker_out_of_range"),
                (.post, thread + "/read", cast.bob, #"{"upTo":1.5}"#, 422, "invalid_field"),
                (.post, thread + "/read", cast.bob, #"{"upTo":null}"#, 422, "missing_field"),
                (
                    .post, thread + "/messages", cast.bob,
                    #"{"body":"x","attachments":[{"name":"a","contentType":"text/plain","size":1,"sha256":"\#(String(repeating: "ab", count: 32))","colour":1}]}"#,
                    400, "unknown_field"
                ),
                (.post, thread + "/messages", cast.bob, #"{"body":"x","attachments":{"name":"a"}}"#, 422, "invalid_field"),
                (.post, thread + "/status", cast.ann, #"{"status":"sleeping"}"#, 422, "invalid_field"),
                (.post, thread + "/messages", cast.eve, #"{"body":"let me in"}"#, 404, "thread_not_found"),
                (.post, thread + "/block", cast.ann, #"{"why":"spam"}"#, 400, "unknown_field"),
                (.get, "/v1/inbox?limit=500", cast.bob, nil, 422, "invalid_parameter"),
                (.get, "/v1/inbox?unread=maybe", cast.bob, nil, 422, "invalid_parameter"),
                (.get, "/v1/inbox?minPosition=-1", cast.bob, nil, 422, "invalid_parameter"),
                (.get, "/v1/events?from=abc", cast.service, nil, 422, "invalid_parameter"),
                (.post, "/v1/parties", "not-a-token", #"{"id":"y","name":"Y","kind":"external"}"#, 401, "unauthorized"),
            ]
            for (method, path, token, body, status, code) in cases {
                let reply = try await h.call(method, path, token: token, body: body)
                #expect(reply.status == status, "\(method) \(path) \(body ?? ""): \(reply.status) \(reply.text)")
                #expect(reply.errorCode == code, "\(method) \(path) \(body ?? ""): \(reply.text)")
                #expect(reply.headers[.contentType] == "application/json")
            }
            let nested = try await h.call(
                .put, "/v1/settings", token: admin, body: #"{"retention":{"days":3,"hours":2}}"#)
            #expect(nested.text.contains("retention.hours"), "\(nested.text)")
            let big = try await h.call(
                .post, "/v1/blobs", token: cast.ann, bytes: [UInt8](repeating: 1, count: 64 * 1024 + 1))
            #expect(big.status == 413)
            #expect(big.errorCode == "body_too_large")
            #expect(try h.lastPosition() == before)
            // An explicit null for an optional field, or for one the route does not have, is accepted.
            let nulls = try await h.call(
                .post, thread + "/messages", token: cast.bob, body: #"{"body":"nulls","format":null,"colour":null}"#)
            #expect(nulls.status == 201, "\(nulls.text)")
            #expect(try h.lastPosition() == before + 1)
        }
    }

    @Test("a body that repeats a key, at any depth, is refused as invalid JSON naming the key and appends nothing")
    func duplicateKeys() async throws {
        try await withHarness { h in
            let cast = try await h.seed()
            let thread = "/v1/threads/\(cast.thread)"
            func messageCount() async throws -> Int {
                let reply = try await h.call(.get, thread, token: cast.bob)
                return try #require(reply.json["messages"] as? [[String: Any]], "\(reply.text)").count
            }
            let count = try await messageCount()
            let before = try h.lastPosition()
            let sha = String(repeating: "ab", count: 32)
            let cases: [(String, String?, String, String)] = [
                (thread + "/messages", cast.bob, #"{"body":"a","body":"b"}"#, "body"),
                (thread + "/messages", cast.bob, #"{"body":"a","format":"plain","body":"a"}"#, "body"),
                (
                    thread + "/messages", cast.bob,
                    #"{"body":"x","attachments":[{"name":"a","name":"b","contentType":"text/plain","size":1,"sha256":"\#(sha)"}]}"#,
                    "attachments[0].name"
                ),
                ("/v1/parties", cast.admin, #"{"id":"dup","name":"D","kind":"external","id":"dup2"}"#, "id"),
                ("/v1/threads", cast.bob, #"{"subject":{"kind":"contract","ref":"C-9","ref":"C-8"},"title":"T"}"#, "subject.ref"),
            ]
            for (path, token, body, key) in cases {
                let reply = try await h.call(.post, path, token: token, body: body)
                #expect(reply.status == 400, "\(body): \(reply.status) \(reply.text)")
                #expect(reply.errorCode == "invalid_json", "\(body): \(reply.text)")
                let message = (reply.json["error"] as? [String: Any])?["message"] as? String
                #expect(message == "The body repeats the key '\(key)'.", "\(body): \(reply.text)")
            }
            #expect(try h.lastPosition() == before)
            #expect(try await messageCount() == count)
            // The same body without the repeat goes through.
            #expect(try await h.call(.post, thread + "/messages", token: cast.bob, body: #"{"body":"b"}"#).status == 201)
            #expect(try await messageCount() == count + 1)
        }
    }

    @Test("an Idempotency-Key makes a repeated post a no-op that answers the first result")
    func idempotency() async throws {
        try await withHarness { h in
            let cast = try await h.seed()
            let path = "/v1/threads/\(cast.thread)/messages"
            let first = try await h.call(
                .post, path, token: cast.bob, body: #"{"body":"once"}"#, headers: ["Idempotency-Key": "k-1"])
            let position = try h.lastPosition()
            let second = try await h.call(
                .post, path, token: cast.bob, body: #"{"body":"once"}"#, headers: ["Idempotency-Key": "k-1"])
            #expect(first.status == 201)
            #expect(second.status == 201)
            #expect(second.json["id"] as? String == first.json["id"] as? String)
            #expect(second.position == first.position)
            #expect(try h.lastPosition() == position)
            // Another caller's equal key is another command.
            let other = try await h.call(
                .post, path, token: cast.ann, body: #"{"body":"mine"}"#, headers: ["Idempotency-Key": "k-1"])
            #expect(other.status == 201)
            // Ann's answer is a handler's first action on the new thread: the message and the move to open.
            #expect(try h.lastPosition() == position + 2)
            // The key is scoped to the route too: the same caller's key on another route (another
            // method, or another path) is another command, not a replay of the first answer.
            let opened = try await h.call(
                .post, "/v1/threads", token: cast.bob, body: #"{"subject":{"kind":"request","ref":"idem-1"},"title":"Other route"}"#,
                headers: ["Idempotency-Key": "k-1"])
            #expect(opened.status == 201, "\(opened.text)")
            #expect(opened.json["id"] as? String != first.json["id"] as? String)
            #expect(try h.lastPosition() > position + 2)
            let afterOpen = try h.lastPosition()
            let newThread = try #require(opened.json["id"] as? String)
            let elsewhere = try await h.call(
                .post, "/v1/threads/\(newThread)/messages", token: cast.bob, body: #"{"body":"once"}"#,
                headers: ["Idempotency-Key": "k-1"])
            #expect(elsewhere.status == 201)
            #expect(elsewhere.json["id"] as? String != first.json["id"] as? String)
            #expect(try h.lastPosition() == afterOpen + 1)
            // A long key with the longest caller id still fits the log's command id.
            let longKey = String(repeating: "k", count: 200)
            let long = try await h.call(
                .post, path, token: cast.bob, body: #"{"body":"long key"}"#, headers: ["Idempotency-Key": longKey])
            #expect(long.status == 201, "\(long.text)")
        }
    }

    @Test("the live event stream resumes after Last-Event-ID with no gap and no duplicate, and beats while idle")
    func eventStreamResume() async throws {
        try await withHarness(heartbeat: .milliseconds(150)) { h in
            let cast = try await h.seed()
            let endpoint = try EventFeedClient.Endpoint(url: "http://127.0.0.1:\(h.port)")
            let token = cast.service
            // First connection: read five events, see a heartbeat comment once idle later, then leave.
            let firstSeen = try await { () async throws -> [UInt64] in
                var seen: [UInt64] = []
                try await EventFeedClient.stream(endpoint, token: token, after: 0, timeoutSeconds: 10) { item in
                    if case .event(let position, _, let envelope) = item {
                        seen.append(position)
                        #expect(String(decoding: envelope, as: UTF8.self).hasPrefix(#"{"position":\#(position),"#))
                    }
                    return seen.count < 5
                }
                return seen
            }()
            #expect(firstSeen == [1, 2, 3, 4, 5])
            // More happens while nobody listens.
            for index in 0..<3 {
                #expect(
                    try await h.call(
                        .post, "/v1/threads/\(cast.thread)/messages", token: cast.bob, body: #"{"body":"m\#(index)"}"#
                    ).status == 201)
            }
            let target = try h.lastPosition()
            let port = h.port
            // Second connection resumes after the last id seen; it also posts one more while connected.
            let secondSeen = try await { () async throws -> ([UInt64], Bool) in
                var seen: [UInt64] = []
                var beats = 0
                var posted = false
                try await EventFeedClient.stream(endpoint, token: token, after: firstSeen.last!, timeoutSeconds: 10) { item in
                    switch item {
                    case .event(let position, _, _):
                        seen.append(position)
                    case .comment(let text):
                        if text == "heartbeat" { beats += 1 }
                    }
                    if seen.last == target && !posted {
                        posted = true
                        _ = try? await send(
                            port: port, .post, "/v1/parties", token: Harness.adminToken,
                            body: #"{"id":"late","name":"Late","kind":"external"}"#)
                    }
                    return !(seen.last == target + 1 && beats >= 1)
                }
                return (seen, beats >= 1)
            }()
            #expect(secondSeen.0 == Array(6...(target + 1)))
            #expect(secondSeen.1)
            // A stream for a user token is refused.
            let refused = try await h.call(
                .get, "/v1/events", token: cast.bob, headers: ["Accept": "text/event-stream"])
            #expect(refused.status == 403)
        }
    }

    @Test("the OpenAPI document describes exactly the routes of the route table")
    func openAPIMatchesRoutes() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Schemas/openapi.json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        #expect((document["openapi"] as? String)?.hasPrefix("3.1") == true)
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        var documented = Set<String>()
        for (path, item) in paths {
            for key in item.keys where methods.contains(key) { documented.insert("\(key.uppercased()) \(path)") }
        }
        let routed = Set(RouteTable.all.map { "\($0.method) \($0.path)" })
        #expect(
            routed.subtracting(documented).isEmpty,
            "routes missing from the document: \(routed.subtracting(documented).sorted())")
        #expect(
            documented.subtracting(routed).isEmpty,
            "documented routes the server lacks: \(documented.subtracting(routed).sorted())")
    }
}

import Crypto
import Engine
import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import Messaging
import Subscriptions
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Opens `count` request threads (as ann) and posts `messages` messages round-robin over them.
private func postMessages(_ h: Harness, _ cast: Cast, threads count: Int, messages: Int) async throws -> [String] {
    var threads: [String] = []
    for index in 0..<count {
        let reply = try await h.call(
            .post, "/v1/threads", token: cast.ann,
            body: #"{"subject":{"kind":"request","ref":"GR-\#(index)"},"title":"Work \#(index)"}"#)
        guard reply.status == 201, let id = reply.json["id"] as? String else {
            throw TestFailure("open: \(reply.status) \(reply.text)")
        }
        threads.append(id)
    }
    for index in 0..<messages {
        let reply = try await h.call(
            .post, "/v1/threads/\(threads[index % count])/messages", token: cast.ann, body: #"{"body":"m\#(index)"}"#)
        guard reply.status == 201 else { throw TestFailure("post: \(reply.status) \(reply.text)") }
    }
    return threads
}

/// The positions and streams of the log's events of one type, read back from `/v1/events`.
private func logEvents(_ h: Harness, _ cast: Cast, type: String) async throws -> [(position: Int, stream: String)] {
    var found: [(Int, String)] = []
    var from = 1
    while true {
        let reply = try await h.call(.get, "/v1/events?from=\(from)&limit=1000", token: cast.service)
        let events = reply.json["events"] as? [[String: Any]] ?? []
        if events.isEmpty { return found }
        for event in events where event["type"] as? String == type {
            found.append((event["position"] as! Int, event["stream"] as! String))
        }
        from = reply.json["next"] as! Int
    }
}

/// What the members of a group handled, in the order they handled it.
private final class Handled: Sendable {
    let entries = Mutex<[(member: String, position: Int, stream: String)]>([])
    func add(_ member: String, _ position: Int, _ stream: String) {
        entries.withLock { $0.append((member, position, stream)) }
    }
}

@Suite("Consumer groups and webhooks")
struct SubscriptionTests {
    @Test("a group of three: every event handled, a stream's events in order across members, a silent member's events go to the others")
    func groupSharesWork() async throws {
        try await withHarness { h in
            let cast = try await h.seed()
            let created = try await h.call(
                .post, "/v1/consumer-groups", token: cast.service,
                body: #"{"name":"workers","types":["message.posted"],"ackTimeoutMs":800,"maxInFlight":4}"#)
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json["checkpoint"] as? Int == 0)
            _ = try await postMessages(h, cast, threads: 5, messages: 60)
            let expected = try await logEvents(h, cast, type: "message.posted")
            #expect(expected.count == 61)
            // The first member takes a batch and falls silent: no ack, no further poll.
            let lost = try await h.call(
                .get, "/v1/consumer-groups/workers/events?member=silent&max=4", token: cast.service)
            let silentEvents = lost.json["events"] as? [[String: Any]] ?? []
            #expect(silentEvents.count == 4, "\(lost.text)")
            let handled = Handled()
            let total = expected.count
            try await withThrowingTaskGroup(of: Void.self) { group in
                for member in ["m1", "m2"] {
                    group.addTask {
                        let deadline = ContinuousClock.now + .seconds(60)
                        while ContinuousClock.now < deadline {
                            let done = Set(handled.entries.withLock { $0.map(\.position) }).count
                            if done >= total { return }
                            let reply = try await h.call(
                                .get, "/v1/consumer-groups/workers/events?member=\(member)&max=3&wait=1",
                                token: cast.service)
                            guard reply.status == 200 else { throw TestFailure("poll: \(reply.status) \(reply.text)") }
                            var positions: [Int] = []
                            for event in reply.json["events"] as? [[String: Any]] ?? [] {
                                let position = event["position"] as! Int
                                handled.add(member, position, event["stream"] as! String)
                                positions.append(position)
                            }
                            if positions.isEmpty { continue }
                            let ack = try await h.call(
                                .post, "/v1/consumer-groups/workers/ack", token: cast.service,
                                body: #"{"member":"\#(member)","positions":\#(positions)}"#)
                            guard ack.status == 200 else { throw TestFailure("ack: \(ack.status) \(ack.text)") }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let entries = handled.entries.withLock { $0 }
            // Every event handled; the silent member's ones by the others.
            #expect(Set(entries.map(\.position)) == Set(expected.map(\.position)))
            for event in silentEvents {
                #expect(entries.contains { $0.position == event["position"] as! Int })
            }
            // Both working members had a share.
            #expect(Set(entries.map(\.member)) == ["m1", "m2"])
            // Per stream, the events were handled in position order (a redelivery may repeat one).
            for stream in Set(expected.map(\.stream)) {
                var seen: [Int] = []
                for entry in entries where entry.stream == stream && !seen.contains(entry.position) {
                    seen.append(entry.position)
                }
                #expect(seen == seen.sorted(), "stream \(stream) handled out of order: \(seen)")
            }
            // The checkpoint covers everything, durably: the group's record says so too.
            let status = try await h.call(.get, "/v1/consumer-groups/workers", token: cast.service)
            #expect(status.json["checkpoint"] as? Int == Int(try h.lastPosition()), "\(status.text)")
            #expect((status.json["redelivered"] as? Int ?? 0) >= 4, "\(status.text)")
            #expect(status.json["pending"] as? Int == 0)
            // Acks are idempotent; a deleted group is gone for its members.
            let again = try await h.call(
                .post, "/v1/consumer-groups/workers/ack", token: cast.service, body: #"{"positions":[5,6]}"#)
            #expect(again.json["acknowledged"] as? Int == 0)
            #expect(try await h.call(.delete, "/v1/consumer-groups/workers", token: cast.service).status == 200)
            let gone = try await h.call(.get, "/v1/consumer-groups/workers/events", token: cast.service)
            #expect(gone.status == 404)
            #expect(gone.errorCode == "group_not_found")
        }
    }

    @Test("consumer groups refuse bad input with the error shape")
    func groupBadInput() async throws {
        try await withHarness { h in
            let cast = try await h.seed()
            let cases: [(String, String, Int, String)] = [
                ("/v1/consumer-groups", #"{"name":"a b"}"#, 422, "invalid_id"),
                ("/v1/consumer-groups", #"{"name":"x","types":["no.such"]}"#, 422, "invalid_field"),
                ("/v1/consumer-groups", #"{"name":"x","from":999999}"#, 422, "invalid_field"),
                ("/v1/consumer-groups", #"{"name":"x","ackTimeoutMs":5}"#, 422, "invalid_field"),
                ("/v1/consumer-groups", #"{"name":"x","colour":"red"}"#, 400, "unknown_field"),
                ("/v1/webhooks", #"{"url":"ftp://x/","secret":"0123456789abcdef"}"#, 422, "invalid_field"),
                ("/v1/webhooks", #"{"url":"http://127.0.0.1:9/","secret":"short"}"#, 422, "invalid_field"),
                ("/v1/webhooks", #"{"url":"http://127.0.0.1:9/","secret":"0123456789abcdef","types":["*"]}"#, 422, "invalid_field"),
            ]
            for (path, body, status, code) in cases {
                let reply = try await h.call(.post, path, token: cast.admin, body: body)
                #expect(reply.status == status, "\(path) \(body): \(reply.text)")
                #expect(reply.errorCode == code, "\(path) \(body): \(reply.text)")
            }
            #expect(try await h.call(.get, "/v1/consumer-groups", token: cast.admin).json["groups"] as? [Any] != nil)
            #expect(try await h.call(.post, "/v1/consumer-groups", token: cast.admin, body: #"{"name":"x"}"#).status == 201)
            let twice = try await h.call(.post, "/v1/consumer-groups", token: cast.admin, body: #"{"name":"x"}"#)
            #expect(twice.status == 409)
            let badPoll = try await h.call(.get, "/v1/consumer-groups/x/events?wait=99", token: cast.admin)
            #expect(badPoll.status == 422)
            let missing = try await h.call(.get, "/v1/webhooks/wh-none", token: cast.admin)
            #expect(missing.status == 404)
            #expect(missing.errorCode == "webhook_not_found")
        }
    }

    @Test("a webhook gets each event signed and in order, retries a failure and a timeout, pauses after repeated failures and resumes")
    func webhookDelivery() async throws {
        let receiver = try await Receiver.start()
        defer { receiver.stop() }
        try await withHarness { h in
            let cast = try await h.seed()
            let secret = "a-secret-of-sixteen-or-more"
            // First: two failures, then one answer too late, then success.
            receiver.script(["/steady": [.status(500), .status(503), .stall(seconds: 2)]])
            let head = Int(try h.lastPosition())
            let created = try await h.call(
                .post, "/v1/webhooks", token: cast.admin,
                body:
                    #"{"url":"http://127.0.0.1:\#(receiver.port)/steady","secret":"\#(secret)","types":["message.posted","thread.*"],"timeoutMs":500,"maxFailures":5}"#
            )
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json["secret"] == nil)
            let id = try #require(created.json["id"] as? String)
            _ = try await postMessages(h, cast, threads: 2, messages: 6)
            var wanted: [Int] = []
            var from = 1
            while true {
                let page = try await h.call(.get, "/v1/events?from=\(from)&limit=1000", token: cast.service)
                let events = page.json["events"] as? [[String: Any]] ?? []
                if events.isEmpty { break }
                for event in events {
                    let type = event["type"] as! String
                    let position = event["position"] as! Int
                    // The webhook starts after the log's head at registration.
                    if position > head, type == "message.posted" || type.hasPrefix("thread.") { wanted.append(position) }
                }
                from = page.json["next"] as! Int
            }
            #expect(wanted.count >= 8)
            try await eventually { receiver.delivered("/steady").count >= wanted.count }
            let received = receiver.received.withLock { $0 }.filter { $0.path == "/steady" }
            // Each event answered 2xx, in position order; each body signed with the secret. An answer
            // that came after the timeout counts as a failure and is sent again (a loaded machine), so
            // a repeat is allowed only right after itself.
            let delivered = received.filter { $0.answered == 200 }.map(\.position)
            var firsts: [Int] = []
            for position in delivered where firsts.last != position { firsts.append(position) }
            #expect(firsts == wanted)
            for request in received {
                let mac = HMAC<SHA256>.authenticationCode(for: request.body, using: SymmetricKey(data: Array(secret.utf8)))
                let hex = mac.map { String(format: "%02x", $0) }.joined()
                #expect(request.signature == "sha256=" + hex)
                let envelope = try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any]
                #expect(envelope?["position"] as? Int == request.position)
            }
            // The first event was tried at least four times: 500, 503, a timeout, then delivered.
            #expect(received.filter { $0.position == wanted[0] }.count >= 4)
            let attempts = try await h.call(.get, "/v1/webhooks/\(id)/deliveries?limit=200", token: cast.admin)
            let records = attempts.json["deliveries"] as? [[String: Any]] ?? []
            let first = records.filter { $0["position"] as? Int == wanted[0] }.sorted { ($0["attempt"] as! Int) < ($1["attempt"] as! Int) }
            // The receiver answered 500, 503, then too late. On a loaded machine an earlier answer may
            // also come after the 500 ms: that attempt is recorded as a timeout, without a status.
            #expect(first.count >= 4, "\(first)")
            for (record, scripted) in zip(first, [500, 503, nil] as [Int?]) {
                let status = record["status"] as? Int
                let timedOut = status == nil && (record["error"] as? String)?.contains("no answer within 500 ms") == true
                #expect(status == scripted || timedOut, "\(first)")
            }
            #expect(first.last?["status"] as? Int == 200, "\(first)")
            #expect((first[2]["error"] as? String)?.contains("no answer within 500 ms") == true, "\(first)")
            let state = try await h.call(.get, "/v1/webhooks/\(id)", token: cast.admin)
            #expect(state.json["delivered"] as? Int == wanted.last)
            #expect(state.json["failures"] as? Int == 0)

            // A receiver that keeps failing: paused after maxFailures, visible, then resumed.
            receiver.script(["/flaky": Array(repeating: .status(500), count: 3)])
            let flaky = try await h.call(
                .post, "/v1/webhooks", token: cast.admin,
                body:
                    #"{"url":"http://127.0.0.1:\#(receiver.port)/flaky","secret":"\#(secret)","types":["message.posted"],"maxFailures":3,"from":1}"#
            )
            let flakyID = try #require(flaky.json["id"] as? String)
            try await eventually {
                let reply = try await h.call(.get, "/v1/webhooks/\(flakyID)", token: cast.admin)
                return reply.json["state"] as? String == "paused"
            }
            let paused = try await h.call(.get, "/v1/webhooks/\(flakyID)", token: cast.admin)
            #expect(paused.json["failures"] as? Int == 3)
            #expect((paused.json["lastError"] as? String)?.contains("500") == true)
            #expect(paused.json["pausedAt"] is String)
            let resumed = try await h.call(.post, "/v1/webhooks/\(flakyID)/resume", token: cast.admin)
            #expect(resumed.json["state"] as? String == "active")
            let all = try await logEvents(h, cast, type: "message.posted").map(\.position)
            try await eventually { Set(receiver.delivered("/flaky")).isSuperset(of: all) }
            #expect(try await h.call(.delete, "/v1/webhooks/\(flakyID)", token: cast.admin).status == 200)
            #expect(try await h.call(.get, "/v1/webhooks/\(flakyID)", token: cast.admin).status == 404)
        }
    }
}

extension SubscriptionTests {
    @Test("after a purge, groups and webhooks get the thread's events without content, and thread.purged")
    func purgedContent() async throws {
        let receiver = try await Receiver.start()
        defer { receiver.stop() }
        try await withHarness(readKind: .projected) { h in
            let cast = try await h.seed()
            let secret = "purge-secret-0123456789"
            let post = try await h.call(
                .post, "/v1/threads/\(cast.thread)/messages", token: cast.bob, body: #"{"body":"private words"}"#)
            #expect(post.status == 201)
            _ = try await h.handler.handle(.purgeThread(thread: ThreadID(cast.thread), reason: "test"), actor: .admin)
            let retention = Retention(
                log: h.store, models: try #require(h.models), handler: h.handler,
                data: try DataDirectory(h.directory.sub("data"), create: false))
            let report = try await retention.run(asOfMillis: 0, dryRun: false)
            #expect(report.erasedRecords > 0)
            #expect(
                try await h.call(
                    .post, "/v1/consumer-groups", token: cast.service,
                    body: #"{"name":"archive","types":["message.posted","thread.purged"]}"#
                ).status == 201)
            let polled = try await h.call(.get, "/v1/consumer-groups/archive/events?max=1000", token: cast.service)
            #expect(!polled.text.contains("private words"))
            let events = polled.json["events"] as? [[String: Any]] ?? []
            let ofThread = events.filter { ($0["stream"] as? String)?.contains(cast.thread) == true }
            #expect(ofThread.last?["type"] as? String == "thread.purged")
            for event in ofThread.dropLast() {
                #expect(event["purged"] as? Bool == true, "\(event)")
                #expect(event["data"] is NSNull, "\(event)")
            }
            let hook = try await h.call(
                .post, "/v1/webhooks", token: cast.admin,
                body:
                    #"{"url":"http://127.0.0.1:\#(receiver.port)/archive","secret":"\#(secret)","types":["message.posted","thread.purged"],"from":1}"#
            )
            #expect(hook.status == 201)
            try await eventually { receiver.delivered("/archive").count == events.count }
            let bodies = receiver.received.withLock { $0 }.filter { $0.path == "/archive" }.map(\.body)
            #expect(!bodies.contains { String(decoding: $0, as: UTF8.self).contains("private words") })
            #expect(bodies.contains { String(decoding: $0, as: UTF8.self).contains(#""type":"thread.purged""#) })
        }
    }
}

extension SubscriptionTests {
    @Test("a streaming member gets its events as server-sent events; when its connection closes they go to another member")
    func streamingMember() async throws {
        try await withHarness { h in
            let cast = try await h.seed()
            #expect(
                try await h.call(
                    .post, "/v1/consumer-groups", token: cast.service,
                    body: #"{"name":"live","types":["message.posted"],"ackTimeoutMs":600000,"maxInFlight":3}"#
                ).status == 201)
            for index in 0..<3 {
                #expect(
                    try await h.call(
                        .post, "/v1/threads/\(cast.thread)/messages", token: cast.bob, body: #"{"body":"s\#(index)"}"#
                    ).status == 201)
            }
            let port = h.port
            let token = cast.service
            let request =
                "GET /v1/consumer-groups/live/events?member=s1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nAccept: text/event-stream\r\n\r\n"
            // The stream stays open while the test looks at the group, then closes.
            let opened = AsyncStream<Void>.makeStream()
            let closing = DispatchSemaphore(value: 0)
            let streamed = Task {
                try await onThread { () -> String in
                    let socket = try RawSocket(port: port)
                    socket.send(request)
                    let deadline = ContinuousClock.now + .seconds(30)
                    while socket.bufferText.components(separatedBy: "event: message.posted").count < 4,
                        ContinuousClock.now < deadline
                    {
                        _ = socket.wait(.milliseconds(200))
                    }
                    opened.continuation.yield()
                    closing.wait()
                    return socket.bufferText
                }
            }
            var iterator = opened.stream.makeAsyncIterator()
            await iterator.next()
            let status = try await h.call(.get, "/v1/consumer-groups/live", token: cast.service)
            let members = status.json["members"] as? [[String: Any]] ?? []
            #expect(members.first?["id"] as? String == "s1", "\(status.text)")
            #expect(members.first?["streaming"] as? Bool == true)
            #expect(members.first?["inFlight"] as? Int == 3)
            // One stream per member name.
            let second = try await h.call(
                .get, "/v1/consumer-groups/live/events?member=s1", token: cast.service,
                headers: ["Accept": "text/event-stream"])
            #expect(second.status == 409)
            #expect(second.errorCode == "member_connected")
            closing.signal()
            let text = try await streamed.value
            #expect(text.contains("text/event-stream"))
            #expect(text.contains("event: message.posted"))
            // The closed stream's events, never acknowledged, go to the next member at once.
            let polled = try await h.call(.get, "/v1/consumer-groups/live/events?member=p&wait=10", token: cast.service)
            let events = polled.json["events"] as? [[String: Any]] ?? []
            #expect(events.count == 3, "\(polled.text)")
            for event in events { #expect(text.contains("id: \(event["position"] as! Int)")) }
            let after = try await h.call(.get, "/v1/consumer-groups/live", token: cast.service)
            #expect(after.json["redelivered"] as? Int == 3, "\(after.text)")
        }
    }
}

/// Waits (bounded) until `condition` holds.
func eventually(seconds: Int = 60, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw TestFailure("the condition did not hold within \(seconds) s")
}

/// A webhook receiver on 127.0.0.1: answers each path's scripted replies first (a status, or no
/// answer for a while), then 200; records every request.
final class Receiver: Sendable {
    enum Reply: Sendable { case status(Int), stall(seconds: Int) }
    struct Request: Sendable {
        var path: String
        var position: Int
        var signature: String
        var body: [UInt8]
        /// The status answered; nil when the answer was held back.
        var answered: Int?
    }

    let port: Int
    let received = Mutex<[Request]>([])
    private let scripts = Mutex<[String: [Reply]]>([:])
    /// How long each unscripted answer takes.
    let delay = Mutex<Duration>(.zero)
    /// Once this many requests are answered, further ones wait (unanswered) until it is set to nil.
    let holdAfter = Mutex<Int?>(nil)
    private let task = Mutex<Task<Void, any Error>?>(nil)

    private init(port: Int) { self.port = port }

    func script(_ replies: [String: [Reply]]) { scripts.withLock { $0.merge(replies) { _, new in new } } }

    /// Positions answered 200 on `path`, in arrival order.
    func delivered(_ path: String) -> [Int] {
        received.withLock { $0.filter { $0.path == path && $0.answered == 200 }.map(\.position) }
    }

    fileprivate func nextReply(_ path: String) -> Reply? {
        scripts.withLock { scripts in
            guard var queue = scripts[path], !queue.isEmpty else { return nil }
            let reply = queue.removeFirst()
            scripts[path] = queue
            return reply
        }
    }

    static func start() async throws -> Receiver {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let box = Mutex<Receiver?>(nil)
        let router = Router()
        router.post("/{path}") { request, context -> Response in
            guard let receiver = box.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            var buffer = try await request.body.collect(upTo: 1 << 20)
            let body = buffer.readBytes(length: buffer.readableBytes) ?? []
            let path = request.uri.path
            var entry = Request(
                path: path,
                position: request.headers[HTTPField.Name("X-Threadlog-Position")!].flatMap(Int.init) ?? -1,
                signature: request.headers[HTTPField.Name("X-Threadlog-Signature")!] ?? "", body: body, answered: nil)
            switch receiver.nextReply(path) {
            case .status(let code):
                entry.answered = code
                receiver.received.withLock { $0.append(entry) }
                return Response(status: HTTPResponse.Status(code: code))
            case .stall(let seconds):
                receiver.received.withLock { $0.append(entry) }
                try await Task.sleep(for: .seconds(seconds))
                return Response(status: .ok)
            case nil:
                while let limit = receiver.holdAfter.withLock({ $0 }),
                    receiver.received.withLock({ $0.count }) >= limit
                {
                    try await Task.sleep(for: .milliseconds(20))
                }
                let delay = receiver.delay.withLock { $0 }
                if delay > .zero { try await Task.sleep(for: delay) }
                entry.answered = 200
                receiver.received.withLock { $0.append(entry) }
                return Response(status: .ok)
            }
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) })
        let task = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw TestFailure("the receiver did not start") }
        let receiver = Receiver(port: port)
        box.withLock { $0 = receiver }
        receiver.task.withLock { $0 = task }
        return receiver
    }

    func stop() {
        task.withLock { $0?.cancel() }
    }
}

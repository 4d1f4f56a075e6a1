import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A served log with an admin, a handler and a service token, for the process tests.
private struct Served {
    static let admin = "subscriptions-admin-token-0123456789"
    var server: ServeProcess
    var ann: String
    var service: String
    var threads: [String]

    static func start(data: String, environment: [String: String] = [:], threads count: Int) async throws -> Served {
        var environment = environment
        environment["THREADLOG_ADMIN_TOKEN"] = admin
        let server = try ServeProcess.start(data: data, environment: environment)
        func post(_ path: String, _ token: String, _ body: String) async throws -> [String: Any] {
            let reply = try await send(port: server.port, .post, path, token: token, body: body)
            guard reply.status == 201 else { throw TestFailure("\(path): \(reply.status) \(reply.text)") }
            return reply.json
        }
        _ = try await post("/v1/parties", admin, #"{"id":"acme","name":"Acme","kind":"internal"}"#)
        let ann = try await post(
            "/v1/users", admin, #"{"id":"ann","name":"Ann","email":"ann@example.test","party":"acme","roles":["handler"]}"#)
        let service = try await post("/v1/service-tokens", admin, #"{"name":"workers"}"#)
        let annToken = ann["token"] as! String
        var threads: [String] = []
        for index in 0..<count {
            let opened = try await post(
                "/v1/threads", annToken, #"{"subject":{"kind":"request","ref":"P-\#(index)"},"title":"Work \#(index)"}"#)
            threads.append(opened["id"] as! String)
        }
        return Served(server: server, ann: annToken, service: service["token"] as! String, threads: threads)
    }

    func post(message index: Int) async throws {
        let reply = try await send(
            port: server.port, .post, "/v1/threads/\(threads[index % threads.count])/messages", token: ann,
            body: #"{"body":"m\#(index)"}"#)
        guard reply.status == 201 else { throw TestFailure("post: \(reply.status) \(reply.text)") }
    }

    /// Positions and streams of the log's `message.posted` events.
    func messages() async throws -> [(position: Int, stream: String)] {
        var found: [(Int, String)] = []
        var from = 1
        while true {
            let reply = try await send(port: server.port, .get, "/v1/events?from=\(from)&limit=1000", token: service)
            let events = reply.json["events"] as? [[String: Any]] ?? []
            if events.isEmpty { return found }
            for event in events where event["type"] as? String == "message.posted" {
                found.append((event["position"] as! Int, event["stream"] as! String))
            }
            from = reply.json["next"] as! Int
        }
    }
}

/// A child `threadlog tail --group` writing its NDJSON to a file.
private final class GroupTail: Sendable {
    let process: Child
    let output: String

    init(url: String, token: String, group: String, member: String, output: String) throws {
        self.output = output
        process = try Child(
            productPath("threadlog"),
            ["tail", "--url", url, "--token", token, "--group", group, "--member", member, "--follow"],
            stdout: .file(output))
    }

    /// The (position, stream) of each line printed so far.
    var lines: [(position: Int, stream: String)] {
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let position = object["position"] as? Int, let stream = object["stream"] as? String
            else { return nil }
            return (position, stream)
        }
    }

    func stop(_ signal: Int32 = SIGTERM) {
        process.send(signal)
        process.wait()
    }
}

@Suite("Consumer groups and webhooks across processes")
struct SubscriptionProcessTests {
    @Test("three tail --group processes, one killed by kill -9 mid-stream: every event printed, each stream in order per member")
    func groupOfProcesses() async throws {
        let directory = try TempDirectory()
        let served = try await Served.start(data: directory.sub("data"), threads: 6)
        let created = try await send(
            port: served.server.port, .post, "/v1/consumer-groups", token: served.service,
            body: #"{"name":"workers","types":["message.posted"],"ackTimeoutMs":1000,"maxInFlight":5}"#)
        #expect(created.status == 201, "\(created.text)")
        for index in 0..<30 { try await served.post(message: index) }
        let url = "http://127.0.0.1:\(served.server.port)"
        let tails = try (0..<3).map { index in
            try GroupTail(
                url: url, token: served.service, group: "workers", member: "t\(index)",
                output: directory.sub("tail-\(index).ndjson"))
        }
        // The first tail dies as soon as it has printed something.
        try await eventually { !tails[0].lines.isEmpty }
        tails[0].stop(SIGKILL)
        for index in 30..<90 { try await served.post(message: index) }
        let expected = try await served.messages()
        #expect(expected.count == 90)
        try await eventually {
            Set(tails.flatMap { $0.lines.map(\.position) }).isSuperset(of: expected.map(\.position))
        }
        for tail in tails.dropFirst() { tail.stop() }
        for tail in tails {
            for stream in Set(expected.map(\.stream)) {
                var seen: [Int] = []
                for line in tail.lines where line.stream == stream && !seen.contains(line.position) {
                    seen.append(line.position)
                }
                #expect(seen == seen.sorted(), "\(tail.output): stream \(stream) out of order: \(seen)")
            }
        }
        #expect(tails.dropFirst().allSatisfy { !$0.lines.isEmpty })
        // All acknowledged: the checkpoint reached the last message.
        try await eventually {
            let status = try await send(
                port: served.server.port, .get, "/v1/consumer-groups/workers", token: served.service)
            return status.json["checkpoint"] as? Int ?? 0 >= expected.last!.position
        }
        served.server.signal(SIGTERM)
        _ = await served.server.waitForExit()
    }

    @Test("a webhook's deliveries survive kill -9 of serve: nothing lost, at most the one unrecorded delivery repeated")
    func webhookSurvivesKill() async throws {
        let receiver = try await Receiver.start()
        defer { receiver.stop() }
        receiver.delay.withLock { $0 = .milliseconds(5) }
        // The receiver answers ten deliveries, then holds the next one until the server is killed.
        receiver.holdAfter.withLock { $0 = 10 }
        let directory = try TempDirectory()
        let data = directory.sub("data")
        let served = try await Served.start(
            data: data, environment: ["THREADLOG_WEBHOOK_BACKOFF_MS": "50"], threads: 4)
        let created = try await send(
            port: served.server.port, .post, "/v1/webhooks", token: Served.admin,
            body:
                #"{"url":"http://127.0.0.1:\#(receiver.port)/hook","secret":"0123456789abcdef","types":["message.posted"],"from":1}"#
        )
        #expect(created.status == 201, "\(created.text)")
        let id = try #require(created.json["id"] as? String)
        for index in 0..<60 { try await served.post(message: index) }
        let expected = try await served.messages().map(\.position)
        try await eventually { receiver.delivered("/hook").count >= 10 }
        served.server.signal(SIGKILL)
        _ = await served.server.waitForExit()
        let cut = receiver.delivered("/hook").count
        #expect(cut < expected.count, "all delivered before the kill; nothing was tested")
        receiver.holdAfter.withLock { $0 = nil }
        let restarted = try ServeProcess.start(data: data, environment: ["THREADLOG_ADMIN_TOKEN": Served.admin])
        try await eventually { Set(receiver.delivered("/hook")).isSuperset(of: expected) }
        let delivered = receiver.delivered("/hook")
        // In order, each once, but for the one delivery answered just before the kill and those whose
        // answer came after the timeout (recorded as failed attempts).
        var firsts: [Int] = []
        for position in delivered where !firsts.contains(position) { firsts.append(position) }
        #expect(firsts == expected)
        let attempts = try await send(
            port: restarted.port, .get, "/v1/webhooks/\(id)/deliveries?limit=200", token: Served.admin)
        let failed = (attempts.json["deliveries"] as? [[String: Any]] ?? []).filter { $0["delivered"] as? Bool == false }
        #expect(delivered.count - firsts.count <= 1 + failed.count, "\(delivered)")
        // The position is recorded after the receiver's answer: the last one may still be on its way.
        try await eventually {
            let state = try await send(port: restarted.port, .get, "/v1/webhooks/\(id)", token: Served.admin)
            return state.json["delivered"] as? Int == expected.last
        }
        restarted.signal(SIGTERM)
        #expect(await restarted.waitForExit() == 0)
    }
}

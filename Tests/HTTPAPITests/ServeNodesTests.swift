import EventFeed
import Foundation
import PostgresEventLog
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Three `threadlog serve` nodes on one PostgreSQL log, each with its own data directory, and one SMTP
/// server: a write is read at once on the other nodes, a token holds on every node from the answer
/// on, the event stream resumes on another node, and a kill -9 of the elected node under 16 posting
/// clients loses nothing acknowledged and mails each notification once (but the one in flight).
@Suite("several serve nodes on one PostgreSQL log", .tags(.slow))
struct ServeNodesTests {
    static let admin = "nodes-admin-token"

    /// An acknowledged post: the message and the log position of its `message.posted`.
    struct Ack: Sendable {
        var id: String
        var position: Int
    }

    @Test("three nodes: read-your-writes, tokens, the event stream and a kill -9 of the leader under load")
    func threeNodes() async throws {
        let url = try ServePostgresTests.freshDatabase()
        let smtp = try SMTPTestServer()
        defer { smtp.stop() }
        let directory = try TempDirectory()
        let dataDirectories = (0..<3).map { directory.sub("node\($0)") }
        let environment = [
            "THREADLOG_ADMIN_TOKEN": Self.admin, "THREADLOG_STORE_URL": url, "THREADLOG_SMTP_URL": smtp.url,
            "THREADLOG_MAIL_FROM": "Threadlog <noreply@threads.example>", "THREADLOG_MAIL_POLL_MS": "50",
        ]
        var nodes = try dataDirectories.map { try ServeProcess.start(data: $0, environment: environment) }
        defer {
            for node in nodes where node.process.isRunning {
                node.signal(SIGKILL)
                node.process.wait()
            }
        }
        let leader = try await Self.elected(nodes)
        let (a, b, c) = (nodes[0].port, nodes[1].port, nodes[2].port)

        _ = try await Self.post(a, "/v1/parties", Self.admin, #"{"id":"ops","name":"Ops","kind":"internal"}"#)
        _ = try await Self.post(b, "/v1/parties", Self.admin, #"{"id":"sup","name":"Supplier","kind":"external"}"#)
        _ = try await Self.post(
            c, "/v1/users", Self.admin,
            #"{"id":"ann","name":"Ann","email":"ann@ops.example","party":"ops","roles":["handler"]}"#)
        let bob = try #require(
            try await Self.post(
                a, "/v1/users", Self.admin,
                #"{"id":"bob","name":"Bob","email":"bob@sup.example","party":"sup","roles":["supplier"]}"#)["token"]
                as? String)
        _ = try await Self.post(b, "/v1/subjects", Self.admin, #"{"kind":"contract","ref":"C-7","parties":["sup"]}"#)
        var threads: [String] = []
        for index in 0..<6 {
            let opened = try await Self.post(
                nodes[index % 3].port, "/v1/threads", bob,
                #"{"subject":{"kind":"contract","ref":"C-7"},"title":"T\#(index)","body":"Opening \#(index)"}"#)
            threads.append(try #require(opened["id"] as? String))
        }

        // A write on one node is in the next read on any other.
        var acknowledged: [Ack] = []
        for (writer, readers) in [(a, [b, c]), (b, [c, a]), (c, [a, b])] {
            let posted = try await Self.post(
                writer, "/v1/threads/\(threads[0])/messages", bob, #"{"body":"seen everywhere"}"#)
            let ack = Ack(id: try #require(posted["id"] as? String), position: try #require(posted["position"] as? Int))
            acknowledged.append(ack)
            for reader in readers {
                #expect(try await Self.messageIDs(port: reader, token: bob, thread: threads[0]).contains(ack.id))
            }
        }

        // A token created, replaced on one node holds (or stops) on the others from the answer on.
        let carol = try #require(
            try await Self.post(
                a, "/v1/users", Self.admin,
                #"{"id":"carol","name":"Carol","email":"carol@sup.example","party":"sup","roles":["supplier"]}"#)[
                    "token"]
                as? String)
        #expect(try await send(port: b, .get, "/v1/inbox", token: carol).status == 200)
        let replaced = try #require(
            try await Self.post(c, "/v1/users/carol/token", Self.admin, "{}")["token"] as? String)
        #expect(try await send(port: a, .get, "/v1/inbox", token: carol).status == 401)
        #expect(try await send(port: b, .get, "/v1/inbox", token: carol).status == 401)
        #expect(try await send(port: a, .get, "/v1/inbox", token: replaced).status == 200)

        // The event stream of one node resumes on another by Last-Event-ID: no gap, no duplicate.
        let service = try #require(
            try await Self.post(b, "/v1/service-tokens", Self.admin, #"{"name":"feed"}"#)["token"] as? String)
        let store = try PostgresEventStore.open(url: url, create: false)
        defer { store.close() }
        let head = try store.lastPosition()
        var streamed: [UInt64] = []
        var resumeAfter: UInt64 = 0
        for port in [a, c] {
            resumeAfter = try await EventFeedClient.stream(
                try EventFeedClient.Endpoint(url: "http://127.0.0.1:\(port)"), token: service, after: resumeAfter
            ) { item in
                guard case .event(let position, _, _) = item else { return true }
                streamed.append(position)
                return position < (port == a ? head / 2 : head)
            }
        }
        #expect(streamed == Array(1...head))

        // 16 clients over the three nodes; the elected node is killed mid-load and started again.
        let counter = AckCounter()
        let ports = nodes.map(\.port)
        async let load = Self.load(ports: ports, token: bob, threads: threads, perClient: 12, counter: counter)
        let started = ContinuousClock.now
        while counter.value < 48 && ContinuousClock.now - started < .seconds(60) {
            try await Task.sleep(for: .milliseconds(10))
        }
        nodes[leader].signal(SIGKILL)
        _ = await nodes[leader].waitForExit()
        nodes[leader] = try ServeProcess.start(data: dataDirectories[leader], environment: environment)
        acknowledged += await load
        #expect(acknowledged.count == 3 + 16 * 12)
        // Another node (or the restarted one) took the lead.
        _ = try await Self.elected(nodes)

        // Every acknowledged write is on every node, the log is gapless and verifies.
        for node in nodes {
            var present = Set<String>()
            for thread in threads {
                present.formUnion(try await Self.messageIDs(port: node.port, token: bob, thread: thread))
            }
            let missing = acknowledged.filter { !present.contains($0.id) }
            #expect(missing.isEmpty, "node \(node.port): acknowledged but missing: \(missing.prefix(5).map(\.id))")
        }
        let last = try store.lastPosition()
        #expect(try store.read(from: 1, limit: Int(last) + 10).map(\.position) == Array(1...last))
        let threadlog = productPath("threadlog")
        let verify = try run(threadlog, ["replay", "--verify", "--store", url])
        #expect(verify.status == 0, "\(verify.stdout.suffix(300)) \(verify.stderr)")

        // Each node's views answer exactly as views rebuilt from the log.
        for (index, node) in nodes.enumerated() {
            let kept = try await CrashLoopTests.answers(port: node.port, token: bob, threads: threads)
            let rebuild = try run(
                threadlog, ["project", "rebuild", "--all", "--data", dataDirectories[index], "--store", url])
            #expect(rebuild.status == 0, "\(rebuild.stderr)")
            let rebuilt = try await CrashLoopTests.answers(port: node.port, token: bob, threads: threads)
            #expect(kept == rebuilt, "node \(index): the views differ from a rebuild")
        }

        // Each message's notification reached the SMTP server once across the nodes; only the one
        // mail in flight at the kill may have come twice, under the same Message-ID.
        let ledger = try MailLedger(url: PostgresURL(url))
        defer { ledger.close() }
        // Settled: every acknowledged message mailed, and every mail received recorded as delivered.
        func unrecorded(_ received: [String: Int]) throws -> [String] {
            try received.keys.filter { id in
                guard
                    case .delivered = try ledger.outcome(
                        of: String(id.dropFirst("<threadlog.".count).prefix { $0 != "@" }))
                else { return true }
                return false
            }
        }
        let wanted = Set(acknowledged.map(\.position))
        var received: [String: Int] = [:]
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            received = try Self.messageIDCounts(smtp)
            if wanted.isSubset(of: Set(received.keys.compactMap(Self.position))), try unrecorded(received).isEmpty {
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        try await Task.sleep(for: .seconds(1))
        received = try Self.messageIDCounts(smtp)
        let mailed = Set(received.keys.compactMap(Self.position))
        #expect(
            wanted.subtracting(mailed).isEmpty,
            "no notification for positions \(wanted.subtracting(mailed).sorted().prefix(10))")
        let repeated = received.filter { $0.value > 1 }
        #expect(repeated.count <= 1 && repeated.values.allSatisfy { $0 == 2 }, "sent more than once: \(repeated)")
        let left = try unrecorded(received)
        #expect(left.isEmpty, "received but not recorded as delivered: \(left)")

        for node in nodes { node.signal(SIGTERM) }
        for node in nodes { #expect(await node.waitForExit() == 0) }
    }

    /// The one node that says it was elected (waits for it).
    static func elected(_ nodes: [ServeProcess]) async throws -> Int {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let elected = nodes.indices.filter {
                nodes[$0].process.isRunning && nodes[$0].stdout.contains("elected: this node")
            }
            #expect(elected.count <= 1, "several nodes elected at once: \(elected)")
            if elected.count == 1 { return elected[0] }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("no node was elected: \(nodes.map(\.stdout))")
    }

    static func post(_ port: Int, _ path: String, _ token: String, _ body: String) async throws -> [String: Any] {
        let reply = try await send(port: port, .post, path, token: token, body: body)
        guard (200..<300).contains(reply.status) else {
            throw TestFailure("\(path) on \(port): \(reply.status) \(reply.text)")
        }
        return reply.json
    }

    static func messageIDs(port: Int, token: String, thread: String) async throws -> Set<String> {
        let view = try await send(port: port, .get, "/v1/threads/\(thread)?limit=200", token: token)
        guard view.status == 200 else { throw TestFailure("thread \(thread) on \(port): \(view.status) \(view.text)") }
        return Set((view.json["messages"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
    }

    /// Each client posts `perClient` messages, starting on node `client % 3`; a refused connection (a
    /// killed node) moves it to the next node, where it posts the same message again.
    static func load(ports: [Int], token: String, threads: [String], perClient: Int, counter: AckCounter) async -> [Ack]
    {
        await withTaskGroup(of: [Ack].self) { group in
            for client in 0..<16 {
                group.addTask {
                    var acked: [Ack] = []
                    var node = client % ports.count
                    var sequence = 0
                    var failures = 0
                    while sequence < perClient && failures < 100 {
                        let thread = threads[(client + sequence) % threads.count]
                        let reply = try? await send(
                            port: ports[node], .post, "/v1/threads/\(thread)/messages", token: token,
                            body: #"{"body":"client \#(client) message \#(sequence)"}"#)
                        guard let reply, reply.status == 201, let id = reply.json["id"] as? String,
                            let position = reply.json["position"] as? Int
                        else {
                            failures += 1
                            node = (node + 1) % ports.count
                            try? await Task.sleep(for: .milliseconds(20))
                            continue
                        }
                        acked.append(Ack(id: id, position: position))
                        counter.increment()
                        sequence += 1
                    }
                    return acked
                }
            }
            var all: [Ack] = []
            for await acked in group { all += acked }
            return all
        }
    }

    /// How often each Message-ID arrived.
    static func messageIDCounts(_ smtp: SMTPTestServer) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for mail in try smtp.messages() {
            guard let line = mail.headerLines.first(where: { $0.lowercased().hasPrefix("message-id:") }) else {
                continue
            }
            counts[line.dropFirst("message-id:".count).trimmingCharacters(in: .whitespaces), default: 0] += 1
        }
        return counts
    }

    /// The log position a notification's Message-ID names (`<threadlog.<position>.<index>@…>`).
    static func position(_ messageID: String) -> Int? {
        guard messageID.hasPrefix("<threadlog.") else { return nil }
        return Int(messageID.dropFirst("<threadlog.".count).prefix { $0.isNumber })
    }
}

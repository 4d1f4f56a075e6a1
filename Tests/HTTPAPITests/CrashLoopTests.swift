import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import TestSupport

/// kill -9 of `serve` under 16 posting clients, again and again: nothing acknowledged is lost, the log
/// verifies, and the views equal a rebuild after every restart. `THREADLOG_CRASH_CYCLES` sets the
/// number of cycles (3 by default; `make crash-test` runs 100).
@Suite("kill -9 loop", .tags(.slow))
struct CrashLoopTests {
    static var cycles: Int {
        ProcessInfo.processInfo.environment["THREADLOG_CRASH_CYCLES"].flatMap(Int.init).map { max(1, $0) } ?? 3
    }

    /// 16 clients post; once `acknowledgements` posts were acknowledged (or 30 s passed), and a random
    /// further delay up to `maxDelay` ms, the server is killed with SIGKILL. Answers the acknowledged ids.
    static func postUntilKilled(
        port: Int, token: String, threads: [String], server: ServeProcess, acknowledgements: Int = 32,
        maxDelay: UInt64 = 100
    ) async throws -> [String] {
        let counter = AckCounter()
        return try await withThrowingTaskGroup(of: [String].self) { group in
            for client in 0..<16 {
                group.addTask {
                    var acked: [String] = []
                    let connection = TestClient(host: "127.0.0.1", port: port)
                    connection.connect()
                    var fields = HTTPFields()
                    fields[.authorization] = "Bearer \(token)"
                    fields[.contentType] = "application/json"
                    for sequence in 0..<100_000 {
                        let thread = threads[(client + sequence) % threads.count]
                        do {
                            let response = try await connection.execute(
                                TestClient.Request(
                                    "/v1/threads/\(thread)/messages", method: .post, headers: fields,
                                    body: ByteBuffer(string: #"{"body":"client \#(client) message \#(sequence)"}"#)))
                            guard response.status == .created else { break }
                            var body = response.body ?? ByteBuffer()
                            let object = try JSONSerialization.jsonObject(with: Data(body.readBytes(length: body.readableBytes) ?? []))
                            if let id = (object as? [String: Any])?["id"] as? String {
                                acked.append(id)
                                counter.increment()
                            }
                        } catch {
                            break
                        }
                    }
                    try? await connection.shutdown()
                    return acked
                }
            }
            let started = ContinuousClock.now
            while counter.value < acknowledgements && ContinuousClock.now - started < .seconds(30) {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds(UInt64.random(in: 0...maxDelay)))
            server.signal(SIGKILL)
            var all: [String] = []
            for try await acked in group { all += acked }
            return all
        }
    }

    /// Everything the views answer bob, as text.
    static func answers(port: Int, token: String, threads: [String]) async throws -> [String] {
        var out: [String] = []
        out.append(try await send(port: port, .get, "/v1/inbox?limit=200", token: token).text)
        out.append(try await send(port: port, .get, "/v1/unread", token: token).text)
        for thread in threads { out.append(try await send(port: port, .get, "/v1/threads/\(thread)", token: token).text) }
        return out
    }

    @Test("no acknowledged write is lost, the log verifies and the views equal a rebuild after every kill -9")
    func crashLoop() async throws {
        let directory = try TempDirectory()
        let data = directory.sub("data")
        let admin = "crash-loop-admin"
        let environment = ["THREADLOG_ADMIN_TOKEN": admin]
        let threadlog = productPath("threadlog")
        var server = try ServeProcess.start(data: data, environment: environment)
        #expect(
            try await send(port: server.port, .post, "/v1/parties", token: admin, body: #"{"id":"sup","name":"Sup","kind":"external"}"#)
                .status == 201)
        let user = try await send(
            port: server.port, .post, "/v1/users", token: admin,
            body: #"{"id":"bob","name":"Bob","email":"bob@example.test","party":"sup","roles":["supplier"]}"#)
        let token = try #require(user.json["token"] as? String)
        var threads: [String] = []
        for index in 0..<8 {
            let opened = try await send(
                port: server.port, .post, "/v1/threads", token: token,
                body: #"{"subject":{"kind":"request","ref":"R-\#(index)"},"title":"T\#(index)"}"#)
            threads.append(try #require(opened.json["id"] as? String))
        }
        var acknowledged: [String] = []
        for cycle in 1...Self.cycles {
            acknowledged += try await Self.postUntilKilled(port: server.port, token: token, threads: threads, server: server)
            _ = await server.waitForExit()
            let verify = try run(threadlog, ["replay", "--verify", "--data", data])
            #expect(verify.status == 0, "cycle \(cycle): \(verify.stdout.suffix(300)) \(verify.stderr)")

            server = try ServeProcess.start(data: data, environment: environment)
            var present = Set<String>()
            for thread in threads {
                let view = try await send(port: server.port, .get, "/v1/threads/\(thread)", token: token)
                #expect(view.status == 200, "cycle \(cycle)")
                for message in view.json["messages"] as? [[String: Any]] ?? [] {
                    if let id = message["id"] as? String { present.insert(id) }
                }
            }
            let missing = acknowledged.filter { !present.contains($0) }
            #expect(missing.isEmpty, "cycle \(cycle): acknowledged but lost: \(missing.prefix(10))")
            // The views the service kept across the kill answer exactly as views rebuilt from the log.
            let kept = try await Self.answers(port: server.port, token: token, threads: threads)
            let rebuild = try run(threadlog, ["project", "rebuild", "--all", "--data", data])
            #expect(rebuild.status == 0, "cycle \(cycle): \(rebuild.stderr)")
            let rebuilt = try await Self.answers(port: server.port, token: token, threads: threads)
            #expect(kept == rebuilt, "cycle \(cycle): the views differ from a rebuild")
            if !missing.isEmpty || verify.status != 0 || kept != rebuilt { break }
        }
        server.signal(SIGTERM)
        #expect(await server.waitForExit() == 0)
        #expect(acknowledged.count >= 32 * Self.cycles)
    }
}

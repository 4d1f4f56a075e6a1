import EventFeed
import Foundation
import HTTPAPI
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A `threadlog serve` child process on a free port.
final class ServeProcess: Sendable {
    let process: Child
    let port: Int
    private let output: OutputBox
    private let errors: OutputBox

    var stdout: String { output.text.withLock { $0 } }
    /// What the service logged (at `LOG_LEVEL`, warning unless the test sets it).
    var stderr: String { errors.text.withLock { $0 } }

    private init(process: Child, port: Int, output: OutputBox, errors: OutputBox) {
        self.process = process
        self.port = port
        self.output = output
        self.errors = errors
    }

    static func start(data: String, environment extra: [String: String] = [:]) throws -> ServeProcess {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("THREADLOG_") }
        environment["LOG_LEVEL"] = "warning"
        // A loaded machine may take long to send a request head on a new connection.
        environment["THREADLOG_HEADER_TIMEOUT_MS"] = "30000"
        for (key, value) in extra { environment[key] = value }
        let process = try Child(
            productPath("threadlog"), ["serve", "--data", data, "--port", "0"], environment: environment,
            stdout: .pipe, stderr: .pipe)
        let box = OutputBox()
        let errors = OutputBox()
        for (reader, target) in [(process.output!, box), (process.errors!, errors)] {
            Thread.detachNewThread {
                while true {
                    let data = reader.availableData
                    if data.isEmpty { break }
                    target.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
                }
            }
        }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let text = box.text.withLock { $0 }
            if let range = text.range(of: "listening on http://127.0.0.1:"),
                let port = Int(text[range.upperBound...].prefix { $0.isNumber })
            {
                return ServeProcess(process: process, port: port, output: box, errors: errors)
            }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let exited = !process.isRunning
        process.terminate()
        throw TestFailure(
            "threadlog serve did not start (\(exited ? "it exited" : "no answer in 20 s")): "
                + "\(box.text.withLock { $0 }) \(errors.text.withLock { $0 })")
    }

    func signal(_ number: Int32) {
        process.send(number)
    }

    /// Waits for the exit (bounded) and answers the status.
    func waitForExit(seconds: Double = 15) async -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let termination = process.poll() { return termination.status }
            try? await Task.sleep(for: .milliseconds(20))
        }
        process.send(SIGKILL)
        return nil
    }
}

/// Collects the child's stdout; filled by one reader thread, read by the test.
final class OutputBox: Sendable {
    let text = Mutex("")
}

@Suite("threadlog serve as a process")
struct ServeProcessTests {
    @Test("the first start prints an admin token once and keeps only its hash; SIGTERM stops cleanly")
    func adminTokenBootstrap() async throws {
        let directory = try TempDirectory()
        let data = directory.sub("data")
        let first = try ServeProcess.start(data: data)
        let printed = first.stdout
        #expect(printed.contains("mail is not configured"))
        let line = try #require(printed.split(separator: "\n").first { $0.hasPrefix("admin token: ") })
        let token = String(line.dropFirst("admin token: ".count))
        #expect(try await send(port: first.port, .get, "/v1/settings", token: token).status == 200)
        #expect(try await send(port: first.port, .get, "/v1/settings", token: "guess").status == 401)
        first.signal(SIGTERM)
        #expect(await first.waitForExit() == 0)
        let kept = try String(contentsOfFile: data + "/admin-token.sha256", encoding: .utf8)
        #expect(kept.trimmingCharacters(in: .whitespacesAndNewlines) == Tokens.hash(token))
        #expect(!kept.contains(token))

        let second = try ServeProcess.start(data: data)
        #expect(!second.stdout.contains("admin token"))
        #expect(try await send(port: second.port, .get, "/v1/settings", token: token).status == 200)
        second.signal(SIGINT)
        #expect(await second.waitForExit() == 0)
    }

    @Test("the projectors run on named threads below the request threads' priority; the log writer does not")
    func threadPriorities() async throws {
        let directory = try TempDirectory()
        let served = try ServeProcess.start(data: directory.sub("data"))
        defer {
            served.signal(SIGTERM)
            served.process.wait()
        }
        /// Each thread's name and nice value, from /proc (fields after the parenthesised name: 19th is nice).
        func threads() throws -> [String: [Int]] {
            let tasks = "/proc/\(served.process.pid)/task"
            var found: [String: [Int]] = [:]
            for task in try FileManager.default.contentsOfDirectory(atPath: tasks) {
                guard let stat = try? String(contentsOfFile: "\(tasks)/\(task)/stat", encoding: .utf8),
                    let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
                else { continue }
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                found[String(stat[stat.index(after: open)..<close]), default: []].append(Int(fields[16]) ?? -99)
            }
            return found
        }
        var seen = try threads()
        let deadline = Date().addingTimeInterval(10)
        while seen["threadlog.notif"] == nil || seen["threadlog.views"] == nil, Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
            seen = try threads()
        }
        let base = try #require(seen["threadlog"]?.first)
        #expect(seen["threadlog.views"] == [base + 10], "\(seen)")
        #expect(seen["threadlog.notif"] == [base + 10], "\(seen)")
        #expect(seen["threadlog.log"] == [base], "\(seen)")
    }

    @Test("a setting that cannot be used stops serve with one line before anything is created")
    func badSetting() throws {
        let dir = try TempDirectory()
        let data = dir.sub("data")
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("THREADLOG_") }
        for value in ["soon", "-5", "600000"] {
            environment["THREADLOG_PROJECTION_INTERVAL_MS"] = value
            let result = try run(productPath("threadlog"), ["serve", "--data", data, "--port", "0"], environment: environment)
            #expect(result.status == 1)
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(result.stderr.contains("THREADLOG_PROJECTION_INTERVAL_MS must be a number of milliseconds"))
            #expect(!FileManager.default.fileExists(atPath: data))
        }
    }

    @Test("an inbound mail address or reply setting that cannot be used stops serve with one line before anything is created")
    func badInboundSetting() throws {
        let dir = try TempDirectory()
        let data = dir.sub("data")
        for (name, value, message) in [
            ("THREADLOG_INBOUND_SMTP", "nowhere", "THREADLOG_INBOUND_SMTP must be host:port"),
            ("THREADLOG_INBOUND_SMTP", ":2525", "THREADLOG_INBOUND_SMTP must name a host"),
            ("THREADLOG_REPLY_REQUIRE_FROM", "maybe", "THREADLOG_REPLY_REQUIRE_FROM must be on or off"),
        ] {
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("THREADLOG_") }
            environment["THREADLOG_INBOUND_SMTP"] = "127.0.0.1:0"
            environment[name] = value
            let result = try run(productPath("threadlog"), ["serve", "--data", data, "--port", "0"], environment: environment)
            #expect(result.status == 1)
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: data))
        }
    }

    @Test("a header or idle timeout that cannot be used stops serve with one line before anything is created")
    func badTimeoutSetting() throws {
        let dir = try TempDirectory()
        let data = dir.sub("data")
        for name in ["THREADLOG_HEADER_TIMEOUT_MS", "THREADLOG_IDLE_TIMEOUT_MS"] {
            for value in ["soon", "0", "-5", "3600001"] {
                var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("THREADLOG_") }
                environment[name] = value
                let result = try run(
                    productPath("threadlog"), ["serve", "--data", data, "--port", "0"], environment: environment)
                #expect(result.status == 1, "\(name)=\(value)")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
                #expect(
                    result.stderr.contains("\(name) must be a number of milliseconds from 1 to 3600000"),
                    "\(result.stderr)")
                #expect(!FileManager.default.fileExists(atPath: data))
            }
        }
    }

    @Test("kill -9 under 16 concurrent posting clients loses no acknowledged message")
    func killNineKeepsAcknowledgedMessages() async throws {
        let directory = try TempDirectory()
        let data = directory.sub("data")
        let admin = "crash-admin-token"
        let environment = ["THREADLOG_ADMIN_TOKEN": admin]
        let server = try ServeProcess.start(data: data, environment: environment)
        let port = server.port
        #expect(
            try await send(
                port: port, .post, "/v1/parties", token: admin, body: #"{"id":"sup","name":"Sup","kind":"external"}"#
            ).status == 201)
        let user = try await send(
            port: port, .post, "/v1/users", token: admin,
            body: #"{"id":"bob","name":"Bob","email":"bob@example.test","party":"sup","roles":["supplier"]}"#)
        let token = try #require(user.json["token"] as? String)
        var threads: [String] = []
        for index in 0..<8 {
            let opened = try await send(
                port: port, .post, "/v1/threads", token: token,
                body: #"{"subject":{"kind":"request","ref":"R-\#(index)"},"title":"T\#(index)"}"#)
            threads.append(try #require(opened.json["id"] as? String))
        }
        // Kill while the clients are writing: once a few dozen posts were acknowledged (or time is up).
        let acknowledged = try await CrashLoopTests.postUntilKilled(
            port: port, token: token, threads: threads, server: server, acknowledgements: 48, maxDelay: 200)
        _ = await server.waitForExit()
        #expect(acknowledged.count > 16)

        let restarted = try ServeProcess.start(data: data, environment: environment)
        // A fresh process remembers no one's writes: ask for the log's head explicitly.
        let head = try #require(try await send(port: restarted.port, .get, "/healthz").json["position"] as? Int)
        var present = Set<String>()
        for thread in threads {
            let view = try await send(
                port: restarted.port, .get, "/v1/threads/\(thread)?minPosition=\(head)", token: token)
            #expect(view.status == 200)
            for message in view.json["messages"] as? [[String: Any]] ?? [] {
                if let id = message["id"] as? String { present.insert(id) }
            }
        }
        let missing = acknowledged.filter { !present.contains($0) }
        #expect(missing.isEmpty, "acknowledged but lost: \(missing.prefix(10))")
        // The mail outbox catches up too, and says how far it is behind.
        var outboxLag: String?
        for _ in 0..<100 {
            let metrics = try await send(port: restarted.port, .get, "/metrics").text
            outboxLag = metrics.split(separator: "\n").first { $0.hasPrefix(#"threadlog_view_lag_events{view="notifications"}"#) }
                .map { String($0.split(separator: " ").last ?? "") }
            if outboxLag == "0.0" || outboxLag == "0" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(outboxLag == "0.0" || outboxLag == "0", "\(outboxLag ?? "no notifications lag in /metrics")")
        restarted.signal(SIGTERM)
        #expect(await restarted.waitForExit() == 0)
    }

    @Test("SIGTERM ends an open event stream and the process exits 0")
    func gracefulShutdownEndsStreams() async throws {
        let directory = try TempDirectory()
        let admin = "stream-admin-token"
        let server = try ServeProcess.start(data: directory.sub("data"), environment: ["THREADLOG_ADMIN_TOKEN": admin])
        #expect(
            try await send(
                port: server.port, .post, "/v1/parties", token: admin, body: #"{"id":"p","name":"P","kind":"external"}"#
            ).status == 201)
        let endpoint = try EventFeedClient.Endpoint(url: "http://127.0.0.1:\(server.port)")
        let streamed = Task {
            try await { () async throws -> [UInt64] in
                var seen: [UInt64] = []
                do {
                    try await EventFeedClient.stream(endpoint, token: admin, after: 0, timeoutSeconds: 20) { item in
                        if case .event(let position, _, _) = item {
                            seen.append(position)
                            server.signal(SIGTERM)
                        }
                        return true
                    }
                } catch {
                    // The server ended the stream: expected.
                }
                return seen
            }()
        }
        #expect(try await streamed.value == [1])
        #expect(await server.waitForExit(seconds: 10) == 0)
    }

    @Test("threadlog tail --url prints the service's envelopes as NDJSON")
    func tailFromService() async throws {
        try await withHarness { h in
            let cast = try await h.seed()
            let url = "http://127.0.0.1:\(h.port)"
            let token = cast.service
            let all = try await onThread {
                try run(productPath("threadlog"), ["tail", "--url", url, "--token", token])
            }
            #expect(all.status == 0)
            let lines = all.stdout.split(separator: "\n")
            #expect(lines.count == Int(try h.lastPosition()))
            #expect(lines.first?.hasPrefix(#"{"position":1,"stream":"party-acme""#) == true)
            let parties = try await onThread {
                try run(
                    productPath("threadlog"),
                    ["tail", "--url", url, "--token", token, "--type", "party.created", "--from", "2"])
            }
            #expect(parties.stdout.split(separator: "\n").count == 2)
            let refused = try await onThread {
                try run(productPath("threadlog"), ["tail", "--url", url, "--token", "wrong"])
            }
            #expect(refused.status == 1)
            #expect(refused.stderr.split(separator: "\n").count == 1)
            let usage = try await onThread { try run(productPath("threadlog"), ["tail", "--url", url]) }
            #expect(usage.status == 2)
        }
    }
}

/// Acknowledged posts so far, across the posting clients.
final class AckCounter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

import Foundation
import PostgresEventLog
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `threadlog serve` with its log on PostgreSQL (`THREADLOG_STORE_URL`), the views in its data directory.
@Suite("serve on PostgreSQL")
struct ServePostgresTests {
    /// A new database of its own on the cluster of Tests/with-postgres.sh, as a store URL.
    static func freshDatabase() throws -> String {
        guard let text = ProcessInfo.processInfo.environment["THREADLOG_TEST_PG_URL"], !text.isEmpty else {
            throw TestFailure("THREADLOG_TEST_PG_URL is not set: run the tests with make test or Tests/with-postgres.sh swift test")
        }
        let server = try PostgresURL(text)
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try server.createDatabase(name)
        return server.with(database: name).description
    }

    @Test("writes land in the database, the views follow them, and a restart finds everything")
    func serveOnPostgres() async throws {
        let url = try Self.freshDatabase()

        let directory = try TempDirectory()
        let data = directory.sub("data")
        let admin = "pg-admin-token"
        let environment = ["THREADLOG_ADMIN_TOKEN": admin, "THREADLOG_STORE_URL": url]
        let first = try ServeProcess.start(data: data, environment: environment)
        #expect(
            try await send(
                port: first.port, .post, "/v1/parties", token: admin, body: #"{"id":"sup","name":"Sup","kind":"external"}"#
            ).status == 201)
        let user = try await send(
            port: first.port, .post, "/v1/users", token: admin,
            body: #"{"id":"bob","name":"Bob","email":"bob@example.test","party":"sup","roles":["supplier"]}"#)
        let token = try #require(user.json["token"] as? String)
        let opened = try await send(
            port: first.port, .post, "/v1/threads", token: token, body: #"{"subject":{"kind":"request","ref":"R-1"},"title":"T"}"#)
        let thread = try #require(opened.json["id"] as? String)
        var position = 0
        for index in 1...3 {
            let posted = try await send(
                port: first.port, .post, "/v1/threads/\(thread)/messages", token: token, body: #"{"body":"m\#(index)"}"#)
            #expect(posted.status == 201)
            position = try #require(posted.json["position"] as? Int)
        }
        let view = try await send(port: first.port, .get, "/v1/threads/\(thread)?minPosition=\(position)", token: token)
        #expect((view.json["messages"] as? [[String: Any]])?.compactMap { $0["body"] as? String } == ["m1", "m2", "m3"])
        first.signal(SIGTERM)
        #expect(await first.waitForExit() == 0)

        // The log is in the database, not in the directory.
        let store = try PostgresEventStore.open(url: url, create: false)
        #expect(try store.lastPosition() == UInt64(position))
        #expect(try store.readStream("thread-\(thread)", fromVersion: 1, limit: 100).filter { $0.type == "message.posted" }.count == 3)
        store.close()
        #expect(!FileManager.default.fileExists(atPath: data + "/log/data.mdb"))

        // The node's views are rebuilt from the shared log.
        let threadlog = productPath("threadlog")
        let rebuilt = try run(threadlog, ["project", "rebuild", "--all", "--data", data, "--store", url])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        #expect(rebuilt.stdout.contains("up to position \(position)"), "\(rebuilt.stdout)")
        var toolEnvironment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("THREADLOG_") }
        toolEnvironment["THREADLOG_STORE_URL"] = url
        let status = try run(threadlog, ["project", "status", "--data", data], environment: toolEnvironment)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("threads"))

        let second = try ServeProcess.start(data: data, environment: environment)
        let again = try await send(port: second.port, .get, "/v1/threads/\(thread)?minPosition=\(position)", token: token)
        #expect((again.json["messages"] as? [[String: Any]])?.compactMap { $0["body"] as? String } == ["m1", "m2", "m3"])
        second.signal(SIGTERM)
        #expect(await second.waitForExit() == 0)
    }

    @Test("a bad store URL or an unreachable server stops serve with one line before anything is created")
    func badStore() throws {
        let directory = try TempDirectory()
        for url in ["postgres://127.0.0.1/threadlog", "postgresql://postgres@127.0.0.1:1/threadlog"] {
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("THREADLOG_") }
            environment["THREADLOG_STORE_URL"] = url
            let result = try run(
                productPath("threadlog"), ["serve", "--data", directory.sub("data"), "--port", "0"], environment: environment)
            #expect(result.status == 1, "\(url)")
            #expect(result.stderr.hasPrefix("threadlog: ") && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: directory.sub("data")))
        }
    }
}

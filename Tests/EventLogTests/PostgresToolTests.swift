import EventLog
import EventStoreConformance
import Foundation
import PostgresEventLog
import TestSupport
import Testing

/// `threadlog migrate` and the read tools on a PostgreSQL log, run as a user would.
@Suite("threadlog on PostgreSQL")
struct PostgresToolTests {
    let threadlog = productPath("threadlog")

    /// A fresh database on the test cluster, as a store URL.
    func freshDatabase() throws -> String { try freshPostgresURL().description }

    @Test("migrate copies an LMDB log with positions, times, hashes and erased payloads unchanged; verify passes")
    func migrate() async throws {
        let dir = try TempDirectory()
        let root = dir.sub("data")
        let data = try DataDirectory(root, create: true)
        let source = try LMDBEventStore.open(directory: data.log)
        for i in 1...30 {
            _ = try await source.append(
                AppendRequest(
                    commandID: i.isMultiple(of: 3) ? "cmd-\(i)" : nil, stream: "thread-\(i % 4)", expected: .any,
                    events: [event("message.posted", "m\(i)")]))
        }
        _ = try await source.append(
            AppendRequest(
                commandID: "multi",
                writes: [
                    StreamWrite(stream: "a", expected: .noStream, events: [event(), event()]),
                    StreamWrite(stream: "b", expected: .noStream, events: [event()]),
                ]))
        #expect(try source.erase(positions: [4, 7]) == 2)
        let original = try source.read(from: 1, limit: 1000)
        let multi = try source.result(ofCommand: "multi")
        source.close()

        let url = try freshDatabase()
        let copied = try run(threadlog, ["migrate", "--from", root, "--to", url])
        #expect(copied.status == 0, "\(copied.stderr)")
        #expect(copied.stdout.contains("migrated 33 events"))

        let target = try PostgresEventStore.open(url: url, create: false)
        defer { target.close() }
        #expect(try target.read(from: 1, limit: 1000) == original)
        #expect(try target.read(from: 4, limit: 1).first?.isPurged == true)
        #expect(try target.result(ofCommand: "multi") == multi)
        #expect(try target.head(of: "a") == StreamHead(version: 2, lastPosition: 32))

        let verified = try run(threadlog, ["replay", "--verify", "--store", url])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.hasPrefix("verify: ok, 33 events"), "\(verified.stdout)")

        // A later run copies only what the source gained since.
        let reopened = try LMDBEventStore.open(directory: data.log)
        _ = try await reopened.append(AppendRequest(stream: "b", expected: .exactly(1), events: [event(), event()]))
        reopened.close()
        let resumed = try run(threadlog, ["migrate", "--from", root, "--to", url])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("migrated 2 events"), "\(resumed.stdout)")
        #expect(try target.head(of: "b") == StreamHead(version: 3, lastPosition: 35))

        // The copy goes on where the original stopped: the chain continues, and verifies.
        let next = try await target.append(AppendRequest(stream: "a", expected: .exactly(2), events: [event()]))
        #expect(next.positions == 36...36)
        let again = try run(threadlog, ["replay", "--verify", "--store", url])
        #expect(again.status == 0 && again.stdout.hasPrefix("verify: ok, 36 events"), "\(again.stdout)\(again.stderr)")

        // The target went on alone: it is no longer a beginning of the source, and nothing is copied into it.
        let refused = try run(threadlog, ["migrate", "--from", root, "--to", url])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("not a beginning of the log"), "\(refused.stderr)")
        #expect(try target.lastPosition() == 36)

        // A payload changed behind the log's back is found, by position.
        let psql = try run(
            "/usr/lib/postgresql/15/bin/psql",
            [url, "-q", "-c", "UPDATE events SET data = convert_to('{\"text\":\"forged\"}', 'UTF8') WHERE position = 10"])
        #expect(psql.status == 0, "\(psql.stderr)")
        let tampered = try run(threadlog, ["replay", "--verify", "--store", url])
        #expect(tampered.status == 1)
        #expect(tampered.stderr.contains("position 10"), "\(tampered.stderr)")
    }

    @Test("tail and replay read a PostgreSQL log as they read a data directory")
    func readTools() async throws {
        let url = try freshDatabase()
        let store = try PostgresEventStore.open(url: url)
        for i in 1...12 {
            _ = try await store.append(AppendRequest(stream: "thread-\(i % 3)", expected: .any, events: [event("message.posted", "m\(i)")]))
        }
        store.close()
        let tail = try run(threadlog, ["tail", "--store", url, "--from", "5"])
        #expect(tail.status == 0, "\(tail.stderr)")
        let lines = tail.stdout.split(separator: "\n")
        #expect(lines.count == 8)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["position"] as? Int == 5 && first?["stream"] as? String == "thread-2")

        var environment = ProcessInfo.processInfo.environment
        environment["THREADLOG_STORE_URL"] = url
        let replay = try run(threadlog, ["replay", "--stream", "thread-1", "--format", "json"], environment: environment)
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.split(separator: "\n").count == 4)
    }

    @Test("a bad store URL or an unreachable server: one line on stderr, exit 1")
    func badStores() throws {
        let server = try testPostgresURL()
        let cases = [
            "mysql://root@127.0.0.1/db",
            "postgresql://127.0.0.1/db",
            "postgresql://postgres@127.0.0.1:1/threadlog",
            server.with(database: "no_such_database").description,
        ]
        for url in cases {
            let result = try run(threadlog, ["tail", "--store", url])
            #expect(result.status == 1, "\(url)")
            #expect(result.stderr.hasPrefix("threadlog: "), "\(url): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(url): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        // An empty database is no log: the read tools do not create one.
        let empty = try freshDatabase()
        let result = try run(threadlog, ["replay", "--store", empty])
        #expect(result.status == 1 && result.stderr.contains("no event log"), "\(result.stderr)")
    }
}

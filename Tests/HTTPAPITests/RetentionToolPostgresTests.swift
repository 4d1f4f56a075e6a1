import Engine
import EventLog
import Foundation
import Messaging
import PostgresEventLog
import TestSupport
import Testing

/// `threadlog retention` on a log on PostgreSQL (`--store URL`), with the node's views in `--data DIR`.
@Suite("retention tool on a PostgreSQL log")
struct RetentionToolPostgresTests {
    /// The tools' environment without the test run's own THREADLOG_ settings.
    static func toolEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("THREADLOG_") }.merging(extra) { $1 }
    }

    /// A node's directory as `serve --store` leaves it: views (caught up with `log`), no log of its own.
    static func nodeDirectory(_ root: String, log: any EventStore) throws {
        let data = try DataDirectory(root, create: true)
        let views = try ViewStore.open(directory: data.views)
        try ReadModels(log: log, views: views).catchUp()
    }

    @Test("run --store --data purges and erases on PostgreSQL, compacts, and replay --verify passes; hold keeps a thread")
    func purgeOnPostgres() async throws {
        let url = try ServePostgresTests.freshDatabase()
        let directory = try TempDirectory()
        let node = directory.sub("node")
        let secret = "SECRET-TEXT-\(UUID().uuidString)"
        let keptText = "KEPT-TEXT-\(UUID().uuidString)"
        let doomed: ThreadID
        let held: ThreadID
        do {
            // In a scope of its own: the connections and the views are closed before the tool runs.
            let store = try PostgresEventStore.open(url: url)
            defer { store.close() }
            let handler = CommandHandler(store: store)
            _ = try await handler.handle(.createParty(id: "supplier", name: "Supplier", kind: .external), actor: .admin)
            _ = try await handler.handle(
                .createUser(
                    id: "sam", name: "Sam", email: "sam@example.com", party: "supplier", roles: [],
                    tokenHash: String(repeating: "b", count: 64)), actor: .admin)
            doomed = try #require(
                try await handler.handle(
                    .openThread(
                        OpenThread(
                            subjectKind: "request", subjectRef: "OLD-1", title: "Old", body: NewMessage(text: secret))),
                    actor: .user("sam")
                ).thread)
            _ = try await handler.handle(
                .postMessage(thread: doomed, message: NewMessage(text: secret + " again")), actor: .user("sam"))
            held = try #require(
                try await handler.handle(
                    .openThread(
                        OpenThread(
                            subjectKind: "request", subjectRef: "HELD-1", title: "Held", body: NewMessage(text: keptText))),
                    actor: .user("sam")
                ).thread)
            try Self.nodeDirectory(node, log: store)
        }
        #expect(!(try files(containing: Array(secret.utf8), under: node)).isEmpty, "the node's views hold the text")
        let threadlog = productPath("threadlog")
        let environment = Self.toolEnvironment()
        let asOf = ISOTime.format(millis: Int64(Date().timeIntervalSince1970 * 1000) + 2000 * 86_400_000)

        // The legal hold goes straight to the log on PostgreSQL: no data directory needed.
        let hold = try run(
            threadlog, ["retention", "hold", "--store", url, "--thread", held.rawValue, "--reason", "litigation"],
            environment: environment)
        #expect(hold.status == 0, "\(hold.stderr)")
        #expect(hold.stdout.hasPrefix("legal hold placed on thread \(held.rawValue) at position "), "\(hold.stdout)")

        // THREADLOG_STORE_URL names the log as --store does.
        let dry = try run(
            threadlog, ["retention", "run", "--data", node, "--as-of", asOf, "--dry-run"],
            environment: Self.toolEnvironment(["THREADLOG_STORE_URL": url]))
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("due \(doomed.rawValue) (request OLD-1)"), "\(dry.stdout)")
        #expect(dry.stdout.contains("held \(held.rawValue): legal hold"), "\(dry.stdout)")
        #expect(dry.stdout.contains("1 due, 1 under legal hold (dry run: nothing changed)"), "\(dry.stdout)")

        let purge = try run(
            threadlog, ["retention", "--store", url, "--data", node, "--as-of", asOf], environment: environment)
        #expect(purge.status == 0, "\(purge.stderr)")
        #expect(purge.stdout.contains("purged \(doomed.rawValue) (request OLD-1)"), "\(purge.stdout)")
        #expect(purge.stdout.contains("held \(held.rawValue): legal hold"), "\(purge.stdout)")
        #expect(!purge.stdout.contains("purged \(held.rawValue)"), "\(purge.stdout)")
        let summary = try #require(purge.stdout.split(separator: "\n").last.map(String.init))
        #expect(summary.hasPrefix("1 purged, "), "\(summary)")
        #expect(summary.hasSuffix("0 attachments deleted, log and views compacted"), "\(summary)")
        let erased = Int(summary.split(separator: " ")[2]) ?? 0
        #expect(erased >= 2, "\(summary)")

        do {
            let store = try PostgresEventStore.open(url: url, create: false)
            defer { store.close() }
            let stream = try store.readStream("thread-\(doomed.rawValue)", fromVersion: 1, limit: 100)
            #expect(stream.last?.type == "thread.purged")
            #expect(stream.dropLast().allSatisfy { $0.isPurged && $0.data.isEmpty })
            let kept = try store.readStream("thread-\(held.rawValue)", fromVersion: 1, limit: 100)
            #expect(!kept.contains { $0.isPurged || $0.type == "thread.purged" })
            #expect(kept.contains { String(decoding: $0.data, as: UTF8.self).contains(keptText) })
        }
        let leftInNode = try files(containing: Array(secret.utf8), under: node)
        #expect(leftInNode.isEmpty, "still in \(leftInNode)")
        let verify = try run(threadlog, ["replay", "--verify", "--store", url], environment: environment)
        #expect(verify.status == 0, "\(verify.stdout.suffix(300)) \(verify.stderr)")

        // Released, the held thread is due and purged by the next run.
        let release = try run(
            threadlog, ["retention", "release", "--store", url, "--thread", held.rawValue], environment: environment)
        #expect(release.status == 0, "\(release.stderr)")
        #expect(release.stdout.hasPrefix("legal hold on thread \(held.rawValue) released at position "), "\(release.stdout)")
        let again = try run(
            threadlog, ["retention", "--store", url, "--data", node, "--as-of", asOf], environment: environment)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("purged \(held.rawValue) (request HELD-1)"), "\(again.stdout)")
        #expect(again.stdout.contains("1 purged, "), "\(again.stdout)")

        // A category's period is set in the log on PostgreSQL; an unknown one is refused with one line.
        let unknown = try run(
            threadlog, ["retention", "category", "--store", url, "--category", "nosuch", "--days", "30"],
            environment: environment)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.hasPrefix("threadlog: ") && unknown.stderr.split(separator: "\n").count == 1, "\(unknown.stderr)")
    }

    @Test("a bad store URL or an unreachable server stops each retention command with one line, exit 1")
    func badStore() throws {
        let directory = try TempDirectory()
        let node = directory.sub("node")
        try FileManager.default.createDirectory(atPath: node + "/views", withIntermediateDirectories: true)
        // A node's directory: views, no log of its own.
        _ = try ViewStore.open(directory: node + "/views")
        let threadlog = productPath("threadlog")
        let cases: [(url: String, says: String)] = [
            ("postgres://127.0.0.1/threadlog", "bad store URL"),
            ("postgresql://postgres@127.0.0.1:1/threadlog", "cannot connect to PostgreSQL"),
        ]
        for (url, says) in cases {
            for arguments in [
                ["retention", "--store", url, "--data", node, "--as-of", "2100-01-01"],
                ["retention", "hold", "--store", url, "--thread", "t1", "--reason", "audit"],
                ["retention", "release", "--store", url, "--thread", "t1"],
                ["retention", "category", "--store", url, "--category", "c1", "--deployment-default"],
            ] {
                let result = try run(threadlog, arguments, environment: Self.toolEnvironment())
                #expect(result.status == 1, "\(arguments)")
                #expect(
                    result.stderr.hasPrefix("threadlog: \(says)") && result.stderr.split(separator: "\n").count == 1,
                    "\(arguments): \(result.stderr)")
            }
        }
        // The log on PostgreSQL alone is not enough for a purge: it needs the node's views.
        let noData = try run(
            threadlog, ["retention", "--store", "postgresql://postgres@127.0.0.1:1/threadlog"],
            environment: Self.toolEnvironment())
        #expect(noData.status == 2)
        #expect(noData.stderr.contains("retention needs --data DIR"), "\(noData.stderr)")
    }
}

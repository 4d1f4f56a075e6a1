import Engine
import EventLog
import Foundation
import Messaging
import PostgresEventLog
import TestSupport
import Testing

/// Retention on a PostgreSQL log: the purge erases the payloads and `VACUUM FULL` rewrites the table, so
/// no file of the database holds the thread's text any more, and the log still verifies.
@Suite("retention on a PostgreSQL log")
struct PostgresRetentionTests {
    @Test("a purge leaves no text of the thread in the database's files; replay --verify passes")
    func purgeLeavesNoText() async throws {
        let url = try ServePostgresTests.freshDatabase()
        let store = try PostgresEventStore.open(url: url)
        defer { store.close() }
        let directory = try TempDirectory()
        let data = try DataDirectory(directory.sub("data"), create: true)
        let views = try ViewStore.open(directory: data.views)
        let handler = CommandHandler(store: store)
        let models = ReadModels(log: store, views: views)
        try await handler.handle(.createParty(id: "supplier", name: "Supplier", kind: .external), actor: .admin)
        try await handler.handle(
            .createUser(
                id: "sam", name: "Sam", email: "sam@example.com", party: "supplier", roles: [],
                tokenHash: String(repeating: "b", count: 64)), actor: .admin)
        let secret = "SECRET-TEXT-\(UUID().uuidString)"
        let doomed = try #require(
            try await handler.handle(
                .openThread(
                    OpenThread(
                        subjectKind: "request", subjectRef: "OLD-1", title: "Old", body: NewMessage(text: secret))),
                actor: .user("sam")
            ).thread)
        let keptText = "KEPT-TEXT-\(UUID().uuidString)"
        try await handler.handle(
            .postMessage(thread: doomed, message: NewMessage(text: secret + " again")), actor: .user("sam"))
        let day: Int64 = 86_400_000
        let now = Int64(Date().timeIntervalSince1970 * 1000)

        // The database's own files: its directory under the cluster's, after a checkpoint wrote them.
        func databaseFiles(containing text: String) throws -> [String] {
            let psql = "/usr/lib/postgresql/15/bin/psql"
            let checkpoint = try run(psql, [url, "-Atc", "CHECKPOINT"])
            guard checkpoint.status == 0 else { throw TestFailure("CHECKPOINT: \(checkpoint.stderr)") }
            let place = try run(
                psql,
                [
                    url, "-Atc",
                    "SELECT current_setting('data_directory') || '/base/' || oid FROM pg_database WHERE datname = current_database()",
                ])
            let root = place.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            guard place.status == 0, FileManager.default.fileExists(atPath: root) else {
                throw TestFailure("no database directory: \(place)")
            }
            return try files(containing: Array(text.utf8), under: root)
        }
        #expect(
            !(try databaseFiles(containing: secret)).isEmpty, "the text should be in the table's files before the purge"
        )

        // A second thread, under legal hold, keeps its text.
        let held = try #require(
            try await handler.handle(
                .openThread(
                    OpenThread(
                        subjectKind: "request", subjectRef: "HELD-1", title: "Held", body: NewMessage(text: keptText))),
                actor: .user("sam")
            ).thread)
        try await handler.handle(.placeLegalHold(thread: held, reason: "litigation"), actor: .admin)
        try models.catchUp()
        let retention = Retention(log: store, models: models, handler: handler, data: data)
        let report = try await retention.run(asOfMillis: now + 1462 * day, dryRun: false)
        #expect(report.purged == [doomed])
        #expect(report.held == [held])
        #expect(report.erasedRecords >= 2)
        #expect(report.compacted)

        let found = try databaseFiles(containing: secret)
        #expect(found.isEmpty, "still in \(found)")
        #expect(!(try databaseFiles(containing: keptText)).isEmpty)
        let stream = try store.readStream("thread-\(doomed.rawValue)", fromVersion: 1, limit: 100)
        #expect(stream.last?.type == "thread.purged")
        #expect(stream.dropLast().allSatisfy { $0.isPurged && $0.data.isEmpty })
        let verify = try run(productPath("threadlog"), ["replay", "--verify", "--store", url])
        #expect(verify.status == 0, "\(verify.stdout.suffix(300)) \(verify.stderr)")
    }
}

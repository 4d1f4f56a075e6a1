import EventLog
import EventStoreConformance
import Foundation
@testable import PostgresEventLog
import TestSupport
import Testing

/// The PostgreSQL log: what every backend must do, and what only it has to show, several stores
/// (nodes) on one database.
@Suite("PostgreSQL event log")
struct PostgresEventStoreTests {
    @Test("conformance", arguments: EventStoreConformance.Check.allCases)
    func conformance(check: EventStoreConformance.Check) async throws {
        try await EventStoreConformance { FreshStore(try PostgresEventStore(url: try freshPostgresURL())) }.run(check)
    }

    @Test("two nodes appending at once: one gapless order, and a tail on a third node sees every event in it")
    func nodesShareOneOrder() async throws {
        let url = try freshPostgresURL()
        let nodes = try (0..<2).map { _ in try PostgresEventStore(url: url) }
        let reader = try PostgresEventStore(url: url)
        defer { for store in nodes + [reader] { store.close() } }
        let perNode = 120
        let total = UInt64(2 * perNode)

        let tail = Task {
            var seen: [UInt64] = []
            for try await event in reader.subscribe(after: 0) {
                seen.append(event.position)
                if seen.count == Int(total) { break }
            }
            return seen
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, node) in nodes.enumerated() {
                for i in 0..<perNode {
                    group.addTask {
                        _ = try await node.append(
                            AppendRequest(stream: "s-\(i % 7)", expected: .any, events: [event("e", "\(index)-\(i)")]))
                    }
                }
            }
            try await group.waitForAll()
        }
        // The tail wakes on the other nodes' commits (NOTIFY, or the poll) and skips nothing.
        #expect(try await tail.value == Array(1...total))
        let all = try reader.read(from: 1, limit: 1000)
        #expect(all.map(\.position) == Array(1...total))
        for s in 0..<7 {
            let versions = all.filter { $0.stream == "s-\(s)" }.map(\.version)
            #expect(versions == Array(1...UInt64(versions.count)))
        }
        // The chain runs across both nodes' commits.
        var chain = EventChain.genesis
        for event in all {
            #expect(EventChain.chainHash(of: event, previous: chain) == event.chainHash)
            chain = event.chainHash
        }
        #expect(try reader.verify().fault == nil)
        // Group commit: the writers took several appends per transaction.
        let stats = nodes.map(\.groupStatistics)
        #expect(stats.map(\.appends).reduce(0, +) == total)
        #expect(stats.map(\.commits).reduce(0, +) < total)
    }

    @Test("a conflict decided on another node: the expected version is checked against the shared log")
    func conflictAcrossNodes() async throws {
        let url = try freshPostgresURL()
        let a = try PostgresEventStore(url: url)
        let b = try PostgresEventStore(url: url)
        defer { a.close(); b.close() }
        _ = try await a.append(AppendRequest(stream: "s", expected: .noStream, events: [event()]))
        await #expect(throws: VersionConflict(stream: "s", expected: .noStream, actual: 1)) {
            try await b.append(AppendRequest(stream: "s", expected: .noStream, events: [event()]))
        }
        _ = try await a.append(AppendRequest(commandID: "once", stream: "t", expected: .any, events: [event()]))
        let again = try await b.append(AppendRequest(commandID: "once", stream: "t", expected: .any, events: [event()]))
        #expect(again.deduplicated && again.positions == 2...2)
        #expect(try b.lastPosition() == 2)
    }

    @Test("what a node remembers of the log never decides alone: a repeated command, stale versions, other nodes' appends")
    func writerMemoryIsChecked() async throws {
        let url = try freshPostgresURL()
        let a = try PostgresEventStore(url: url)
        let b = try PostgresEventStore(url: url)
        defer { a.close(); b.close() }
        _ = try await a.append(AppendRequest(commandID: "first", stream: "s", expected: .noStream, events: [event()]))
        // a wrote the command itself: the repeat is answered from the log, and nothing is appended.
        let repeated = try await a.append(AppendRequest(commandID: "first", stream: "s", expected: .any, events: [event()]))
        #expect(repeated.deduplicated && repeated.positions == 1...1)
        #expect(try a.lastPosition() == 1)
        // b moves s on; a still has it at version 1, yet appends at the version the log holds.
        _ = try await b.append(AppendRequest(stream: "s", expected: .exactly(1), events: [event()]))
        let third = try await a.append(AppendRequest(stream: "s", expected: .exactly(2), events: [event()]))
        #expect(third.positions == 3...3 && third.streamVersions == ["s": 3])
        // A real conflict is still one, with the version the log holds.
        await #expect(throws: VersionConflict(stream: "s", expected: .exactly(2), actual: 3)) {
            try await a.append(AppendRequest(stream: "s", expected: .exactly(2), events: [event()]))
        }
        // b appends elsewhere; a's next append lands after it, and the chain runs through both.
        _ = try await b.append(AppendRequest(stream: "u", expected: .noStream, events: [event()]))
        let fifth = try await a.append(AppendRequest(stream: "s", expected: .any, events: [event(), event()]))
        #expect(fifth.positions == 5...6 && fifth.streamVersions == ["s": 5])
        let all = try a.read(from: 1, limit: 100)
        #expect(all.map(\.position) == Array(1...6))
        #expect(all.filter { $0.stream == "s" }.map(\.version) == Array(1...5))
        #expect(try a.head(of: "s") == StreamHead(version: 5, lastPosition: 6))
        #expect(try b.verify().fault == nil)
    }

    @Test("reads for async callers: 400 at once all answer, over at most 16 connections of the store's")
    func asyncReadsShareABoundedPool() async throws {
        let url = try freshPostgresURL()
        let store = try PostgresEventStore(url: url)
        let observer = try PostgresEventStore(url: url)
        defer { store.close(); observer.close() }
        for i in 1...20 {
            _ = try await store.append(AppendRequest(stream: "s-\(i % 4)", expected: .any, events: [event("e", "\(i)")]))
        }
        // The sessions on the database, from a connection of the observer's (its own pool, its writer
        // and its listener are among them, as are the store's writer and listener).
        let baseline = try observer.sessionCount()
        let sampling = Task {
            var most = 0
            while !Task.isCancelled {
                most = max(most, try observer.sessionCount())
                try? await Task.sleep(for: .milliseconds(2))
            }
            return most
        }
        let answers = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<400 {
                group.addTask {
                    switch i % 3 {
                    case 0: return Int(try await store.fetchLastPosition())
                    case 1: return try await store.fetchStream("s-\(i % 4)", fromVersion: 1, limit: 100).count
                    default: return try await store.fetch(from: 1, limit: 100).count
                    }
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        sampling.cancel()
        let most = try await sampling.value
        #expect(answers.count == 400 && answers.allSatisfy { $0 == 20 || $0 == 5 })
        #expect(most - baseline <= 16, "the store opened \(most - baseline) connections for its reads")
        #expect(most > baseline)
    }

    @Test("a database holding other tables is refused, and nothing is created in it")
    func foreignDatabase() throws {
        let url = try freshPostgresURL()
        let psql = try run("/usr/lib/postgresql/15/bin/psql", [url.description, "-q", "-c", "CREATE TABLE events (id int)"])
        #expect(psql.status == 0, "\(psql.stderr)")
        #expect {
            try PostgresEventStore(url: url)
        } throws: { error in
            (error as? EventLogError)?.code == .foreign
        }
        let tables = try run(
            "/usr/lib/postgresql/15/bin/psql", [url.description, "-At", "-c", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"])
        #expect(tables.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
    }
}

extension PostgresEventStore {
    /// The sessions connected to this log's database, counted on a connection of this store's pool.
    func sessionCount() throws -> Int {
        try pool.with { conn in
            Int(
                try conn.run("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()", logger: logger)
                    .first!.decode(Int64.self))
        }
    }
}

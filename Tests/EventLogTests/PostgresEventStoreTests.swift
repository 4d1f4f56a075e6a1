import EventLog
import EventStoreConformance
import Foundation
import PostgresEventLog
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

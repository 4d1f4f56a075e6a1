import Engine
import EventLog
import Foundation
import Testing

@Suite struct LogFeedTests {
    static func proposed(_ text: String) -> ProposedEvent {
        ProposedEvent(type: "test.happened", actor: "user-1", correlationID: "c", data: Array(#"{"text":"\#(text)"}"#.utf8))
    }

    @Test("next answers what is there at once, waits for an append when nothing is, and gives up after its wait")
    func nextWaitsForNews() async throws {
        let fixture = try EngineFixture()
        let feed = fixture.engine.log
        #expect(try await feed.lastPosition() == 0)

        _ = try await fixture.store.append(AppendRequest(stream: "s", expected: .any, events: [Self.proposed("one")]))
        let first = try await feed.next(after: 0, limit: 10, wait: .seconds(5))
        #expect(first.map(\.position) == [1])

        // Nothing after 1 yet: an append 200 ms later ends the wait, long before its limit.
        let store = fixture.store
        let writer = Task {
            try await Task.sleep(for: .milliseconds(200))
            _ = try await store.append(AppendRequest(stream: "s", expected: .any, events: [Self.proposed("two")]))
        }
        let started = ContinuousClock.now
        let second = try await feed.next(after: 1, limit: 10, wait: .seconds(30))
        try await writer.value
        #expect(second.map(\.position) == [2])
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(try await feed.lastPosition() == 2)

        // Nothing comes: an empty answer once the wait is over.
        let none = try await feed.next(after: 2, limit: 10, wait: .milliseconds(100))
        #expect(none.isEmpty)
        #expect(feed.groupStatistics.map { $0.appends } == 2)
    }

    @Test("storage faults are told apart from other errors")
    func storageFailures() {
        #expect(StorageFailure(EventLogError(.storageFull, "full")) == .full)
        #expect(StorageFailure(EventLogError(.closed, "closed")) == .closed)
        #expect(StorageFailure(EventLogError(.corrupt, "bad")) == nil)
        #expect(StorageFailure(CancellationError()) == nil)
    }
}

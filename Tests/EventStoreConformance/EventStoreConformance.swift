import EventLog
import Foundation
import Testing

/// What every event-log backend must do, as a library any backend's tests run: they supply a factory
/// that makes a fresh, empty store, and run each `Check` against it, as
///
///     @Test(arguments: EventStoreConformance.Check.allCases)
///     func conformance(check: EventStoreConformance.Check) async throws {
///         try await EventStoreConformance { FreshStore(try MyStore.open(…)) }.run(check)
///     }
public struct EventStoreConformance: Sendable {
    /// Makes a new, empty store for one check.
    public let makeStore: @Sendable () async throws -> FreshStore

    public init(makeStore: @escaping @Sendable () async throws -> FreshStore) { self.makeStore = makeStore }

    /// One thing a backend must do; a parameter of the backend's conformance test.
    public enum Check: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case appendAndRead
        case typedScan
        case streamRanges
        case expectedVersions
        case multiStreamAtomicity
        case idempotency
        case concurrentOutcomes
        case gapless
        case tail
        case invalidRequests
        case asyncReads

        public var testDescription: String {
            switch self {
            case .appendAndRead: "append then read back: envelope fields, positions and versions"
            case .typedScan: "a typed scan hands over every position but builds only the asked-for types"
            case .streamRanges: "stream reads honour version ranges"
            case .expectedVersions: "expected versions: a mismatch names stream, expected and actual, and writes nothing"
            case .multiStreamAtomicity: "a batch over several streams is atomic"
            case .idempotency: "a repeated command id returns the first result and writes nothing"
            case .concurrentOutcomes: "concurrent appends: each caller gets its own outcome; one conflict fails only its caller"
            case .gapless: "positions are gapless and versions contiguous under concurrency"
            case .tail: "a subscription delivers the past, then each new commit, and ends when cancelled"
            case .invalidRequests: "malformed appends are refused before anything is written"
            case .asyncReads: "the reads for async callers answer as the synchronous ones, a page and a type filter at a time"
            }
        }
    }

    /// Runs `check` against a fresh store; what does not hold is recorded as a test issue.
    public func run(_ check: Check) async throws {
        switch check {
        case .appendAndRead: try await appendAndRead()
        case .typedScan: try await typedScan()
        case .streamRanges: try await streamRanges()
        case .expectedVersions: try await expectedVersions()
        case .multiStreamAtomicity: try await multiStreamAtomicity()
        case .idempotency: try await idempotency()
        case .concurrentOutcomes: try await concurrentOutcomes()
        case .gapless: try await gapless()
        case .tail: try await tail()
        case .invalidRequests: try await invalidRequests()
        case .asyncReads: try await asyncReads()
        }
    }

    func appendAndRead() async throws {
        let made = try await makeStore()
        let store = made.store
        defer { store.close(); _ = made }
        let result = try await store.append(
            AppendRequest(stream: "thread-a", expected: .noStream, events: [event("a.one", "1"), event("a.two", "2")]))
        #expect(result.firstPosition == 1 && result.lastPosition == 2)
        #expect(result.streamVersions == ["thread-a": 2])
        #expect(result.deduplicated == false)
        let second = try await store.append(AppendRequest(stream: "thread-b", expected: .any, events: [event("b.one", "3")]))
        #expect(second.positions == 3...3)

        let all = try store.read(from: 1, limit: 100)
        #expect(all.map(\.position) == [1, 2, 3])
        #expect(all.map(\.stream) == ["thread-a", "thread-a", "thread-b"])
        #expect(all.map(\.version) == [1, 2, 1])
        #expect(all.map(\.type) == ["a.one", "a.two", "b.one"])
        #expect(all[0].actor == "user-1" && all[0].correlationID == "corr-1" && all[0].schemaVersion == 1)
        #expect(String(decoding: all[1].data, as: UTF8.self) == #"{"text":"2"}"#)
        #expect(all[0].timeMillis > 1_700_000_000_000)
        #expect(try store.read(from: 2, limit: 1).map(\.position) == [2])
        #expect(try store.read(from: 4, limit: 10).isEmpty)
        #expect(try store.lastPosition() == 3)
        #expect(try store.head(of: "thread-a") == StreamHead(version: 2, lastPosition: 2))
        #expect(try store.head(of: "nothing") == nil)
    }

    func asyncReads() async throws {
        let made = try await makeStore()
        let store = made.store
        defer { store.close(); _ = made }
        #expect(try await store.fetchLastPosition() == 0)
        #expect(try await store.fetch(from: 1, limit: 10).isEmpty)
        _ = try await store.append(
            AppendRequest(
                commandID: "cmd-1",
                writes: [
                    StreamWrite(stream: "s", expected: .noStream, events: [event("a.one", "1"), event("b.one", "2")]),
                    StreamWrite(stream: "t", expected: .noStream, events: [event("a.one", "3")]),
                ]))
        _ = try await store.append(AppendRequest(stream: "s", expected: .exactly(2), events: [event("a.one", "4")]))
        #expect(try await store.fetch(from: 1, limit: 100) == store.read(from: 1, limit: 100))
        #expect(try await store.fetch(from: 2, limit: 2).map(\.position) == [2, 3])
        #expect(try await store.fetch(from: 5, limit: 10).isEmpty)
        #expect(try await store.fetchStream("s", fromVersion: 2, limit: 10) == store.readStream("s", fromVersion: 2, limit: 10))
        #expect(try await store.fetchStream("missing", fromVersion: 1, limit: 10).isEmpty)
        let first = try #require(try await store.fetchResult(ofCommand: "cmd-1"))
        #expect(first.positions == 1...3 && first.streamVersions == ["s": 2, "t": 1] && first.deduplicated)
        #expect(try await store.fetchResult(ofCommand: "cmd-2") == nil)
        #expect(try await store.fetchLastPosition() == 4)
        let page = try await store.fetch(from: 2, limit: 2, ofTypes: [Array("a.one".utf8)])
        #expect(page.map(\.0) == [2, 3])
        #expect(page.map(\.1?.type) == [nil, "a.one"])
        #expect(page.last?.1?.data == Array(#"{"text":"3"}"#.utf8))
        #expect(try await store.fetch(from: 1, limit: 100, ofTypes: []).allSatisfy { $0.1 == nil })
        #expect(try await store.fetch(from: 1, limit: 100, ofTypes: []).count == 4)
    }

    func typedScan() async throws {
        let made = try await makeStore()
        let store = made.store
        defer { store.close(); _ = made }
        _ = try await store.append(
            AppendRequest(
                stream: "thread-a", expected: .any, events: [event("a.one", "1"), event("b.one", "2"), event("a.one", "3")]))
        var seen: [(UInt64, String?)] = []
        try store.forEach(from: 2, ofTypes: [Array("a.one".utf8), Array("c.one".utf8)]) { position, recorded in
            seen.append((position, recorded?.type))
            return true
        }
        #expect(seen.map(\.0) == [2, 3])
        #expect(seen.map(\.1) == [nil, "a.one"])
        var visited = 0
        try store.forEach(from: 1, ofTypes: []) { _, _ in
            visited += 1
            return false
        }
        #expect(visited == 1)
    }

    func streamRanges() async throws {
        let made = try await makeStore()
        let store = made.store
        defer { store.close(); _ = made }
        for i in 1...10 {
            _ = try await store.append(AppendRequest(stream: "s", expected: .any, events: [event("e", "\(i)")]))
            _ = try await store.append(AppendRequest(stream: "other", expected: .any, events: [event("e", "o\(i)")]))
        }
        #expect(try store.readStream("s", fromVersion: 1, limit: 100).map(\.version) == Array(1...10))
        #expect(try store.readStream("s", fromVersion: 4, limit: 3).map(\.version) == [4, 5, 6])
        #expect(try store.readStream("s", fromVersion: 9, limit: 100).map(\.version) == [9, 10])
        #expect(try store.readStream("s", fromVersion: 11, limit: 100).isEmpty)
        #expect(try store.readStream("missing", fromVersion: 1, limit: 100).isEmpty)
        #expect(try store.readStream("s", fromVersion: 1, limit: 100).allSatisfy { $0.stream == "s" })
    }

    func expectedVersions() async throws {
        let made = try await makeStore()
        let store = made.store
        defer { store.close(); _ = made }
        _ = try await store.append(AppendRequest(stream: "s", expected: .noStream, events: [event(), event()]))

        await #expect(throws: VersionConflict(stream: "s", expected: .noStream, actual: 2)) {
            try await store.append(AppendRequest(stream: "s", expected: .noStream, events: [event()]))
        }
        await #expect(throws: VersionConflict(stream: "s", expected: .exactly(1), actual: 2)) {
            try await store.append(AppendRequest(stream: "s", expected: .exactly(1), events: [event()]))
        }
        await #expect(throws: VersionConflict(stream: "new", expected: .exactly(3), actual: nil)) {
            try await store.append(AppendRequest(stream: "new", expected: .exactly(3), events: [event()]))
        }
        #expect(try store.lastPosition() == 2)
        let ok = try await store.append(AppendRequest(stream: "s", expected: .exactly(2), events: [event()]))
        #expect(ok.streamVersions["s"] == 3 && ok.firstPosition == 3)
        let any = try await store.append(AppendRequest(stream: "s", expected: .any, events: [event()]))
        #expect(any.streamVersions["s"] == 4)
        let fresh = try await store.append(AppendRequest(stream: "zero", expected: .exactly(0), events: [event()]))
        #expect(fresh.streamVersions["zero"] == 1)
    }

    func multiStreamAtomicity() async throws {
        let made = try await makeStore()
        let store = made.store
        defer { store.close(); _ = made }
        _ = try await store.append(AppendRequest(stream: "b", expected: .noStream, events: [event()]))
        let request = AppendRequest(writes: [
            StreamWrite(stream: "a", expected: .noStream, events: [event(), event()]),
            StreamWrite(stream: "b", expected: .noStream, events: [event()]),
        ])
        await #expect(throws: VersionConflict(stream: "b", expected: .noStream, actual: 1)) {
            try await store.append(request)
        }
        #expect(try store.head(of: "a") == nil)
        #expect(try store.lastPosition() == 1)

        let good = AppendRequest(writes: [
            StreamWrite(stream: "a", expected: .noStream, events: [event(), event()]),
            StreamWrite(stream: "b", expected: .exactly(1), events: [event()]),
        ])
        let result = try await store.append(good)
        #expect(result.positions == 2...4)
        #expect(result.streamVersions == ["a": 2, "b": 2])
        #expect(try store.read(from: 2, limit: 10).map(\.stream) == ["a", "a", "b"])
    }

    func idempotency() async throws {
        let made = try await makeStore()
        let store = made.store
        defer { store.close(); _ = made }
        _ = try await store.append(AppendRequest(stream: "x", expected: .any, events: [event()]))
        let request = AppendRequest(
            commandID: "cmd-42",
            writes: [
                StreamWrite(stream: "s", expected: .noStream, events: [event(), event()]),
                StreamWrite(stream: "t", expected: .any, events: [event()]),
            ])
        let first = try await store.append(request)
        let again = try await store.append(request)
        #expect(again.deduplicated)
        #expect(again.positions == first.positions)
        #expect(again.streamVersions == first.streamVersions)
        #expect(try store.lastPosition() == 4)
        // Even a retry whose expected version would now fail gets the first answer.
        let changed = AppendRequest(commandID: "cmd-42", stream: "s", expected: .noStream, events: [event()])
        #expect(try await store.append(changed).positions == first.positions)

        // Concurrent retries of one command write it once.
        let concurrent = try await withThrowingTaskGroup(of: AppendResult.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    try await store.append(AppendRequest(commandID: "cmd-43", stream: "u", expected: .any, events: [event()]))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(concurrent.map(\.firstPosition)).count == 1)
        #expect(concurrent.filter { !$0.deduplicated }.count == 1)
        #expect(try store.head(of: "u")?.version == 1)
    }

    func concurrentOutcomes() async throws {
        let made = try await makeStore()
        let store = made.store
        defer { store.close(); _ = made }
        enum Outcome: Sendable { case ok(String, AppendResult), conflict(String) }
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for i in 0..<64 {
                group.addTask {
                    // Half race for one new stream (exactly one may win), half write streams of their own.
                    let stream = i.isMultiple(of: 2) ? "contested" : "own-\(i)"
                    do {
                        let result = try await store.append(AppendRequest(stream: stream, expected: .noStream, events: [event()]))
                        return .ok(stream, result)
                    } catch let conflict as VersionConflict {
                        #expect(conflict.stream == "contested" && conflict.actual == 1)
                        return .conflict(stream)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        var wins = 0
        var conflicts = 0
        var positions: [UInt64] = []
        for outcome in outcomes {
            switch outcome {
            case .ok(let stream, let result):
                if stream == "contested" { wins += 1 }
                positions.append(result.firstPosition)
            case .conflict: conflicts += 1
            }
        }
        #expect(wins == 1)
        #expect(conflicts == 31)
        #expect(positions.sorted() == Array(1...33))
    }

    func gapless() async throws {
        let made = try await makeStore()
        let store = made.store
        defer { store.close(); _ = made }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let count = i % 5 + 1
                    let events = (0..<count).map { event("e", "\(i)-\($0)") }
                    _ = try await store.append(AppendRequest(stream: "s-\(i % 9)", expected: .any, events: events))
                }
            }
            try await group.waitForAll()
        }
        let all = try store.read(from: 1, limit: 10_000)
        let total = (0..<200).reduce(0) { $0 + $1 % 5 + 1 }
        #expect(all.count == total)
        #expect(all.map(\.position) == Array(1...UInt64(total)))
        for s in 0..<9 {
            let versions = all.filter { $0.stream == "s-\(s)" }.map(\.version)
            #expect(versions == Array(1...UInt64(versions.count)))
        }
    }

    func tail() async throws {
        let made = try await makeStore()
        let store = made.store
        defer { store.close(); _ = made }
        for i in 1...5 { _ = try await store.append(AppendRequest(stream: "s", expected: .any, events: [event("e", "\(i)")])) }

        // Ends once the consumer has been handed the past; the commits below then reach it live.
        let (pastDelivered, past) = AsyncStream<Void>.makeStream()
        let consumer = Task {
            defer { past.finish() }
            var seen: [UInt64] = []
            for try await recorded in store.subscribe(after: 2) {
                seen.append(recorded.position)
                if recorded.position == 5 { past.finish() }
                if seen.count == 13 { break }
            }
            return seen
        }
        for await _ in pastDelivered {}
        for i in 6...15 { _ = try await store.append(AppendRequest(stream: "t", expected: .any, events: [event("e", "\(i)")])) }
        #expect(try await consumer.value == Array(3...15))

        // A consumer waiting for events that never come stops when its task is cancelled.
        let idle = Task {
            var count = 0
            for try await _ in store.subscribe(after: 15) { count += 1 }
            return count
        }
        try await Task.sleep(for: .milliseconds(50))
        idle.cancel()
        #expect(try await idle.value == 0)
    }

    func invalidRequests() async throws {
        let made = try await makeStore()
        let store = made.store
        defer { store.close(); _ = made }
        let bad: [AppendRequest] = [
            AppendRequest(writes: []),
            AppendRequest(stream: "", expected: .any, events: [event()]),
            AppendRequest(stream: "s", expected: .any, events: []),
            AppendRequest(stream: String(repeating: "s", count: 300), expected: .any, events: [event()]),
            AppendRequest(stream: "s", expected: .any, events: [event("")]),
            AppendRequest(commandID: "", stream: "s", expected: .any, events: [event()]),
            AppendRequest(writes: [
                StreamWrite(stream: "s", expected: .any, events: [event()]),
                StreamWrite(stream: "s", expected: .any, events: [event()]),
            ]),
        ]
        for request in bad {
            await #expect {
                try await store.append(request)
            } throws: { error in
                (error as? EventLogError)?.code == .invalidArgument
            }
        }
        #expect(try store.lastPosition() == 0)
    }
}

/// A store made for one check, and what must live as long as it (its temporary directory).
public struct FreshStore: Sendable {
    public let store: any EventStore
    public let keepAlive: (any Sendable)?

    public init(_ store: any EventStore, keepAlive: (any Sendable)? = nil) {
        self.store = store
        self.keepAlive = keepAlive
    }
}

/// An event of `type` whose payload is `{"text":text}`, by `actor`, in correlation `corr-1`.
public func event(_ type: String = "test.happened", _ text: String = "hello", actor: String = "user-1") -> ProposedEvent {
    ProposedEvent(type: type, actor: actor, correlationID: "corr-1", data: Array(#"{"text":"\#(text)"}"#.utf8))
}

import EventStoreConformance
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import EventLog

@Suite("LMDB event log")
struct LMDBEventStoreTests {
    @Test("conformance", arguments: EventStoreConformance.Check.allCases)
    func conformance(check: EventStoreConformance.Check) async throws {
        try await EventStoreConformance {
            let dir = try TempDirectory()
            return FreshStore(try LMDBEventStore.open(directory: dir.sub("log")), keepAlive: dir)
        }.run(check)
    }

    @Test("a tiny initial map grows on demand; no caller sees MDB_MAP_FULL")
    func mapGrowth() async throws {
        let dir = try TempDirectory()
        let store = try LMDBEventStore.open(directory: dir.sub("log"), options: EventLogOptions(initialMapSize: 64 << 10))
        let startSize = store.env.mapSize
        let text = String(repeating: "y", count: 280)
        for batch in 0..<20 {
            let events = (0..<100).map { event("big", "\(batch)-\($0)-\(text)") }
            _ = try await store.append(AppendRequest(stream: "s-\(batch % 3)", expected: .any, events: events))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask { _ = try await store.append(AppendRequest(stream: "c-\(i)", expected: .noStream, events: [event("one", text)])) }
            }
            try await group.waitForAll()
        }
        #expect(store.env.mapSize > startSize)
        #expect(try store.lastPosition() == 2200)
        #expect(try store.verify().fault == nil)
        store.close()
    }

    @Test("a full view store grows its map and runs the write again, telling the body which attempt it is")
    func viewMapGrowth() throws {
        let dir = try TempDirectory()
        let views = try ViewStore.open(directory: dir.sub("views"), initialMapSize: 64 << 10)
        try views.prepare(tables: ["t"])
        let large = [UInt8](repeating: 7, count: 200 << 10)
        var attempts: [Int] = []
        let written = try views.write(attempts: { txn, attempt in
            attempts.append(attempt)
            try txn.put("t", Array("k".utf8), large)
            return attempt
        })
        // 64 KiB, 128 KiB and 256 KiB: the third attempt fits.
        #expect(attempts == [1, 2, 3])
        #expect(written == 3)
        #expect(try views.read { txn in try txn.get("t", Array("k".utf8)) } == large)
        // A body that ignores the attempt is simply repeated until the map holds its writes.
        var runs = 0
        try views.write { txn in
            runs += 1
            try txn.put("t", Array("k2".utf8), large + large)
        }
        #expect(runs > 1)
        #expect(try views.read { txn in try txn.get("t", Array("k2".utf8)) } == large + large)
    }

    @Test("every view write runs on the store's one lane: async writes queue there without holding the cooperative pool, a batch from a thread of its own waits its turn, none overlap")
    func queuedViewWrites() async throws {
        let dir = try TempDirectory()
        let views = try ViewStore.open(directory: dir.sub("views"))
        try views.prepare(tables: ["t"])
        let tally = WriterTally()
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        // A write holds the lane (for a minute at most: other tests may hold the shared pool a while).
        let holder = Thread {
            try? views.write { _ in
                tally.enter()
                entered.signal()
                _ = release.wait(timeout: .now() + 60)
                tally.leave()
            }
        }
        holder.start()
        entered.wait()
        let start = ContinuousClock.now
        // A projection batch, as a projector's catch-up thread submits it.
        let batchDone = DispatchSemaphore(value: 0)
        let batch = Thread {
            _ = try? views.write(attempts: { txn, _ in
                tally.enter()
                defer { tally.leave() }
                for index in 0..<100 { try txn.put("t", Array("batch-\(index)".utf8), [1]) }
            })
            batchDone.signal()
        }
        batch.start()
        // More queued writes than the pool has threads: were they waiting on the pool, nothing else would
        // run before the holder lets go.
        let writes = (0..<16).map { index in
            Task {
                try await views.queuedWrite { txn in
                    tally.enter()
                    defer { tally.leave() }
                    try txn.put("t", [UInt8(index)], [UInt8(index)])
                }
            }
        }
        let ran = await Task { ContinuousClock.now }.value
        // Blocked, it would run only once the holder let go; a busy machine may delay it a little.
        #expect(ran - start < .seconds(45), "the cooperative pool was blocked")
        #expect(try views.read { txn in try txn.get("t", [0]) } == nil)
        #expect(try views.read { txn in try txn.get("t", Array("batch-0".utf8)) } == nil)
        release.signal()
        for write in writes { try await write.value }
        batchDone.wait()
        for index in 0..<16 {
            #expect(try views.read { txn in try txn.get("t", [UInt8(index)]) } == [UInt8(index)])
        }
        #expect(try views.read { txn in try txn.get("t", Array("batch-99".utf8)) } == [1])
        let seen = tally.seen
        #expect(seen.writes == 18)
        #expect(seen.most == 1, "writes overlapped")
        #expect(seen.threads == 1, "writes ran on \(seen.threads) threads")
    }

    @Test("a busy log gathers appends into fewer commits; a quiet one commits each append alone")
    func gathering() async throws {
        let dir = try TempDirectory()
        // Quiet: one writer, one append at a time: never more than one queued, so never gathered.
        let quiet = try LMDBEventStore.open(directory: dir.sub("quiet"), options: EventLogOptions(gatherDelay: .milliseconds(50)))
        for i in 0..<10 {
            _ = try await quiet.append(AppendRequest(stream: "q", expected: .exactly(UInt64(i)), events: [event()]))
        }
        #expect(quiet.notifier.groupStatistics == (commits: 10, appends: 10))
        quiet.close()

        // Busy: appends queued up while a (large) commit ran. The writer then waits `gatherDelay` before
        // its next commit, so that commit also carries whatever arrives meanwhile. A commit stamps its
        // events with the time it began, so the gap between the two commits' stamps shows the wait.
        let gather = Duration.seconds(2)
        let store = try LMDBEventStore.open(directory: dir.sub("busy"), options: EventLogOptions(gatherDelay: gather))
        let filler = String(repeating: "z", count: 200)
        let request = AppendRequest(stream: "large", expected: .noStream, events: (0..<20_000).map { event("big", "\($0)\(filler)") })
        let large = Task { try await store.append(request) }
        // Once the writer has taken the large append, it is committing it.
        let committer = try #require(store.committer)
        while committer.counts != (enqueued: 1, waiting: 0) { try await Task.sleep(for: .milliseconds(1)) }
        let smalls = (0..<8).map { i in
            Task { try await store.append(AppendRequest(stream: "s-\(i)", expected: .noStream, events: [event()])) }
        }
        while committer.counts.enqueued < 9 { try await Task.sleep(for: .milliseconds(1)) }
        // On a loaded machine the large commit may end before all eight are queued behind it; the
        // checks of the gathering below hold when it did not.
        // Queued (first), while the large commit had not yet ended (then): the writer looks at the queue
        // only after that commit, and only it takes from the queue.
        let queuedBehind = committer.counts.waiting == 8 && store.notifier.groupStatistics.commits == 0
        let largeResult = try await large.value
        for task in smalls { #expect(try await task.value.firstPosition > largeResult.lastPosition) }
        let events = try store.read(from: 1, limit: 30_000)
        #expect(events.count == 20_008)
        let largeStamp = try #require(events.first?.timeMillis)
        let smallStamps = Set(events.suffix(8).map(\.timeMillis))
        if queuedBehind {
            #expect(store.notifier.groupStatistics == (commits: 2, appends: 9))
            #expect(smallStamps.count == 1)
            #expect(smallStamps.allSatisfy { Double($0 - largeStamp) >= gather / .milliseconds(1) })
        }
        #expect(try store.verify().fault == nil)
        store.close()
    }

    @Test("a reopened log keeps its events and continues positions and the chain")
    func reopen() async throws {
        let dir = try TempDirectory()
        var store = try LMDBEventStore.open(directory: dir.sub("log"))
        _ = try await store.append(AppendRequest(commandID: "c1", stream: "s", expected: .noStream, events: [event(), event()]))
        store.close()
        store = try LMDBEventStore.open(directory: dir.sub("log"))
        let again = try await store.append(AppendRequest(commandID: "c1", stream: "s", expected: .noStream, events: [event()]))
        #expect(again.deduplicated && again.positions == 1...2)
        let next = try await store.append(AppendRequest(stream: "s", expected: .exactly(2), events: [event()]))
        #expect(next.positions == 3...3 && next.streamVersions["s"] == 3)
        let report = try store.verify()
        #expect(report.fault == nil && report.checked == 3 && report.streams == 1)
        store.close()
    }

    @Test("a read-only log refuses appends and changes nothing")
    func readOnly() async throws {
        let dir = try TempDirectory()
        let writer = try LMDBEventStore.open(directory: dir.sub("log"))
        _ = try await writer.append(AppendRequest(stream: "s", expected: .any, events: [event()]))
        let reader = try LMDBEventStore.openReadOnly(directory: dir.sub("log"))
        await #expect { try await reader.append(AppendRequest(stream: "s", expected: .any, events: [event()])) } throws: {
            ($0 as? EventLogError)?.code == .readOnly
        }
        // A reader in its own environment sees the writer's later commits.
        _ = try await writer.append(AppendRequest(stream: "s", expected: .any, events: [event()]))
        #expect(try reader.lastPosition() == 2)
        reader.close()
        writer.close()
    }

    @Test("missing, foreign and newer-format directories are refused with a clear error")
    func refusals() async throws {
        let dir = try TempDirectory()
        #expect { try LMDBEventStore.openReadOnly(directory: dir.sub("nothing")) } throws: {
            ($0 as? EventLogError)?.code == .missing
        }
        #expect { try DataDirectory(dir.sub("nothing"), create: false) } throws: { ($0 as? EventLogError)?.code == .missing }

        // A directory of someone else's files is not taken over.
        let other = dir.sub("other")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try Data("hello".utf8).write(to: URL(fileURLWithPath: other + "/notes.txt"))
        #expect { try DataDirectory(other, create: true) } throws: { ($0 as? EventLogError)?.code == .foreign }
        #expect(try FileManager.default.contentsOfDirectory(atPath: other) == ["notes.txt"])

        // A data.mdb that is not LMDB.
        let garbage = dir.sub("garbage")
        try FileManager.default.createDirectory(atPath: garbage, withIntermediateDirectories: true)
        try Data(repeating: 0xAB, count: 16384).write(to: URL(fileURLWithPath: garbage + "/data.mdb"))
        for open in [{ try LMDBEventStore.openReadOnly(directory: garbage) }, { try LMDBEventStore.open(directory: garbage) }] {
            #expect { try open() } throws: { ($0 as? EventLogError)?.code == .foreign }
        }

        // A log written by a newer format.
        let newer = dir.sub("newer")
        let store = try LMDBEventStore.open(directory: newer)
        _ = try await store.append(AppendRequest(stream: "s", expected: .any, events: [event()]))
        store.close()
        let env = try LMDBEnvironment(path: newer, readOnly: false, mapSize: 1 << 20, maxDatabases: 8)
        let metaTable = try env.openDatabase("meta", create: false)
        try env.write { txn in try txn.put(metaTable, Array("format".utf8), [0, 0, 0, 9]) }
        let before = try Data(contentsOf: URL(fileURLWithPath: newer + "/data.mdb"))
        for open in [{ try LMDBEventStore.openReadOnly(directory: newer) }, { try LMDBEventStore.open(directory: newer) }] {
            #expect { try open() } throws: { error in
                guard let error = error as? EventLogError else { return false }
                return error.code == .newerFormat && error.message.contains("format 9")
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: newer + "/data.mdb")) == before)
    }

    @Test("verify detects every single-byte change of an event's record")
    func tamperDetection() async throws {
        let dir = try TempDirectory()
        let store = try LMDBEventStore.open(directory: dir.sub("log"))
        let marker = "MARKER-\(UUID().uuidString)"
        for i in 1...30 {
            let text = i == 17 ? marker : "filler-\(i)"
            _ = try await store.append(
                AppendRequest(commandID: "cmd-\(i)", stream: "s-\(i % 4)", expected: .any, events: [event("t.\(i % 3)", text)]))
        }
        let target = try store.read(from: 17, limit: 1)[0]
        #expect(try store.verify().fault == nil)
        store.close()

        let original = try Data(contentsOf: URL(fileURLWithPath: dir.sub("log") + "/data.mdb"))
        // LMDB is copy-on-write: stale copies of the record's page may linger in free pages. Change the
        // byte in every copy; the live one is among them.
        let payload = Data(target.data)
        var payloadRanges: [Range<Int>] = []
        var searchFrom = original.startIndex
        while let found = original.range(of: payload, in: searchFrom..<original.endIndex) {
            payloadRanges.append(found)
            searchFrom = found.upperBound
        }
        #expect(!payloadRanges.isEmpty)
        let stringBytes = [target.stream, target.type, target.actor, target.correlationID, target.commandID].reduce(0) { $0 + $1.utf8.count }
        let starts = payloadRanges.map { $0.lowerBound - Record.headerSize - stringBytes }
        let recordLength = Record.headerSize + stringBytes + payload.count
        #expect(starts.allSatisfy { original[$0] == Record.format })

        let copy = dir.sub("copy")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        var missed: [Int] = []
        for offset in 0..<recordLength {
            var tampered = original
            for start in starts { tampered[start + offset] ^= 0x01 }
            try tampered.write(to: URL(fileURLWithPath: copy + "/data.mdb"))
            let reader = try LMDBEventStore.openReadOnly(directory: copy)
            let fault = try reader.verify().fault
            reader.close()
            if fault?.position != 17 { missed.append(offset) }
        }
        #expect(missed.isEmpty, "offsets into the record not detected at position 17: \(missed)")
    }

    @Test("verify reports a damaged stream index")
    func streamIndexDamage() async throws {
        let dir = try TempDirectory()
        let store = try LMDBEventStore.open(directory: dir.sub("log"))
        for i in 1...10 { _ = try await store.append(AppendRequest(stream: "s-\(i % 2)", expected: .any, events: [event()])) }
        try store.env.write { txn in try txn.put(store.streams, Array("s-1".utf8), Record.key(4) + Record.key(7)) }
        let fault = try store.verify().fault
        #expect(fault?.reason.contains("s-1") == true)
        store.close()
    }
}

/// Counts the view writes under way and the threads they ran on.
private final class WriterTally: Sendable {
    private struct State {
        var active = 0
        var most = 0
        var writes = 0
        var threads: Set<UInt> = []
    }

    private let state = Mutex(State())

    func enter() {
        let thread = UInt(pthread_self())
        state.withLock { state in
            state.active += 1
            state.writes += 1
            state.most = max(state.most, state.active)
            state.threads.insert(thread)
        }
    }

    func leave() { state.withLock { $0.active -= 1 } }

    var seen: (writes: Int, most: Int, threads: Int) {
        state.withLock { ($0.writes, $0.most, $0.threads.count) }
    }
}

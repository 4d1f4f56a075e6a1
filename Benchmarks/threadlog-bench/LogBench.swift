import EventLog
import Foundation
import Messaging
import RawLMDB

let streams: UInt64 = 10_000
let payload = Array((#"{"body":""# + String(repeating: "m", count: 149) + #"","kind":"text"}"#).utf8)

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// The same xorshift sequence as the C baseline, so both write the same streams in the same order.
struct StreamPicker {
    var state: UInt64 = 88_172_645_463_325_252
    mutating func next() -> String {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return "thread-\(state % streams)"
    }
}

func tempDir(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "threadlog-bench-\(name)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

/// The log's record for an average event is this long; the baseline writes values of the same size.
let recordSize = 108 + "thread-1234".utf8.count + "message.posted".utf8.count + "user-1".utf8.count + payload.count

func raw(events: UInt64, perCommit: UInt32) -> Double {
    let dir = tempDir("raw")
    defer { remove(dir) }
    var seconds = 0.0
    let rc = raw_append(dir, events, perCommit, UInt32(streams), UInt32(recordSize), 0, &seconds)
    precondition(rc == 0, "raw LMDB failed: \(rc)")
    return Double(events) / seconds
}

func proposed() -> ProposedEvent {
    ProposedEvent(type: "message.posted", actor: "user-1", data: payload)
}

/// Appends `events` events in appends of `perAppend` events, one append at a time.
func eventLog(events: Int, perAppend: Int) async throws -> Double {
    let dir = tempDir("log")
    defer { remove(dir) }
    let log = try LMDBEventStore.open(directory: dir, options: EventLogOptions(initialMapSize: 1 << 30))
    defer { log.close() }
    var picker = StreamPicker()
    let start = now()
    var written = 0
    while written < events {
        let count = min(perAppend, events - written)
        var byStream: [String: [ProposedEvent]] = [:]
        var order: [String] = []
        for _ in 0..<count {
            let stream = picker.next()
            if byStream[stream] == nil { order.append(stream) }
            byStream[stream, default: []].append(proposed())
        }
        let writes = order.map { StreamWrite(stream: $0, expected: .any, events: byStream[$0]!) }
        _ = try await log.append(AppendRequest(writes: writes))
        written += count
    }
    return Double(events) / (now() - start)
}

/// `appenders` concurrent callers, one event per append; returns events/s and the mean group size.
func concurrent(events: Int, appenders: Int) async throws -> (Double, Double) {
    let dir = tempDir("group")
    defer { remove(dir) }
    let log = try LMDBEventStore.open(directory: dir, options: EventLogOptions(initialMapSize: 1 << 30))
    defer { log.close() }
    let perAppender = events / appenders
    let start = now()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for a in 0..<appenders {
            group.addTask {
                var picker = StreamPicker(state: UInt64(a + 1) &* 0x9E37_79B9_7F4A_7C15)
                for _ in 0..<perAppender {
                    _ = try await log.append(AppendRequest(stream: picker.next(), expected: .any, events: [proposed()]))
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = now() - start
    let (commits, appends) = log.groupStatistics
    return (Double(perAppender * appenders) / elapsed, Double(appends) / Double(max(commits, 1)))
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

/// Latency from the commit becoming visible to the subscriber's receipt, next to the append's own latency.
func tailLatency(events: Int) async throws -> (Double, Double, Double, Double) {
    let dir = tempDir("tail")
    defer { remove(dir) }
    let log = try LMDBEventStore.open(directory: dir)
    defer { log.close() }
    let received = AsyncStream<Double>.makeStream()
    let consumer = Task {
        var count = 0
        for try await _ in log.subscribe(after: 0) {
            // Appends are one at a time here, so the last commit is the one that produced this event.
            let sinceCommit = ContinuousClock.now - log.lastCommitInstant
            received.continuation.yield(Double(sinceCommit.components.attoseconds) / 1e18 + Double(sinceCommit.components.seconds))
            count += 1
            if count == events { break }
        }
        received.continuation.finish()
    }
    var delivered: [Double] = []
    var acked: [Double] = []
    var iterator = received.stream.makeAsyncIterator()
    for _ in 0..<events {
        let start = now()
        _ = try await log.append(AppendRequest(stream: "t", expected: .any, events: [proposed()]))
        acked.append(now() - start)
        guard let latency = await iterator.next() else { break }
        delivered.append(latency)
    }
    consumer.cancel()
    delivered.sort()
    acked.sort()
    return (percentile(delivered, 0.5), percentile(delivered, 0.99), percentile(acked, 0.5), percentile(acked, 0.99))
}

/// Appends `name value` to the file named by THREADLOG_BENCH_FIGURES, when set: the peer benchmarks
/// (Benchmarks/peers) read the log's figures of the same run from it.
func recordFigure(_ name: String, _ value: Double) {
    guard let path = ProcessInfo.processInfo.environment["THREADLOG_BENCH_FIGURES"], !path.isEmpty else { return }
    let line = Array("\(name) \(fmt(value))\n".utf8)
    guard let file = fopen(path, "a") else { return }
    _ = fwrite(line, 1, line.count, file)
    fclose(file)
}

/// A `message.posted` event of the domain as the service writes it (latest schema version), its payload
/// padded to `payload`'s length so that the replay log has the same record size as the other sections.
func messageEvent(stream: String, number: Int) -> ProposedEvent {
    func encoded(_ text: String) -> EncodedEvent {
        EventCodec.encode(.messagePosted(MessagePosted(
            thread: ThreadID(String(stream.dropFirst("thread-".count))), number: number, author: "user-1", text: text)))
    }
    let event = encoded(String(repeating: "m", count: max(1, payload.count - encoded("").data.count)))
    return ProposedEvent(type: event.type, schemaVersion: event.schemaVersion, actor: "user-1", data: event.data)
}

func fmt(_ v: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", v) }
func row(_ name: String, _ log: Double, _ base: Double, _ unit: String, target: String) {
    let ratio = log / base
    print("\(name.padding(toLength: 44, withPad: " ", startingAt: 0)) \(fmt(log).leftPad(10)) \(unit)   raw \(fmt(base).leftPad(10))   ratio \(fmt(ratio, 2))×   target \(target)")
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

/// The event log against plain LMDB doing the same writes.
func logBenchmarks() async throws {
    print("Threadlog event log vs raw LMDB (durable commits, \(streams) streams, \(recordSize)-byte records)")
    print("")

    // 1. One event per durable commit.
    let singleRaw = raw(events: 1500, perCommit: 1)
    let singleLog = try await eventLog(events: 1500, perAppend: 1)
    row("1. 1 event per commit (commits/s)", singleLog, singleRaw, "ev/s", target: "≥ 0.8×")

    // 2. 64 concurrent appenders, group commit.
    let (groupLog, meanGroup) = try await concurrent(events: 32_000, appenders: 64)
    let groupRaw = raw(events: 32_000, perCommit: UInt32(max(1, meanGroup.rounded())))
    row("2. 64 appenders, group commit", groupLog, groupRaw, "ev/s", target: "≥ 0.5× raw at group size")
    recordFigure("appenders64", groupLog)
    print("   mean group size \(fmt(meanGroup, 1)) appends/commit; \(fmt(groupLog / singleLog, 1))× the log's 1-event rate (target ≥ 5×)")

    // 3. Batches.
    for batch in [100, 1000] {
        let batchRaw = raw(events: 200_000, perCommit: UInt32(batch))
        let batchLog = try await eventLog(events: 200_000, perAppend: batch)
        row("3. batches of \(batch) events per append", batchLog, batchRaw, "ev/s", target: "≥ 0.5×")
        recordFigure("batch\(batch)", batchLog)
    }

    // 4. Full replay of 1M events: the log's decoded read against a bare cursor scan of the same file.
    // The payloads are `message.posted` events of the domain, so that the replay can decode them too.
    let replayDir = tempDir("replay")
    do {
        let log = try LMDBEventStore.open(directory: replayDir, options: EventLogOptions(initialMapSize: 1 << 30))
        var picker = StreamPicker()
        var numbers: [String: Int] = [:]
        for _ in 0..<1000 {
            var byStream: [String: [ProposedEvent]] = [:]
            for _ in 0..<1000 {
                let stream = picker.next()
                numbers[stream, default: 0] += 1
                byStream[stream, default: []].append(messageEvent(stream: stream, number: numbers[stream]!))
            }
            _ = try await log.append(AppendRequest(writes: byStream.map { StreamWrite(stream: $0.key, expected: .any, events: $0.value) }))
        }
        var decoded = 0
        var bytes = 0
        let start = now()
        var next: UInt64 = 1
        // Short read transactions: 10,000 events each.
        while true {
            var seen = 0
            try log.forEach(from: next) { event in
                decoded += 1
                bytes += event.data.count + event.stream.utf8.count
                next = event.position + 1
                seen += 1
                return seen < 10_000
            }
            if seen == 0 { break }
        }
        let logRate = Double(decoded) / (now() - start)
        // The same replay, each payload decoded into the domain's event as the read models and replay do.
        var events = 0
        var textBytes = 0
        let decodeStart = now()
        next = 1
        while true {
            var seen = 0
            try log.forEach(from: next) { event in
                let domain = try EventCodec.decode(type: event.type, schemaVersion: event.schemaVersion, data: event.data)
                if case .messagePosted(let posted) = domain { textBytes += posted.text.utf8.count }
                events += 1
                next = event.position + 1
                seen += 1
                return seen < 10_000
            }
            if seen == 0 { break }
        }
        let payloadRate = Double(events) / (now() - decodeStart)
        precondition(events == decoded && textBytes > 0)
        log.close()
        var count: UInt64 = 0
        var rawBytes: UInt64 = 0
        var seconds = 0.0
        precondition(raw_scan(replayDir, &count, &rawBytes, &seconds) == 0)
        precondition(count == UInt64(decoded))
        row("4. replay of 1M events, decoded envelopes", logRate, Double(count) / seconds, "ev/s", target: "≥ 1,000,000 ev/s")
        row("   … and decoded payloads (message.posted)", payloadRate, Double(count) / seconds, "ev/s", target: "≥ 10× eventsourcing (make bench-peers)")
        recordFigure("replay_decoded", payloadRate)
    }
    remove(replayDir)

    // 5. Tail latency.
    let (p50, p99, ack50, ack99) = try await tailLatency(events: 2000)
    print("5. tail: commit → subscriber p50 \(fmt(p50 * 1e6)) µs, p99 \(fmt(p99 * 1e6)) µs (target p99 ≤ 2 ms); "
        + "append call → ack p50 \(fmt(ack50 * 1e6)) µs, p99 \(fmt(ack99 * 1e6)) µs")
}

import Engine
import EventLog
import Foundation
import Messaging
import Projections

/// A realistic log for the read models: an operator, 20 outside users, 20,000 threads each with an
/// opening, 40 messages from both sides and 9 read-marker moves — 1,000,000 events.
/// `handlerTokenHash` is the SHA-256 of the handler's bearer token; `usersPerWave` more outside users join
/// before each wave of threads, so directory events are spread over the log as they are in service.
func buildViewLog(
    _ log: LMDBEventStore, threads: Int, messagesPerThread: Int, markersPerThread: Int,
    handlerTokenHash: String = String(repeating: "c", count: 64), usersPerWave: Int = 0
) async throws -> Int {
    var batch: [StreamWrite] = []
    var pending = 0
    var total = 0
    var versions: [String: UInt64] = [:]
    func add(_ event: Event, actor: String) async throws {
        let encoded = EventCodec.encode(event)
        let proposed = ProposedEvent(type: encoded.type, schemaVersion: encoded.schemaVersion, actor: actor, data: encoded.data)
        let stream = event.stream
        if let index = batch.firstIndex(where: { $0.stream == stream }) {
            batch[index].events.append(proposed)
        } else {
            batch.append(StreamWrite(stream: stream, expected: .any, events: [proposed]))
        }
        versions[stream, default: 0] += 1
        pending += 1
        total += 1
        if pending >= 2000 { try await flush() }
    }
    func flush() async throws {
        guard !batch.isEmpty else { return }
        _ = try await log.append(AppendRequest(writes: batch))
        batch.removeAll(keepingCapacity: true)
        pending = 0
    }
    try await add(.partyCreated(PartyCreated(id: "acme", name: "Acme", kind: .internal)), actor: "@admin")
    try await add(.partyCreated(PartyCreated(id: "supplier", name: "Supplier", kind: .external)), actor: "@admin")
    let hash = String(repeating: "c", count: 64)
    try await add(.userCreated(UserCreated(id: "hana", name: "Hana", email: "hana@example.com", party: "acme", roles: [.handler], tokenHash: handlerTokenHash)), actor: "@admin")
    let outside = (0..<20).map { UserID("u\($0)") }
    for user in outside {
        try await add(.userCreated(UserCreated(id: user, name: user.rawValue, email: "\(user.rawValue)@example.com", party: "supplier", roles: [], tokenHash: hash)), actor: "@admin")
    }
    let text = String(repeating: "Delivery schedule for next week, please confirm. ", count: 3)
    // Threads are worked on in waves of 500, so batches touch many threads, as live traffic does.
    let wave = 500
    for start in stride(from: 0, to: threads, by: wave) {
        let ids = (start..<min(start + wave, threads)).map { ThreadID("t\($0)") }
        for extra in 0..<usersPerWave {
            let id = UserID("w\(start)-\(extra)")
            try await add(.userCreated(UserCreated(id: id, name: id.rawValue, email: "\(id.rawValue)@example.com", party: "supplier", roles: [], tokenHash: hash)), actor: "@admin")
        }
        for (i, id) in ids.enumerated() {
            let opener = outside[(start + i) % outside.count]
            try await add(
                .threadOpened(ThreadOpened(
                    thread: id, subject: Subject(kind: "request", ref: "R-\(id.rawValue)"), title: "Request \(id.rawValue)", category: nil,
                    priority: .normal, type: .message, importance: .normal, openedBy: opener, participants: [opener], structures: [])),
                actor: opener.rawValue)
        }
        for step in 0..<(messagesPerThread + markersPerThread) {
            for (i, id) in ids.enumerated() {
                let opener = outside[(start + i) % outside.count]
                let messagesSoFar = min(step, messagesPerThread)
                if step < messagesPerThread {
                    let author = step.isMultiple(of: 2) ? opener : UserID("hana")
                    try await add(.messagePosted(MessagePosted(thread: id, number: step + 1, author: author, text: text)), actor: author.rawValue)
                } else {
                    let reader = step.isMultiple(of: 2) ? opener : UserID("hana")
                    try await add(.readMarkerMoved(ReadMarkerMoved(thread: id, user: reader, upTo: messagesSoFar - (step % 5))), actor: reader.rawValue)
                }
            }
        }
    }
    try await flush()
    return total
}

func viewBenchmarks() async throws {
    print("Threadlog read models (rebuild of all views from the log; queries against them)")
    let root = tempDir("views")
    defer { remove(root) }
    let data = try DataDirectory(root + "/data", create: true)
    let log = try LMDBEventStore.open(directory: data.log, options: EventLogOptions(initialMapSize: 4 << 30))
    let built = now()
    let total = try await buildViewLog(log, threads: 20_000, messagesPerThread: 40, markersPerThread: 9)
    print("   log of \(total) events written in \(fmt(now() - built, 1)) s")

    // Baseline: the raw replay of the same log with envelope decoding only.
    var replayed = 0
    let replayStart = now()
    var next: UInt64 = 1
    while true {
        var seen = 0
        try log.forEach(from: next) { event in
            replayed += event.data.count > 0 ? 1 : 0
            next = event.position + 1
            seen += 1
            return seen < 10_000
        }
        if seen == 0 { break }
    }
    let replayRate = Double(replayed) / (now() - replayStart)

    let views = try ViewStore.open(directory: data.views, initialMapSize: 4 << 30)
    let models = ReadModels(log: log, views: views)
    let start = now()
    try models.rebuild(Set(ViewName.allCases))
    let rebuildRate = Double(total) / (now() - start)
    row("6. rebuild all views from \(total / 1000)k events", rebuildRate, replayRate, "ev/s", target: "≥ 200,000 ev/s")
    print("   raw log replay (envelopes only) is the baseline column; views file \(views.fileSize / (1 << 20)) MiB")

    try models.catchUp()
    var latencies: [Double] = []
    var cursor: String?
    for i in 0..<2000 {
        let t0 = now()
        let page = try await models.inbox(InboxQuery(limit: 50, cursor: i % 4 == 0 ? nil : cursor), reader: "hana", minPosition: 0)
        latencies.append(now() - t0)
        cursor = page.nextCursor
    }
    latencies.sort()
    var unreadLatencies: [Double] = []
    for i in 0..<200 {
        let t0 = now()
        _ = try await models.unread(reader: UserID("u\(i % 20)"), minPosition: 0)
        unreadLatencies.append(now() - t0)
    }
    unreadLatencies.sort()
    print("7. inbox page of 50 for a handler who sees 20,000 threads: p50 \(fmt(percentile(latencies, 0.5) * 1e3, 2)) ms, "
        + "p99 \(fmt(percentile(latencies, 0.99) * 1e3, 2)) ms (target p99 ≤ 5 ms); unread summary of an outside user (1,000 threads): "
        + "p50 \(fmt(percentile(unreadLatencies, 0.5) * 1e3, 2)) ms, p99 \(fmt(percentile(unreadLatencies, 0.99) * 1e3, 2)) ms")
    log.close()
}

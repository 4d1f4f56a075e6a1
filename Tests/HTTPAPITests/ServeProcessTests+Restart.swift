import Engine
import EventLog
import Foundation
import HTTPAPI
import Logging
import Messaging
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ServeProcessTests {
    @Test("after a restart the directory folds read only the log's tail: no more events on 5,000 than on 50")
    func restartFoldsOnlyTheTail() async throws {
        let short = try await directoryEventsReadAfterRestart(threads: 1)
        let long = try await directoryEventsReadAfterRestart(threads: 100)
        // Without the views' snapshots every fold (commands, views, outbox) read the whole log once.
        #expect(long <= short + 10, "\(long) events read on the long log, \(short) on the short one")
    }
}

let restartUserToken = "restart-user-token"

/// Writes a log of `threads` threads (50 events each) after a small directory, brings the views and
/// the outbox to its head as a stopped server leaves them, starts `threadlog serve` on it, posts one
/// message and answers how many log events the directory folds read until the views and the outbox
/// reached that post.
func directoryEventsReadAfterRestart(threads: Int) async throws -> Int {
    let directory = try TempDirectory()
    let data = try DataDirectory(directory.sub("data"), create: true)
    do {
        let log = try LMDBEventStore.open(directory: data.log)
        defer { log.close() }
        var events: [Event] = [
            .partyCreated(PartyCreated(id: "acme", name: "Acme", kind: .internal)),
            .partyCreated(PartyCreated(id: "sup", name: "Supplier", kind: .external)),
            .userCreated(
                UserCreated(
                    id: "ann", name: "Ann", email: "ann@acme.test", party: "acme", roles: [.handler],
                    tokenHash: Tokens.hash(restartUserToken))),
            .userCreated(
                UserCreated(
                    id: "bob", name: "Bob", email: "bob@sup.test", party: "sup", roles: [],
                    tokenHash: Tokens.hash("restart-other-token"))),
        ]
        for index in 0..<threads {
            let id = ThreadID("t\(index)")
            events.append(
                .threadOpened(
                    ThreadOpened(
                        thread: id, subject: Subject(kind: "request", ref: "R-\(index)"), title: "Request \(index)",
                        category: nil, priority: .normal, type: .message, importance: .normal, openedBy: "bob",
                        participants: ["bob"], structures: [])))
            for number in 1...49 {
                let author: UserID = number.isMultiple(of: 2) ? "ann" : "bob"
                events.append(.messagePosted(MessagePosted(thread: id, number: number, author: author, text: "m\(number)")))
            }
        }
        for chunk in stride(from: 0, to: events.count, by: 1000) {
            let writes = events[chunk..<min(chunk + 1000, events.count)].map { event in
                let encoded = EventCodec.encode(event)
                return StreamWrite(
                    stream: event.stream, expected: .any,
                    events: [
                        ProposedEvent(
                            type: encoded.type, schemaVersion: encoded.schemaVersion, actor: "@admin", data: encoded.data)
                    ])
            }
            _ = try await log.append(AppendRequest(writes: writes))
        }
        let views = try ViewStore.open(directory: data.views)
        try ReadModels(log: log, views: views).catchUp()
        try NotificationServices.projector(log: log, views: views, environment: [:], logger: Logger(label: "test"))
            .catchUp()
    }

    let server = try ServeProcess.start(data: data.root, environment: ["THREADLOG_ADMIN_TOKEN": "restart-admin"])
    defer {
        server.signal(SIGKILL)
        _ = server.process.waitUntilExitBounded()
    }
    let posted = try await send(
        port: server.port, .post, "/v1/threads/t0/messages", token: restartUserToken, body: #"{"body":"after the start"}"#)
    #expect(posted.status == 201)
    // The views and the outbox have folded their directories once they passed the post.
    let deadline = ContinuousClock.now + .seconds(20)
    while true {
        let metrics = try await send(port: server.port, .get, "/metrics").text
        let lags = metrics.split(separator: "\n").filter { $0.hasPrefix("threadlog_view_lag_events") }
        if !lags.isEmpty, lags.allSatisfy({ $0.hasSuffix(" 0") || $0.hasSuffix(" 0.0") }) {
            let line = try #require(metrics.split(separator: "\n").first { $0.hasPrefix("threadlog_directory_fold_events_read ") })
            return Int(try #require(Double(line.split(separator: " ").last ?? "")))
        }
        guard ContinuousClock.now < deadline else { throw TestFailure("the views did not reach the post: \(lags)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}

extension Process {
    /// Waits at most a few seconds for an exit already signalled.
    func waitUntilExitBounded(seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        return !isRunning
    }
}

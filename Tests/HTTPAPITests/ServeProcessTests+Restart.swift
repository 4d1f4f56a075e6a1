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
    @Test("after a restart the directory folds read only what the log gained since, on 5,000 events as on 50")
    func restartFoldsOnlyTheTail() async throws {
        for threads in [1, 100] {
            // What the start appended itself (the day's digest decisions, the post) is read as it comes.
            let (read, gained) = try await directoryEventsReadAfterRestart(threads: threads)
            // Without the stored directories every fold (commands, views, outbox) read the whole log once.
            #expect(read <= gained + 10, "\(read) events read on a log of \(threads) threads that gained \(gained)")
        }
    }
}

let restartUserToken = "restart-user-token"

/// Writes a log of `threads` threads (50 events each) after a small directory, brings the views and
/// the outbox to its head as a stopped server leaves them, starts `threadlog serve` on it, posts one
/// message and answers how many log events the directory folds read until the views and the outbox
/// reached the log's head, and how many events the log gained after the start.
func directoryEventsReadAfterRestart(threads: Int) async throws -> (read: Int, gained: Int) {
    let directory = try TempDirectory()
    let data = try DataDirectory(directory.sub("data"), create: true)
    var written = 0
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
        written = events.count
        for chunk in stride(from: 0, to: events.count, by: 1000) {
            // A stream appears once per append: its events of the chunk go together.
            var writes: [StreamWrite] = []
            for event in events[chunk..<min(chunk + 1000, events.count)] {
                let encoded = EventCodec.encode(event)
                let proposed = ProposedEvent(
                    type: encoded.type, schemaVersion: encoded.schemaVersion, actor: "@admin", data: encoded.data)
                if let index = writes.firstIndex(where: { $0.stream == event.stream }) {
                    writes[index].events.append(proposed)
                } else {
                    writes.append(StreamWrite(stream: event.stream, expected: .any, events: [proposed]))
                }
            }
            _ = try await log.append(AppendRequest(writes: writes))
        }
        let views = try ViewStore.open(directory: data.views)
        try ReadModels(log: log, views: views).catchUp()
        try NotificationServices.projector(log: log, views: views, configuration: NotificationConfiguration(smtp: nil), logger: Logger(label: "test"))
            .catchUp()
    }

    let server = try ServeProcess.start(data: data.root, environment: ["THREADLOG_ADMIN_TOKEN": "restart-admin"])
    defer {
        server.signal(SIGKILL)
        server.process.wait(seconds: 10)
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
            func gauge(_ name: String) throws -> Int {
                let line = try #require(metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") })
                return Int(try #require(Double(line.split(separator: " ").last ?? "")))
            }
            return (try gauge("threadlog_directory_fold_events_read"), try gauge("threadlog_log_position") - written)
        }
        guard ContinuousClock.now < deadline else { throw TestFailure("the views did not reach the post: \(lags)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}

@testable import Engine
import EventLog
import Foundation
import HTTPAPI
import Logging
import Messaging
import TestSupport
import Testing

/// Every reader that folds threads or the directory from the log answers the same from the same log:
/// the command handler, the log-fold read side, the read models (live and rebuilt), the notification
/// projector, and the directory folds, over a log with a purged thread whose records retention erased
/// and an erased directory record.
@Suite("One fold")
struct FoldAgreementTests {
    @Test("every consumer folds the same threads and directory from the same log, purged records included")
    func sameStateEverywhere() async throws {
        let dir = try TempDirectory()
        let data = try DataDirectory(dir.sub("data"), create: true)
        let log = try LMDBEventStore.open(directory: data.log)
        defer { log.close() }
        let views = try ViewStore.open(directory: data.views)
        let handler = CommandHandler(store: log)
        let models = ReadModels(log: log, views: views, commitInterval: .zero)
        func admin(_ command: Command) async throws -> CommandOutcome { try await handler.handle(command, actor: .admin) }
        func user(_ id: UserID, _ command: Command) async throws -> CommandOutcome {
            try await handler.handle(command, actor: .user(id))
        }

        _ = try await admin(.createParty(id: "acme", name: "Acme", kind: .internal))
        _ = try await admin(.createParty(id: "supplier", name: "Supplier", kind: .external))
        let ghost = try await admin(.createParty(id: "ghost", name: "Ghost Ltd", kind: .external))
        for (id, party, roles) in [("hana", "acme", [Role.handler]), ("sam", "supplier", []), ("sue", "supplier", [])] {
            _ = try await admin(
                .createUser(
                    id: UserID(id), name: id.capitalized, email: "\(id)@example.com", party: PartyID(party), roles: roles,
                    tokenHash: String(repeating: "c", count: 64)))
        }
        _ = try await admin(.createStructure(id: "circle", name: "Circle", party: "supplier", shareHistory: true))
        _ = try await admin(.addStructureMember(structure: "circle", user: "sue"))
        var threads: [ThreadID] = []
        for index in 1...3 {
            let opened = try await user(
                "sam",
                .openThread(
                    OpenThread(
                        subjectKind: "request", subjectRef: "R-\(index)", title: "Request \(index)", structures: ["circle"],
                        body: NewMessage(text: "first \(index)"))))
            let thread = try #require(opened.thread)
            threads.append(thread)
            _ = try await user("hana", .postMessage(thread: thread, message: NewMessage(text: "answer \(index)")))
            _ = try await user("hana", .assignHandler(thread: thread, handler: "hana"))
            _ = try await user("sue", .moveReadMarker(thread: thread, upTo: 2))
        }
        _ = try await user("hana", .changeStatus(thread: threads[0], to: .closed))
        // The second thread is purged; retention erases its records' payloads.
        _ = try await admin(.purgeThread(thread: threads[1], reason: "test"))
        let retention = Retention(log: log, models: models, handler: handler, data: data)
        let report = try await retention.run(asOfMillis: Int64(Date().timeIntervalSince1970 * 1000), dryRun: false)
        #expect(report.purged == [threads[1]])
        // Directory events after the purge, and one erased directory record.
        _ = try await admin(.addStructureMember(structure: "circle", user: "sam"))
        _ = try await admin(.changeSettings(SettingsPatch(allowReopen: false)))
        #expect(try log.erase(positions: [ghost.position]) == 1)
        _ = try await user("hana", .postMessage(thread: threads[2], message: NewMessage(text: "after the purge")))
        let head = try log.lastPosition()

        // The reference: the one fold over each stream, straight from the log.
        var expected: [ThreadID: ThreadState] = [:]
        for thread in threads {
            expected[thread] = try ThreadFold.fold(log.readStream(StreamName.thread(thread), fromVersion: 1, limit: .max))
        }
        #expect(expected.values.count == 3)
        #expect(expected[threads[1]]?.isPurged == true)
        #expect(expected[threads[1]]?.messages.isEmpty == true)
        #expect(expected[threads[2]]?.messages.count == 3)
        let directory = try DirectoryFold.directory(log, upTo: head)
        #expect(directory.parties["ghost"] == nil && directory.parties["acme"] != nil)

        // The command handler: the one that wrote (its caches) and a fresh one.
        let fresh = CommandHandler(store: log)
        // The log-fold read side, the read models (live, and a fresh catch-up beside them).
        let logFold = LogFoldQueries(handler: fresh)
        try models.catchUp()
        let otherViews = try ViewStore.open(directory: dir.sub("other-views"))
        let rebuilt = ReadModels(log: log, views: otherViews, commitInterval: .zero)
        try rebuilt.catchUp()
        let live = Dictionary(uniqueKeysWithValues: try models.allThreadStates().map { ($0.id, $0) })
        let caughtUp = Dictionary(uniqueKeysWithValues: try rebuilt.allThreadStates().map { ($0.id, $0) })
        // The notification projector over its own outbox.
        let projector = NotificationProjector(
            log: log, outbox: try Outbox(views: otherViews), configuration: NotificationConfiguration(smtp: nil, backfill: true),
            logger: Logger(label: "test"))
        try projector.catchUp()

        for thread in threads {
            let state = expected[thread]
            #expect(try handler.threadState(thread) == state, "command handler, \(thread)")
            #expect(try fresh.threadState(thread) == state, "fresh command handler, \(thread)")
            #expect(try logFold.threadState(thread) == state, "log fold, \(thread)")
            #expect(live[thread] == state, "live read models, \(thread)")
            #expect(caughtUp[thread] == state, "caught-up read models, \(thread)")
            // The projector's rule for mail: a purged thread has no content.
            let notified = try projector.thread(thread, asOf: head)
            #expect(notified == (state?.isPurged == true ? nil : state), "notification projector, \(thread)")
        }
        // A decision on a stream the handler has cached starts from the same fold.
        let posted = try await user("sam", .postMessage(thread: threads[2], message: NewMessage(text: "cached")))
        #expect(try fresh.threadState(threads[2])?.messages.count == 4 && posted.events.count == 1)
        await #expect(throws: DomainError.threadPurged(threads[1])) {
            _ = try await logFold.threadView(threads[1], reader: "sam", window: nil, minPosition: 0)
        }
        #expect(try await logFold.inbox(InboxQuery(), reader: "sam", minPosition: 0).items.count == 2)
        #expect(try await rebuilt.inbox(InboxQuery(), reader: "sam", minPosition: 0).items.count == 2)

        #expect(try fresh.currentDirectory() == directory, "the command handler's directory")
        #expect(rebuilt.publishedDirectory == directory, "the read models' directory")
        let outboxDirectory = try otherViews.read { txn in try DirectorySnapshots.stored(Outbox.directoryOwner, txn) }
        #expect(outboxDirectory?.0 == directory && outboxDirectory?.1 == head, "the outbox's directory")
    }
}

@testable import Engine
import EventLog
import Foundation
import Messaging
import Projections
import TestSupport
import Testing

@Suite("Read models")
struct ReadModelTests {
    @Test("the thread view shows fields, numbered messages, contacts and the reader's unread count")
    func threadView() async throws {
        let f = try ViewsFixture()
        try await f.world()
        let open = try await f.user("sam", .openThread(OpenThread(subjectKind: "contract", subjectRef: "C-1", title: "Deliveries", body: NewMessage(text: "Hello"))))
        let thread = try #require(open.thread)
        try await f.user("hana", .postMessage(thread: thread, message: NewMessage(text: "Welcome")))
        let last = try await f.user("sam", .postMessage(thread: thread, message: NewMessage(text: "Thanks")))
        try f.models.catchUp()

        let view = try await f.models.threadView(thread, reader: "hana", minPosition: last.position)
        #expect(view.thread.title == "Deliveries" && view.thread.subject == SubjectDTO(kind: "contract", ref: "C-1"))
        #expect(view.thread.messageCount == 3)
        #expect(view.messages.map(\.number) == [1, 2, 3])
        #expect(view.messages.map(\.body) == ["Hello", "Welcome", "Thanks"])
        #expect(view.messages[0].author.id == "sam")
        #expect(view.unread == 2)  // sam's two messages; her own does not count
        let contacts = Set(view.contacts.map(\.id))
        #expect(contacts.isSuperset(of: ["sam", "hana", "hugo"]))
        #expect(!contacts.contains("otto") && !contacts.contains("helga"))
        #expect(view.contacts.first { $0.id == "sam" }?.internal == false)
        #expect(view.contacts.first { $0.id == "hana" }?.internal == true)

        // An outsider is told the thread does not exist.
        await #expect(throws: DomainError.threadNotFound(thread)) {
            try await f.models.threadView(thread, reader: "otto", minPosition: 0)
        }
    }

    @Test("inbox: the threads a user may see, newest activity first, with filters and stable paging")
    func inbox() async throws {
        let f = try ViewsFixture()
        try await f.world()
        var threads: [ThreadID] = []
        for i in 1...7 {
            let open = try await f.user(
                "sam",
                .openThread(OpenThread(subjectKind: "request", subjectRef: "R-\(i)", title: "Request \(i)", priority: i == 3 ? .urgent : .normal, body: NewMessage(text: "m\(i)"))))
            threads.append(try #require(open.thread))
        }
        let hr = try await f.user("otto", .openThread(OpenThread(subjectKind: "case", subjectRef: "HR-1", title: "Payslip", category: "hr", body: NewMessage(text: "?"))))
        let last = try await f.user("hana", .postMessage(thread: threads[1], message: NewMessage(text: "bump")))
        try f.models.catchUp()

        let all = try await f.models.inbox(InboxQuery(), reader: "hana", minPosition: last.position)
        #expect(all.items.first?.id == threads[1].rawValue)  // the newest activity
        #expect(Set(all.items.map(\.id)) == Set(threads.map(\.rawValue)))  // not the HR case
        #expect(all.nextCursor == nil)
        let samInbox = try await f.models.inbox(InboxQuery(), reader: "sam", minPosition: 0)
        #expect(samInbox.items.count == 7)
        #expect(samInbox.items.first { $0.id == threads[1].rawValue }?.unread == 1)
        let helga = try await f.models.inbox(InboxQuery(), reader: "helga", minPosition: 0)
        #expect(helga.items.map(\.id) == [hr.thread!.rawValue])

        let urgent = try await f.models.inbox(InboxQuery(priority: "urgent"), reader: "hana", minPosition: 0)
        #expect(urgent.items.map(\.id) == [threads[2].rawValue])
        let text = try await f.models.inbox(InboxQuery(text: "request 5"), reader: "hana", minPosition: 0)
        #expect(text.items.map(\.id) == [threads[4].rawValue])
        let subject = try await f.models.inbox(InboxQuery(subject: "request:R-6"), reader: "hana", minPosition: 0)
        #expect(subject.items.map(\.id) == [threads[5].rawValue])
        let party = try await f.models.inbox(InboxQuery(party: "supplier"), reader: "hana", minPosition: 0)
        #expect(party.items.count == 7)
        let unread = try await f.models.inbox(InboxQuery(unreadOnly: true), reader: "sam", minPosition: 0)
        #expect(unread.items.map(\.id) == [threads[1].rawValue])

        // Paging: three pages of three, two and two; new activity in between neither repeats nor shifts.
        let first = try await f.models.inbox(InboxQuery(limit: 3), reader: "hana", minPosition: 0)
        #expect(first.items.count == 3)
        let cursor = try #require(first.nextCursor)
        let bump = try await f.user("sam", .postMessage(thread: threads[0], message: NewMessage(text: "again")))
        try f.models.catchUp()
        let second = try await f.models.inbox(InboxQuery(limit: 3, cursor: cursor), reader: "hana", minPosition: bump.position)
        #expect(Set(first.items.map(\.id)).isDisjoint(with: second.items.map(\.id)))
        #expect(second.items.count == 3)
        await #expect(throws: InvalidQuery.self) {
            try await f.models.inbox(InboxQuery(cursor: "bm90LWEtY3Vyc29y"), reader: "hana", minPosition: 0)
        }
    }

    @Test("unread counts: exact per thread and in total, only others' visible messages after the marker")
    func unreadCounts() async throws {
        let f = try ViewsFixture()
        try await f.world()
        let a = try #require(try await f.user("sam", .openThread(OpenThread(subjectKind: "request", subjectRef: "A", title: "A", body: NewMessage(text: "1")))).thread)
        let b = try #require(try await f.user("sam", .openThread(OpenThread(subjectKind: "request", subjectRef: "B", title: "B"))).thread)
        for i in 1...3 { try await f.user("hana", .postMessage(thread: a, message: NewMessage(text: "a\(i)"))) }
        for i in 1...2 { try await f.user("hana", .postMessage(thread: b, message: NewMessage(text: "b\(i)"))) }
        try f.models.catchUp()
        var sam = try await f.models.unread(reader: "sam", minPosition: 0)
        #expect(sam.total == 5)
        #expect(Dictionary(uniqueKeysWithValues: sam.threads.map { ($0.id, $0.unread) }) == [a.rawValue: 3, b.rawValue: 2])
        let hana = try await f.models.unread(reader: "hana", minPosition: 0)
        #expect(hana.total == 1)  // sam's first message on A

        let read = try await f.user("sam", .moveReadMarker(thread: a, upTo: 3))
        sam = try await waitUntilCaughtUp(f) { try await f.models.unread(reader: "sam", minPosition: read.position) }
        #expect(sam.total == 3)
        #expect(sam.threads.first { $0.id == a.rawValue }?.unread == 1)
    }

    @Test("a structure member who joined late sees the thread, and only the messages after joining")
    func lateJoiner() async throws {
        let f = try ViewsFixture()
        try await f.world()
        let open = try await f.user("sam", .openThread(OpenThread(subjectKind: "request", subjectRef: "S", title: "Shared", structures: ["circle"], body: NewMessage(text: "before"))))
        let thread = try #require(open.thread)
        try f.models.catchUp()
        #expect(try await f.models.inbox(InboxQuery(), reader: "otto", minPosition: 0).items.isEmpty)

        try await f.admin(.addStructureMember(structure: "circle", user: "otto"))
        let after = try await f.user("hana", .postMessage(thread: thread, message: NewMessage(text: "after")))
        try f.models.catchUp()
        let inbox = try await f.models.inbox(InboxQuery(), reader: "otto", minPosition: after.position)
        #expect(inbox.items.map(\.id) == [thread.rawValue])
        #expect(inbox.items.first?.unread == 1)
        let view = try await f.models.threadView(thread, reader: "otto", minPosition: 0)
        #expect(view.messages.map(\.body) == ["after"])
        // sue was a member from before: she sees both.
        #expect(try await f.models.threadView(thread, reader: "sue", minPosition: 0).messages.count == 2)

        try await f.admin(.removeStructureMember(structure: "circle", user: "otto"))
        try f.models.catchUp()
        #expect(try await f.models.inbox(InboxQuery(), reader: "otto", minPosition: 0).items.isEmpty)
        #expect(try await f.models.unread(reader: "otto", minPosition: 0).total == 0)
    }

    @Test("read-your-writes: a query with the command's position waits for the views to reach it")
    func readYourWrites() async throws {
        let f = try ViewsFixture()
        try await f.world()
        let runner = Task { try await f.models.run() }
        defer { runner.cancel() }
        for i in 1...20 {
            let open = try await f.user("sam", .openThread(OpenThread(subjectKind: "request", subjectRef: "W\(i)", title: "W\(i)", body: NewMessage(text: "x"))))
            let view = try await f.models.threadView(try #require(open.thread), reader: "sam", minPosition: open.position)
            #expect(view.messages.count == 1)
        }
        await #expect(throws: ViewsLagging.self) {
            try await f.models.wait(for: 1_000_000, timeout: .milliseconds(50))
        }
    }

    @Test("while the log is busy the runner starts a catch-up at most once per interval; a read for a position ends the wait; stopping applies the rest")
    func pacing() async throws {
        let f = try ViewsFixture(commitInterval: .seconds(60))
        try await f.world()
        let runner = Task { try await f.models.run() }
        defer { runner.cancel() }
        // Posts until one finds the runner done with its catch-up: it then pauses for the interval. (A
        // post that comes while a catch-up still runs is applied by it.)
        func postUntilPausing(_ thread: ThreadID) async throws {
            for round in 1...100 where !f.models.pacer.isPausing {
                try await f.user("sam", .postMessage(thread: thread, message: NewMessage(text: "filler \(round)")))
                for _ in 0..<40 where !f.models.pacer.isPausing { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(f.models.pacer.isPausing)
        }
        let open = try await f.user("sam", .openThread(OpenThread(subjectKind: "request", subjectRef: "P", title: "Paced", body: NewMessage(text: "x"))))
        let thread = try #require(open.thread)
        try await postUntilPausing(thread)
        // An append during the pause waits for it while nobody asks for its position...
        let reply = try await f.user("hana", .postMessage(thread: thread, message: NewMessage(text: "y")))
        // Still pausing after the append, so the views cannot have moved: they stop short of it.
        #expect(f.models.pacer.isPausing)
        #expect(f.models.position < reply.position)
        // ...and a read that needs it wakes the runner (it would otherwise time out after 5 s).
        let view = try await f.models.threadView(thread, reader: "sam", minPosition: reply.position)
        #expect(view.messages.first?.body == "x" && view.messages.last?.body == "y")

        // Stopping applies what the pacing held back: the views stop at the log's head.
        try await postUntilPausing(thread)
        let late = try await f.user("sam", .postMessage(thread: thread, message: NewMessage(text: "z")))
        #expect(f.models.position < late.position)
        runner.cancel()
        _ = await runner.result
        #expect(f.models.position == late.position)
        #expect(try f.models.status().allSatisfy { $0.lag == 0 })
    }

    @Test("views whose map fills up grow it and run the batch again: the same rows as views that never filled")
    func mapGrowth() async throws {
        let f = try ViewsFixture(batchSize: 50, viewsMapSize: 64 << 10)
        try await f.world()
        for index in 1...12 {
            let thread = try #require(
                try await f.user(
                    "sam",
                    .openThread(
                        OpenThread(
                            subjectKind: "request", subjectRef: "G-\(index)", title: "Growth \(index)",
                            body: NewMessage(text: String(repeating: "text \(index) ", count: 300))))
                ).thread)
            for reply in 1...4 {
                try await f.user("hana", .postMessage(thread: thread, message: NewMessage(text: String(repeating: "reply \(reply) ", count: 200))))
            }
            try f.models.catchUp()
        }
        let before = f.views.fileSize
        let roomy = try ViewStore.open(directory: f.dir.sub("roomy"))
        try ReadModels(log: f.log, views: roomy).catchUp()
        #expect(try f.dump() == ViewsFixture.dump(roomy))
        #expect(try f.dump()["threads"]?.count == 12)
        // A rebuild into the grown store gives the same rows again.
        try f.models.rebuild(Set(ViewName.allCases))
        #expect(try f.dump() == ViewsFixture.dump(roomy))
        #expect(before > 64 << 10)
    }

    @Test("rebuild swaps a shadow copy in; status shows checkpoints and lag; stale versions are found")
    func rebuildAndStatus() async throws {
        let f = try ViewsFixture()
        try await f.world()
        for i in 1...5 {
            let t = try #require(try await f.user("sam", .openThread(OpenThread(subjectKind: "request", subjectRef: "Q\(i)", title: "Q\(i)"))).thread)
            try await f.user("hana", .postMessage(thread: t, message: NewMessage(text: "answer \(i)")))
        }
        try f.models.catchUp()
        let live = try f.dump()
        let head = try f.log.lastPosition()
        #expect(try f.models.status().allSatisfy { $0.checkpoint == head && $0.lag == 0 && $0.generation == 1 })

        try f.models.rebuild(Set(ViewName.allCases))
        #expect(try f.dump() == live)
        #expect(try f.models.status().allSatisfy { $0.generation == 2 && $0.checkpoint == head })

        try f.models.rebuild([.inbox])
        #expect(try f.dump() == live)
        let status = try f.models.status()
        #expect(status.first { $0.name == .inbox }?.generation == 3)
        #expect(status.first { $0.name == .threads }?.generation == 2)

        // New events after a rebuild: the runner follows on from the swapped-in copy.
        let t = try #require(try await f.user("sue", .openThread(OpenThread(subjectKind: "request", subjectRef: "late", title: "Late"))).thread)
        try f.models.catchUp()
        #expect(try await f.models.inbox(InboxQuery(), reader: "hana", minPosition: 0).items.first?.id == t.rawValue)
        #expect(try f.models.status().allSatisfy { $0.lag == 0 })
        #expect(try f.models.staleViews().isEmpty)
    }

    @Test("a view stored by an older version is rebuilt when the runner starts")
    func versionBumpRebuilds() async throws {
        let f = try ViewsFixture()
        try await f.world()
        let t = try #require(try await f.user("sam", .openThread(OpenThread(subjectKind: "request", subjectRef: "V", title: "V", body: NewMessage(text: "x")))).thread)
        try f.models.catchUp()
        let expected = try f.dump()
        // Pretend an older build wrote the inbox: version 0, in tables of its own.
        let head = try f.log.lastPosition()
        try await f.views.queuedWrite { txn in
            let old = ViewPointer(version: 0, generation: 1, checkpoint: head)
            try txn.put("views", Array("inbox".utf8), try JSONEncoder().encode(old).map { $0 })
        }
        #expect(try f.models.staleViews() == [.inbox])
        let runner = Task { try await f.models.run() }
        defer { runner.cancel() }
        let started = ContinuousClock.now
        while try f.models.status().contains(where: { $0.version != $0.codeVersion }), ContinuousClock.now - started < .seconds(20) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let inbox = try #require(try f.models.status().first { $0.name == .inbox })
        #expect(inbox.version == ViewName.inbox.version && inbox.generation == 2)
        #expect(try f.dump() == expected)
        #expect(try await f.models.inbox(InboxQuery(), reader: "sam", minPosition: 0).items.map(\.id) == [t.rawValue])
    }

    func waitUntilCaughtUp<R>(_ f: ViewsFixture, _ body: () async throws -> R) async throws -> R {
        try f.models.catchUp()
        return try await body()
    }
}

import Engine
import EventLog
import Foundation
import Messaging
import Testing

@Suite("Command handler")
struct CommandHandlerTests {
    /// An operator with a handler and two outside users.
    func world() async throws -> EngineFixture {
        let f = try EngineFixture()
        try await f.party("acme", .internal)
        try await f.party("supplier", .external)
        try await f.member("hana", party: "acme", roles: [.handler])
        try await f.member("sam", party: "supplier")
        try await f.member("sue", party: "supplier")
        for ref in ["C-2024-0042", "C-9"] {
            try await f.admin(.declareSubject(Subject(kind: "contract", ref: ref), parties: ["supplier"], structures: []))
        }
        return f
    }

    @Test("two concurrent opens of one contract create one thread")
    func contractRace() async throws {
        let f = try await world()
        let outcomes = try await withThrowingTaskGroup(of: CommandOutcome.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await f.user("sam", .openThread(OpenThread(subjectKind: "contract", subjectRef: "C-2024-0042", title: "Contract chat")))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let threads = Set(outcomes.compactMap(\.thread))
        #expect(threads.count == 1)
        #expect(outcomes.filter { $0.existingThread == nil }.count == 1)
        let opened = try f.store.read(from: 1, limit: 1000).filter { $0.type == "thread.opened" }
        #expect(opened.count == 1)
    }

    @Test("concurrent ticket opens are numbered TT1… without gaps or duplicates")
    func ticketNumbers() async throws {
        let f = try await world()
        let outcomes = try await withThrowingTaskGroup(of: CommandOutcome.self) { group in
            for i in 0..<12 {
                group.addTask { try await f.user(i.isMultiple(of: 2) ? "sam" : "sue", .openThread(OpenThread(subjectKind: "ticket", title: "Ticket \(i)"))) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        var refs: [String] = []
        for outcome in outcomes {
            let state = try f.state(try #require(outcome.thread))
            refs.append(state.subject.ref)
        }
        #expect(Set(refs) == Set((1...12).map { "TT\($0)" }))
    }

    @Test("a repeated command id returns the first outcome and appends nothing")
    func idempotentCommands() async throws {
        let f = try await world()
        let open = try await f.user("sam", .openThread(OpenThread(subjectKind: "request", subjectRef: "D-1187", title: "Help")))
        let thread = try #require(open.thread)
        let first = try await f.user("sam", .postMessage(thread: thread, message: NewMessage(text: "hello")), commandID: "post-1")
        let head = try f.store.lastPosition()
        let again = try await f.user("sam", .postMessage(thread: thread, message: NewMessage(text: "hello")), commandID: "post-1")
        #expect(again.deduplicated)
        #expect(again.position == first.position)
        #expect(try f.store.lastPosition() == head)
        #expect(try f.state(thread).messageCount == 1)
    }

    @Test("a refused command appends nothing and says why with a stable code")
    func refusals() async throws {
        let f = try await world()
        let open = try await f.user("sam", .openThread(OpenThread(subjectKind: "request", subjectRef: "D-1", title: "Help")))
        let thread = try #require(open.thread)
        let head = try f.store.lastPosition()
        await #expect(throws: DomainError.self) {
            try await f.user("sam", .postMessage(thread: thread, message: NewMessage(text: "")))
        }
        // sue is of the same company but not on the thread: she is told it does not exist.
        do {
            try await f.user("sue", .postMessage(thread: thread, message: NewMessage(text: "hi")))
            Issue.record("sue could post")
        } catch let error as DomainError {
            #expect(error.code == "thread_not_found")
        }
        do {
            try await f.user("sam", .changeStatus(thread: thread, to: .waiting))
            Issue.record("an outside user changed the status")
        } catch let error as DomainError {
            #expect(error.code != "thread_not_found")
        }
        #expect(try f.store.lastPosition() == head)
    }

    @Test("folding the stored events reproduces the state the engine decided on")
    func foldMatches() async throws {
        let f = try await world()
        let open = try await f.user("sam", .openThread(OpenThread(subjectKind: "request", subjectRef: "D-2", title: "Help", body: NewMessage(text: "first"))))
        let thread = try #require(open.thread)
        try await f.user("hana", .assignHandler(thread: thread, handler: UserID("hana")))
        try await f.user("hana", .postMessage(thread: thread, message: NewMessage(text: "looking")))
        try await f.user("hana", .changeStatus(thread: thread, to: .waiting))
        try await f.user("sam", .postMessage(thread: thread, message: NewMessage(text: "answer")))
        let state = try f.state(thread)
        #expect(state.messageCount == 3)
        #expect(state.status == .open)
        #expect(state.handler == UserID("hana"))
        let records = try f.store.readStream("thread-\(thread.rawValue)", fromVersion: 1, limit: .max).map { try $0.decoded() }
        #expect(ThreadState.fold(records) == state)
        #expect(records.map(\.actor).contains("hana"))
    }

    @Test("an outcome's events are the recorded ones: positions, versions, times, actors and payloads")
    func outcomesAreWhatWasRecorded() async throws {
        let f = try await world()
        var outcomes: [CommandOutcome] = []
        // A ticket open writes three streams (counter, thread, subject claim) with its first message.
        outcomes.append(try await f.user("sam", .openThread(OpenThread(subjectKind: "ticket", title: "Broken", body: NewMessage(text: "it broke")))))
        let thread = try #require(outcomes[0].thread)
        outcomes.append(try await f.user("sam", .postMessage(thread: thread, message: NewMessage(text: "more"))))
        outcomes.append(try await f.user("hana", .moveReadMarker(thread: thread, upTo: 2)))
        outcomes.append(try await f.user("sam", .openThread(OpenThread(subjectKind: "contract", subjectRef: "C-9", title: "Chat"))))
        #expect(outcomes[0].events.count >= 3)
        for outcome in outcomes {
            let count = outcome.events.count
            let stored = try f.store.read(from: outcome.position - UInt64(count) + 1, limit: count).map { try $0.decoded() }
            #expect(outcome.events == stored)
        }
        // Each command's events share one correlation id, and no two commands share theirs.
        var seen: Set<String> = []
        for outcome in outcomes {
            let count = outcome.events.count
            let raw = try f.store.read(from: outcome.position - UInt64(count) + 1, limit: count)
            #expect(Set(raw.map(\.correlationID)).count == 1)
            #expect(!raw[0].correlationID.isEmpty)
            #expect(seen.insert(raw[0].correlationID).inserted)
        }
    }
}

@Suite("Message templates")
struct MessageTemplateTests {
    @Test("templates live in the settings, replace each other as a set, and are validated")
    func templates() async throws {
        let f = try EngineFixture()
        try await f.admin(.changeSettings(SettingsPatch(messageTemplates: ["received": "We received your message.", "closing": "Closing this now."])))
        #expect(try f.engine.currentDirectory().settings.messageTemplates == ["received": "We received your message.", "closing": "Closing this now."])
        try await f.admin(.changeSettings(SettingsPatch(messageTemplates: ["received": "Thanks!"])))
        #expect(try f.engine.currentDirectory().settings.messageTemplates == ["received": "Thanks!"])
        // Another change leaves the templates alone.
        try await f.admin(.changeSettings(SettingsPatch(allowReopen: false)))
        #expect(try f.engine.currentDirectory().settings.messageTemplates == ["received": "Thanks!"])

        let head = try f.store.lastPosition()
        for bad in [["": "text"], ["name": "  "]] {
            do {
                try await f.admin(.changeSettings(SettingsPatch(messageTemplates: bad)))
                Issue.record("accepted \(bad)")
            } catch let error as DomainError {
                #expect(error.code == "invalid_setting")
            }
        }
        #expect(try f.store.lastPosition() == head)
        let stored = try f.store.read(from: 1, limit: 1).first
        #expect(stored?.type == "settings.changed" && stored?.schemaVersion == 3)
    }
}

import Engine
import EventLog
import Foundation
import Messaging
import Testing

/// End-to-end walks through the five products behind the domain rules, each driven through the
/// command handler on a real LMDB log and checked against the folded thread state, the refusal codes
/// and what the access functions answer for given users over the current directory.
@Suite("Scenarios")
struct Scenarios {
    // MARK: - Helpers

    /// The refusal code of a command that must be refused; `nil` when it was accepted.
    func refusal(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as DomainError {
            return error.code
        } catch {
            return "unexpected error: \(error)"
        }
    }

    /// The thread a command opened, or the thread it found for a one-thread-per-subject subject.
    func opened(_ outcome: CommandOutcome) throws -> ThreadID {
        try #require(outcome.thread)
    }

    /// The status changes a command appended.
    func statusChanges(_ outcome: CommandOutcome) -> [ThreadStatusChanged] {
        outcome.events.compactMap {
            if case .threadStatusChanged(let change) = $0.event { change } else { nil }
        }
    }

    /// The thread's stream as stored, decoded.
    func storedEvents(_ f: EngineFixture, _ thread: ThreadID) throws -> [Recorded<Event>] {
        try f.store.readStream(StreamName.thread(thread), fromVersion: 1, limit: .max).map { try $0.decoded() }
    }

    func text(_ text: String, kind: MessageKind = .message) -> NewMessage {
        NewMessage(text: text, kind: kind)
    }

    // MARK: - 1. Supplier chat on a contract

    @Test("supplier chat: one thread per contract, numbered messages, read markers, contacts")
    func supplierChatOnContract() async throws {
        let f = try EngineFixture()
        try await f.party("acme", .internal)
        try await f.party("supplier", .external)
        try await f.member("hana", party: "acme", roles: [.handler])
        try await f.member("ivan", party: "acme")
        try await f.member("sam", party: "supplier", roles: ["supplier"])
        try await f.member("sue", party: "supplier", roles: ["supplier"])
        try await f.party("other", .external)
        try await f.member("olga", party: "other", roles: ["supplier"])
        // The contracts belong to the supplier: every user of it reads and writes their chats.
        for ref in ["C-2024-0042", "C-2024-0043"] {
            try await f.admin(.declareSubject(Subject(kind: "contract", ref: ref), parties: ["supplier"], structures: []))
        }

        // The supplier opens the chat of its contract with a first message.
        let open = try await f.user(
            "sam",
            .openThread(
                OpenThread(
                    subjectKind: "contract", subjectRef: "C-2024-0042", title: "Contract C-2024-0042",
                    body: text("Invoice 17 is still unpaid"))))
        let thread = try opened(open)
        #expect(open.existingThread == nil)
        var state = try f.state(thread)
        #expect(state.subject == Subject(kind: "contract", ref: "C-2024-0042"))
        #expect(state.number == nil)
        #expect(state.participants == ["sam"])
        #expect(state.status == .new)
        #expect(state.messageCount == 1)

        // A second open of the same contract, by the internal handler (ref padded with blanks), finds
        // the same thread; without a body nothing is appended.
        let head = try f.store.lastPosition()
        let again = try await f.user(
            "hana",
            .openThread(
                OpenThread(subjectKind: "contract", subjectRef: " C-2024-0042 ", title: "Another chat")))
        #expect(again.existingThread == thread)
        #expect(again.thread == thread)
        #expect(again.events.isEmpty)
        #expect(try f.store.lastPosition() == head)
        #expect(try f.state(thread).messageCount == 1)
        #expect(try f.state(thread).title == "Contract C-2024-0042")

        // Another contract gets a thread of its own.
        let other = try await f.user(
            "sam", .openThread(OpenThread(subjectKind: "contract", subjectRef: "C-2024-0043", title: "Other contract")))
        #expect(try opened(other) != thread)

        // Messages are numbered within the thread, with their authors.
        try await f.user("hana", .postMessage(thread: thread, message: text("Checking with accounting")))
        try await f.user("hana", .postMessage(thread: thread, message: text("Paid today")))
        let fourth = try await f.user("sam", .postMessage(thread: thread, message: text("Received, thanks")))
        guard case .messagePosted(let posted) = try #require(fourth.events.first).event else {
            Issue.record("posting appended \(fourth.events)")
            return
        }
        #expect(posted.number == 4)
        state = try f.state(thread)
        #expect(state.messageCount == 4)
        #expect(state.messages.map(\.number) == [1, 2, 3, 4])
        #expect(state.messages.map(\.author) == ["sam", "hana", "hana", "sam"])
        #expect(state.messages.map { $0.id(in: thread) } == (1...4).map { "\(thread.rawValue)/\($0)" })

        // Unread: messages after the marker written by others.
        var directory = try f.engine.currentDirectory()
        #expect(Access.unreadCount(of: state, for: "sam", in: directory) == 2)
        #expect(Access.unreadCount(of: state, for: "hana", in: directory) == 2)

        try await f.user("sam", .moveReadMarker(thread: thread, upTo: 3))
        try await f.user("hana", .moveReadMarker(thread: thread, upTo: 4))
        state = try f.state(thread)
        #expect(state.readMarker(of: "sam") == 3)
        #expect(state.readMarker(of: "hana") == 4)
        #expect(Access.unreadCount(of: state, for: "sam", in: directory) == 0)
        #expect(Access.unreadCount(of: state, for: "hana", in: directory) == 0)

        // A stale marker does not move back; a marker past the last message is refused.
        let back = try await f.user("sam", .moveReadMarker(thread: thread, upTo: 1))
        #expect(back.events.isEmpty)
        #expect(try f.state(thread).readMarker(of: "sam") == 3)
        #expect(await refusal { try await f.user("sam", .moveReadMarker(thread: thread, upTo: 9)) } == "read_marker_out_of_range")

        // A new answer from the handler is unread for the supplier only.
        try await f.user("hana", .postMessage(thread: thread, message: text("Anything else?")))
        state = try f.state(thread)
        #expect(Access.unreadCount(of: state, for: "sam", in: directory) == 1)
        #expect(Access.unreadCount(of: state, for: "hana", in: directory) == 0)

        // Contacts: the handler (by role) and the supplier's users (the contract belongs to their party),
        // with their parties; not the internal user without a handler role, not another party's user.
        directory = try f.engine.currentDirectory()
        let contacts = Access.contacts(of: state, in: directory)
        #expect(
            contacts == [
                Contact(user: "hana", name: "Hana", party: "acme", partyName: "Acme", isInternal: true),
                Contact(user: "sam", name: "Sam", party: "supplier", partyName: "Supplier", isInternal: false),
                Contact(user: "sue", name: "Sue", party: "supplier", partyName: "Supplier", isInternal: false),
            ])
        #expect(await refusal { try await f.user("olga", .postMessage(thread: thread, message: text("hi"))) } == "thread_not_found")
        #expect(await refusal { try await f.user("ivan", .postMessage(thread: thread, message: text("hi"))) } == "thread_not_found")

        // Sam's colleague, not named on the thread, opens the contract's chat and finds it.
        let bySue = try await f.user(
            "sue", .openThread(OpenThread(subjectKind: "contract", subjectRef: "C-2024-0042", title: "Chat")))
        #expect(bySue.existingThread == thread)

        // Opening the chat reveals nothing to another party's user: the answer is the one for a
        // contract without a chat, and for one not declared at all.
        let beforeOlga = try f.store.lastPosition()
        var answers: [String?] = []
        for ref in ["C-2024-0042", "C-2024-0044"] {
            answers.append(
                await refusal {
                    try await f.user(
                        "olga", .openThread(OpenThread(subjectKind: "contract", subjectRef: ref, title: "Chat", body: text("hello?"))))
                })
        }
        try await f.admin(.declareSubject(Subject(kind: "contract", ref: "C-2024-0044"), parties: ["supplier"], structures: []))
        answers.append(
            await refusal {
                try await f.user(
                    "olga", .openThread(OpenThread(subjectKind: "contract", subjectRef: "C-2024-0044", title: "Chat")))
            })
        #expect(answers == ["subject_not_found", "subject_not_found", "subject_not_found"])
        #expect(try f.store.lastPosition() == beforeOlga + 1)

        // An open with a body on a contract that has its chat posts the body there: nothing is lost.
        let reopened = try await f.user(
            "sam", .openThread(OpenThread(subjectKind: "contract", subjectRef: "C-2024-0042", title: "Chat", body: text("One more thing"))))
        #expect(reopened.existingThread == thread)
        #expect(try f.state(thread).messages.last?.text == "One more thing")
        #expect(try f.state(thread).messages.last?.author == "sam")
    }

    // MARK: - 2. Support request: author display policy and blocking

    @Test("support request: outside readers see the display policy, the log keeps the author, blocking stops outside posts")
    func supportRequestDisplayAndBlocking() async throws {
        let f = try EngineFixture()
        try await f.party("vendor", .internal)
        try await f.party("clientco", .external)
        try await f.party("partner", .external)
        try await f.member("hana", party: "vendor", roles: [.handler])
        try await f.member("ivan", party: "vendor", roles: ["supervisor"])
        try await f.member("carl", party: "clientco", roles: ["client"])
        try await f.member("pia", party: "partner", roles: ["client"])
        try await f.admin(.createStructure(id: "support", name: "Support team", party: "vendor", shareHistory: false))
        try await f.admin(.addStructureMember(structure: "support", user: "hana"))

        // Outside readers see a custom mention by default; the client company sees the workgroup.
        try await f.admin(
            .changeSettings(
                SettingsPatch(
                    displayPolicy: DisplayPolicy(mode: .custom, text: "Customer service"),
                    partyDisplayPolicies: ["clientco": DisplayPolicy(mode: .workgroup)])))
        #expect(
            await refusal { try await f.admin(.changeSettings(SettingsPatch(displayPolicy: DisplayPolicy(mode: .custom)))) }
                == "invalid_setting")

        let open = try await f.user(
            "carl",
            .openThread(
                OpenThread(
                    subjectKind: "request", subjectRef: "D-1187", title: "Login fails", participants: ["pia"],
                    body: text("I cannot log in since Monday"))))
        let thread = try opened(open)
        let answer = try await f.user("hana", .postMessage(thread: thread, message: text("Please reset your password")))

        var state = try f.state(thread)
        var directory = try f.engine.currentDirectory()
        #expect(state.messages.map(\.author) == ["carl", "hana"])
        let hanasMessage = try #require(state.messages.last)

        // The client reads the workgroup, the partner the custom text, internal readers the author.
        #expect(
            Access.authorDisplay(author: hanasMessage.author, reader: "carl", thread: state, in: directory)
                == AuthorDisplay(id: nil, name: "Support team"))
        #expect(
            Access.authorDisplay(author: hanasMessage.author, reader: "pia", thread: state, in: directory)
                == AuthorDisplay(id: nil, name: "Customer service"))
        #expect(
            Access.authorDisplay(author: hanasMessage.author, reader: "ivan", thread: state, in: directory)
                == AuthorDisplay(id: "hana", name: "Hana"))
        #expect(
            Access.authorDisplay(author: hanasMessage.author, reader: "hana", thread: state, in: directory)
                == AuthorDisplay(id: "hana", name: "Hana"))
        // Outside authors are shown as they are, to everyone.
        #expect(
            Access.authorDisplay(author: "carl", reader: "pia", thread: state, in: directory)
                == AuthorDisplay(id: "carl", name: "Carl"))
        #expect(
            Access.authorDisplay(author: "carl", reader: "hana", thread: state, in: directory)
                == AuthorDisplay(id: "carl", name: "Carl"))

        // The log keeps the real author, whatever the policy shows.
        let stored = try storedEvents(f, thread)
        // The answer was the handler's first action: the message, then the move to `open`.
        #expect(answer.events.map(\.event.type) == [.messagePosted, .threadStatusChanged])
        let storedAnswer = try #require(stored.first { $0.position == answer.events.first?.position })
        #expect(storedAnswer.actor == "hana")
        guard case .messagePosted(let posted) = storedAnswer.event else {
            Issue.record("stored \(storedAnswer.event) at the answer's position")
            return
        }
        #expect(posted.author == "hana")
        #expect(posted.text == "Please reset your password")

        // Switching the client's policy takes effect on the next directory read.
        try await f.admin(
            .changeSettings(
                SettingsPatch(partyDisplayPolicies: ["clientco": DisplayPolicy(mode: .none), "partner": DisplayPolicy(mode: .fullName)])))
        directory = try f.engine.currentDirectory()
        #expect(
            Access.authorDisplay(author: "hana", reader: "carl", thread: state, in: directory) == AuthorDisplay(id: nil, name: nil))
        #expect(
            Access.authorDisplay(author: "hana", reader: "pia", thread: state, in: directory)
                == AuthorDisplay(id: "hana", name: "Hana"))

        // Only handlers block; the client is told so.
        #expect(await refusal { try await f.user("carl", .blockThread(thread)) } == "not_allowed")
        try await f.user("hana", .blockThread(thread))
        state = try f.state(thread)
        #expect(state.blocked)
        #expect(try await f.user("hana", .blockThread(thread)).events.isEmpty)
        #expect(!Access.canWrite("carl", state, directory))
        #expect(Access.canRead("carl", state, directory))
        #expect(Access.canWrite("hana", state, directory))

        // Outside users may not post while blocked; internal users still may.
        #expect(await refusal { try await f.user("carl", .postMessage(thread: thread, message: text("Hello?"))) } == "thread_blocked")
        #expect(await refusal { try await f.user("pia", .postMessage(thread: thread, message: text("Hello?"))) } == "thread_blocked")
        try await f.user("hana", .postMessage(thread: thread, message: text("We are on it")))
        #expect(try f.state(thread).messageCount == 3)

        try await f.user("hana", .unblockThread(thread))
        state = try f.state(thread)
        #expect(!state.blocked)
        #expect(Access.canWrite("carl", state, directory))
        try await f.user("carl", .postMessage(thread: thread, message: text("Works now")))
        state = try f.state(thread)
        #expect(state.messageCount == 4)
        #expect(state.messages.last?.author == "carl")
    }

    // MARK: - 3. Customer ticket resolved by the customer

    @Test("customer ticket: TT numbers, waiting and answered, resolved by the customer, reopening by message")
    func customerTicket() async throws {
        let f = try EngineFixture()
        try await f.party("callcentre", .internal)
        try await f.party("customer", .external)
        try await f.member("hana", party: "callcentre", roles: [.handler])
        try await f.member("cleo", party: "customer", roles: ["client"])

        let first = try opened(
            try await f.user(
                "cleo", .openThread(OpenThread(subjectKind: "ticket", title: "No dial tone", body: text("Line dead since 8:00")))))
        let second = try opened(
            try await f.user("cleo", .openThread(OpenThread(subjectKind: "ticket", subjectRef: "mine", title: "Wrong bill"))))
        #expect(try f.state(first).subject == Subject(kind: "ticket", ref: "TT1"))
        #expect(try f.state(first).number == "TT1")
        #expect(try f.state(second).number == "TT2")
        #expect(try f.state(first).status == .new)

        // A ticket without a category reaches the default handlers.
        var directory = try f.engine.currentDirectory()
        #expect(Access.isHandler("hana", of: try f.state(first), in: directory))

        // The handler asks a question and waits for the customer.
        try await f.user("hana", .assignHandler(thread: first, handler: "hana"))
        try await f.user("hana", .changeStatus(thread: first, to: .open))
        try await f.user("hana", .postMessage(thread: first, message: text("Is the modem on?")))
        try await f.user("hana", .changeStatus(thread: first, to: .waiting))
        #expect(try f.state(first).status == .waiting)
        #expect(try f.state(first).handler == "hana")

        // The customer's answer moves it back to open.
        let answered = try await f.user("cleo", .postMessage(thread: first, message: text("Yes, it is")))
        #expect(
            statusChanges(answered) == [ThreadStatusChanged(thread: first, from: .waiting, to: .open, reason: .answeredByOutsideParty)])
        #expect(try f.state(first).status == .open)

        // An internal post does not change the status.
        try await f.user("hana", .changeStatus(thread: first, to: .waiting))
        let internalPost = try await f.user("hana", .postMessage(thread: first, message: text("Reminder")))
        #expect(statusChanges(internalPost).isEmpty)
        #expect(try f.state(first).status == .waiting)

        // The customer may not set statuses other than resolved.
        for target in [ThreadStatus.open, .waiting, .closed] {
            #expect(await refusal { try await f.user("cleo", .changeStatus(thread: first, to: target)) } == "not_allowed")
        }
        #expect(try f.state(first).status == .waiting)

        // "OK, resolved".
        try await f.user("cleo", .changeStatus(thread: first, to: .resolved))
        #expect(try f.state(first).status == .resolved)
        #expect(await refusal { try await f.user("cleo", .changeStatus(thread: first, to: .open)) } == "not_allowed")

        // Settings allow reopening by a new message (the default).
        #expect(try f.engine.currentDirectory().settings.allowReopen)
        let reopened = try await f.user("cleo", .postMessage(thread: first, message: text("It is dead again")))
        #expect(
            statusChanges(reopened) == [ThreadStatusChanged(thread: first, from: .resolved, to: .open, reason: .reopenedByMessage)])
        #expect(try f.state(first).status == .open)

        // With reopening switched off, a customer message on a resolved ticket is refused; internal
        // users may still post and the ticket stays resolved.
        try await f.user("cleo", .changeStatus(thread: first, to: .resolved))
        try await f.admin(.changeSettings(SettingsPatch(allowReopen: false)))
        directory = try f.engine.currentDirectory()
        #expect(!directory.settings.allowReopen)
        let count = try f.state(first).messageCount
        #expect(await refusal { try await f.user("cleo", .postMessage(thread: first, message: text("Again!"))) } == "thread_resolved")
        #expect(try f.state(first).messageCount == count)
        try await f.user("hana", .postMessage(thread: first, message: text("Closing note")))
        #expect(try f.state(first).status == .resolved)
        #expect(try f.state(first).messageCount == count + 1)

        // Closed: nobody posts; the handler reopens.
        try await f.user("hana", .changeStatus(thread: first, to: .closed))
        #expect(await refusal { try await f.user("cleo", .postMessage(thread: first, message: text("?"))) } == "thread_closed")
        #expect(await refusal { try await f.user("hana", .postMessage(thread: first, message: text("?"))) } == "thread_closed")
        #expect(await refusal { try await f.user("cleo", .changeStatus(thread: first, to: .resolved)) } == "invalid_status_transition")
        try await f.user("hana", .changeStatus(thread: first, to: .open))
        #expect(try f.state(first).status == .open)

        // The second ticket was untouched throughout.
        let other = try f.state(second)
        #expect(other.status == .new)
        #expect(other.messageCount == 0)
    }

    // MARK: - 4. Subcontractor joining a structure late

    @Test("subcontractor joining late: sees the structure's messages from joining on, or all with shared history")
    func subcontractorJoiningLate() async throws {
        let f = try EngineFixture()
        try await f.party("utility", .internal)
        try await f.party("buildco", .external)
        try await f.party("subco", .external)
        try await f.member("hana", party: "utility", roles: [.handler])
        try await f.member("bob", party: "buildco", roles: ["client"])
        try await f.member("sid", party: "subco", roles: ["subcontractor"])
        try await f.member("zoe", party: "subco", roles: ["subcontractor"])
        try await f.admin(.createStructure(id: "buildco-circle", name: "Buildco circle", party: "buildco", shareHistory: false))
        try await f.admin(.createStructure(id: "buildco-site", name: "Buildco site", party: "buildco", shareHistory: true))
        try await f.admin(.addStructureMember(structure: "buildco-circle", user: "bob"))
        try await f.admin(.addStructureMember(structure: "buildco-site", user: "bob"))

        // Two threads of the company: one shared through the circle, one through the site team that
        // shares its history.
        let circle = try opened(
            try await f.user(
                "bob",
                .openThread(
                    OpenThread(
                        subjectKind: "worksite", subjectRef: "W-12", title: "Meter replacement", priority: .urgent,
                        type: .task, structures: ["buildco-circle"], body: text("Before joining 1")))))
        let site = try opened(
            try await f.user(
                "bob",
                .openThread(
                    OpenThread(
                        subjectKind: "worksite", subjectRef: "W-12", title: "Site log", structures: ["buildco-site"],
                        body: text("Site before 1")))))
        #expect(circle != site)
        try await f.user("hana", .postMessage(thread: circle, message: text("Before joining 2")))
        try await f.user("hana", .postMessage(thread: site, message: text("Site before 2")))

        // Not yet in a structure: the threads do not exist for the subcontractor.
        var directory = try f.engine.currentDirectory()
        #expect(Access.visibility(of: try f.state(circle), for: "sid", in: directory) == .hidden)
        #expect(await refusal { try await f.user("sid", .postMessage(thread: circle, message: text("hi"))) } == "thread_not_found")

        // The subcontractor joins both structures.
        let joinedCircle = try await f.admin(.addStructureMember(structure: "buildco-circle", user: "sid"))
        try await f.admin(.addStructureMember(structure: "buildco-site", user: "sid"))
        // Joining again keeps the first join position.
        #expect(try await f.admin(.addStructureMember(structure: "buildco-circle", user: "sid")).events.isEmpty)
        directory = try f.engine.currentDirectory()
        #expect(directory.structures["buildco-circle"]?.members["sid"] == joinedCircle.position)

        let after = try await f.user("bob", .postMessage(thread: circle, message: text("After joining 3")))
        try await f.user("hana", .postMessage(thread: site, message: text("Site after 3")))

        // Per message: earlier messages of the circle thread stay invisible, later ones are visible.
        var state = try f.state(circle)
        #expect(Access.visibility(of: state, for: "sid", in: directory) == .from(position: joinedCircle.position))
        #expect(Access.canRead("sid", state, directory))
        for message in state.messages {
            let expected = message.position > joinedCircle.position
            #expect(Access.canRead("sid", state, directory, atPosition: message.position) == expected, "message #\(message.number)")
        }
        #expect(Access.visibleMessages(of: state, for: "sid", in: directory).map(\.text) == ["After joining 3"])
        #expect(Access.visibleMessages(of: state, for: "bob", in: directory).count == 3)
        #expect(Access.unreadCount(of: state, for: "sid", in: directory) == 1)
        #expect(try #require(state.messages.last).position == after.position)

        // With shared history the site thread shows everything.
        let siteState = try f.state(site)
        #expect(Access.visibility(of: siteState, for: "sid", in: directory) == .everything)
        #expect(Access.visibleMessages(of: siteState, for: "sid", in: directory).map(\.text) == ["Site before 1", "Site before 2", "Site after 3"])

        // The subcontractor replies and turns a message into a task; the thread keeps its
        // follow-up filters (type task, priority urgent).
        try await f.user("sid", .postMessage(thread: circle, message: text("On site tomorrow")))
        try await f.user("sid", .postMessage(thread: circle, message: text("Replace meter 4411", kind: .task)))
        state = try f.state(circle)
        #expect(state.type == .task)
        #expect(state.priority == .urgent)
        #expect(state.messages.suffix(2).map(\.author) == ["sid", "sid"])
        #expect(state.messages.last?.kind == .task)
        #expect(Access.visibleMessages(of: state, for: "sid", in: directory).map(\.number) == [3, 4, 5])
        try await f.user("sid", .moveReadMarker(thread: circle, upTo: 5))
        #expect(Access.unreadCount(of: try f.state(circle), for: "sid", in: directory) == 0)

        // Contacts list the subcontractor with its company; the colleague outside every structure is
        // not listed and gets "not found".
        let contacts = Access.contacts(of: state, in: directory)
        #expect(contacts.map(\.user) == ["bob", "hana", "sid"])
        #expect(contacts.first { $0.user == "sid" } == Contact(user: "sid", name: "Sid", party: "subco", partyName: "Subco", isInternal: false))
        #expect(Access.visibility(of: state, for: "zoe", in: directory) == .hidden)
        #expect(await refusal { try await f.user("zoe", .postMessage(thread: circle, message: text("hi"))) } == "thread_not_found")
        #expect(await refusal { try await f.user("zoe", .moveReadMarker(thread: circle, upTo: 1)) } == "thread_not_found")
        #expect(await refusal { try await f.user("zoe", .changeStatus(thread: circle, to: .resolved)) } == "thread_not_found")

        // Leaving the structure hides the thread again.
        try await f.admin(.removeStructureMember(structure: "buildco-circle", user: "sid"))
        directory = try f.engine.currentDirectory()
        #expect(Access.visibility(of: try f.state(circle), for: "sid", in: directory) == .hidden)
        #expect(await refusal { try await f.user("sid", .postMessage(thread: circle, message: text("hi"))) } == "thread_not_found")
        #expect(Access.visibility(of: try f.state(site), for: "sid", in: directory) == .everything)
    }

    // MARK: - 5. HR case routed by category

    @Test("HR case: routed to the category's handler role with default recipients, taken and moved through its statuses")
    func hrCaseRoutedByCategory() async throws {
        let f = try EngineFixture()
        try await f.party("hrservice", .internal)
        try await f.party("staff", .external)
        try await f.member("hana", party: "hrservice", roles: ["hr"])
        try await f.member("henry", party: "hrservice", roles: ["hr", "supervisor"])
        try await f.member("hal", party: "hrservice", roles: [.handler])
        try await f.member("ivan", party: "hrservice")
        try await f.member("dora", party: "hrservice", roles: ["supervisor"])
        try await f.member("emma", party: "staff", roles: ["employee"])
        try await f.admin(
            .createCategory(id: "payroll", name: "Payroll", handlerRoles: ["hr"], structures: [], defaultRecipients: ["dora"]))

        // An unknown category is refused.
        #expect(
            await refusal {
                try await f.user("emma", .openThread(OpenThread(subjectKind: "case", subjectRef: "HR-1", title: "x", category: "nope")))
            } == "unknown_category")

        let thread = try opened(
            try await f.user(
                "emma",
                .openThread(
                    OpenThread(
                        subjectKind: "case", subjectRef: "HR-2024-17", title: "Payslip of March", category: "payroll",
                        priority: .high, body: text("My overtime is missing")))))
        var state = try f.state(thread)
        let directory = try f.engine.currentDirectory()
        #expect(state.category == "payroll")
        #expect(state.status == .new)
        #expect(state.handler == nil)
        // The default recipient is added to the opener.
        #expect(state.participants == ["emma", "dora"])

        // The category's handler role routes it; the default handler role does not.
        #expect(Access.handlerRoles(of: state, in: directory) == ["hr"])
        #expect(Access.isHandler("hana", of: state, in: directory))
        #expect(Access.isHandler("henry", of: state, in: directory))
        #expect(!Access.isHandler("hal", of: state, in: directory))
        #expect(!Access.isHandler("dora", of: state, in: directory))
        #expect(Access.canRead("hana", state, directory))
        #expect(Access.canRead("dora", state, directory))
        #expect(!Access.canRead("hal", state, directory))
        #expect(!Access.canRead("ivan", state, directory))
        #expect(Access.contacts(of: state, in: directory).map(\.user) == ["dora", "emma", "hana", "henry"])
        for outsider in ["hal", "ivan"] {
            #expect(await refusal { try await f.user(outsider, .assignHandler(thread: thread, handler: UserID(outsider))) } == "thread_not_found")
            #expect(await refusal { try await f.user(outsider, .postMessage(thread: thread, message: text("hi"))) } == "thread_not_found")
        }

        // Only holders of the role take or are given the case.
        #expect(await refusal { try await f.user("dora", .assignHandler(thread: thread, handler: "dora")) } == "not_allowed")
        #expect(await refusal { try await f.user("emma", .assignHandler(thread: thread, handler: "hana")) } == "not_allowed")
        #expect(await refusal { try await f.user("hana", .assignHandler(thread: thread, handler: "dora")) } == "not_a_handler")
        #expect(await refusal { try await f.user("hana", .assignHandler(thread: thread, handler: "nobody")) } == "unknown_user")
        let taken = try await f.user("hana", .assignHandler(thread: thread, handler: "hana"))
        #expect(try f.state(thread).handler == "hana")
        // Taking the new case is the handler's first action on it: it is open from then on.
        #expect(statusChanges(taken).map(\.reason) == [.handlerAction])
        #expect(try f.state(thread).status == .open)
        #expect(try await f.user("hana", .assignHandler(thread: thread, handler: "hana")).events.isEmpty)
        try await f.user("hana", .assignHandler(thread: thread, handler: "henry"))
        #expect(try f.state(thread).handler == "henry")

        // The default recipient reads along but does not drive the status.
        #expect(await refusal { try await f.user("dora", .changeStatus(thread: thread, to: .open)) } == "not_allowed")
        try await f.user("dora", .postMessage(thread: thread, message: text("Overtime was approved")))

        // The handler moves the case through its lifecycle; each step is checked.
        func move(_ to: ThreadStatus) async throws {
            let outcome = try await f.user("henry", .changeStatus(thread: thread, to: to))
            #expect(statusChanges(outcome).map(\.reason) == [.requested])
            #expect(try f.state(thread).status == to)
        }
        #expect(try await f.user("henry", .changeStatus(thread: thread, to: .open)).events.isEmpty)
        #expect(await refusal { try await f.user("henry", .changeStatus(thread: thread, to: .new)) } == "invalid_status_transition")
        try await f.user("henry", .postMessage(thread: thread, message: text("Please send your timesheet")))
        try await move(.waiting)
        let answered = try await f.user("emma", .postMessage(thread: thread, message: text("Attached")))
        #expect(statusChanges(answered).map(\.reason) == [.answeredByOutsideParty])
        #expect(try f.state(thread).status == .open)
        try await move(.waiting)
        try await move(.open)
        try await move(.resolved)
        #expect(await refusal { try await f.user("henry", .changeStatus(thread: thread, to: .waiting)) } == "invalid_status_transition")
        try await move(.closed)
        #expect(await refusal { try await f.user("henry", .changeStatus(thread: thread, to: .resolved)) } == "invalid_status_transition")
        #expect(await refusal { try await f.user("henry", .changeStatus(thread: thread, to: .waiting)) } == "invalid_status_transition")
        #expect(await refusal { try await f.user("emma", .postMessage(thread: thread, message: text("?"))) } == "thread_closed")
        try await move(.open)
        try await move(.closed)

        state = try f.state(thread)
        #expect(state.handler == "henry")
        #expect(state.messages.map(\.author) == ["emma", "dora", "henry", "emma"])
        let transitions = try storedEvents(f, thread).compactMap { recorded -> ThreadStatus? in
            if case .threadStatusChanged(let change) = recorded.event { change.to } else { nil }
        }
        #expect(transitions == [.open, .waiting, .open, .waiting, .open, .resolved, .closed, .open, .closed])
    }
}

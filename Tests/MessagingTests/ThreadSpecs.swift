import Messaging
import Testing

@Suite struct OpeningSpecs {
    let w = World.self

    @Test func aUserOpensAThreadOnASubjectWithItsFirstMessage() {
        let open = OpenThread(
            subjectKind: "request", subjectRef: "D-1187", title: " Invoice question ", priority: .high,
            type: .task, participants: [w.client2], structures: [w.circle], body: w.message("Hello"))
        Spec.given(w.directory).when(.openThread(open), by: .user(w.client), newID: "t9")
            .then([
                .threadOpened(
                    ThreadOpened(
                        thread: "t9", subject: Subject(kind: "request", ref: "D-1187"),
                        title: "Invoice question",
                        category: nil, priority: .high, type: .task, importance: .normal, openedBy: w.client,
                        participants: [w.client, w.client2], structures: [w.circle])),
                .messagePosted(MessagePosted(thread: "t9", number: 1, author: w.client, text: "Hello")),
            ])
    }

    @Test func theCategoryAddsItsDefaultRecipientsAndStructures() {
        let spec = Spec.given(
            w.directory + [
                .categoryCreated(
                    CategoryCreated(
                        id: "bugs", name: "Bugs", handlerRoles: [.handler], structures: [w.circle],
                        defaultRecipients: [w.supervisor, w.client]))
            ])
        let open = OpenThread(subjectKind: "case", subjectRef: "K1", title: "Crash", category: "bugs")
        spec.when(.openThread(open), by: .user(w.client), newID: "t9")
            .then([
                .threadOpened(
                    ThreadOpened(
                        thread: "t9", subject: Subject(kind: "case", ref: "K1"), title: "Crash",
                        category: "bugs",
                        priority: .normal, type: .message, importance: .normal, openedBy: w.client,
                        participants: [w.client, w.supervisor], structures: [w.circle]))
            ])
    }

    @Test func aContractHasOneThreadAndTheClaimMakesConcurrentOpensConflict() {
        let open = OpenThread(
            subjectKind: "contract", subjectRef: "C-2024-0042", title: "Contract chat")
        let subject = Subject(kind: "contract", ref: "C-2024-0042")
        let declared = w.directory + [.subjectDeclared(SubjectDeclared(subject: subject, parties: [w.acme], structures: []))]
        let first = Spec.given(declared).when(.openThread(open), by: .user(w.client), newID: "t9")
        let afterFirst = first.then([
            .subjectClaimed(SubjectClaimed(subject: subject, thread: "t9")),
            .threadOpened(
                ThreadOpened(
                    thread: "t9", subject: subject, title: "Contract chat", category: nil, priority: .normal,
                    type: .message, importance: .normal, openedBy: w.client, participants: [w.client],
                    structures: [])),
        ])
        // The claim stream is written expecting "no stream": a racing open conflicts in storage.
        let context = CommandContext(now: 0, actor: .user(w.client), newID: "t9")
        let plan = try? Decider.plan(
            .openThread(open), context: context, directory: Spec.given(declared).directory,
            loaded: LoadedStreams())
        #expect(
            plan?.writes.first { $0.stream == "subject-contract-C-2024-0042" }?.expected == .noStream)
        #expect(plan?.writes.first { $0.stream == "thread-t9" }?.expected == .noStream)

        // The retry (or any later open) sees the claim: nothing is written, the existing thread answers.
        let second = afterFirst.when(.openThread(open), by: .user(w.client2), newID: "t10")
        second.then([])
        let retryContext = CommandContext(now: 0, actor: .user(w.client2), newID: "t10")
        let existing = try? Decider.plan(
            .openThread(open), context: retryContext, directory: afterFirst.directory,
            loaded: afterFirst.loaded(for: .openThread(open), context: retryContext))
        #expect(existing?.existingThread == "t9")
    }

    @Test func theClaimIsFoundWhateverSpacesSurroundTheRef() {
        let subject = Subject(kind: "contract", ref: "C-7")
        let claimed: [Event] = [
            .subjectDeclared(SubjectDeclared(subject: subject, parties: [w.acme], structures: [])),
            .subjectClaimed(SubjectClaimed(subject: subject, thread: "t7")),
        ]
        let open = OpenThread(subjectKind: "contract", subjectRef: " C-7 ", title: "Again")
        Spec.given(w.directory + claimed).when(.openThread(open), by: .user(w.client)).then([])
    }

    @Test func whoMayOpenDependsOnTheSubjectAloneNeverOnItsThread() {
        // An undeclared contract, with a chat or without: outside users are refused alike.
        let taken = Subject(kind: "contract", ref: "C-8")
        let claimed: [Event] = [.subjectClaimed(SubjectClaimed(subject: taken, thread: "t8"))]
        for ref in ["C-8", "C-404"] {
            Spec.given(w.directory + claimed)
                .when(.openThread(OpenThread(subjectKind: "contract", subjectRef: ref, title: "Probe")), by: .user(w.subcontractor))
                .thenRefused(.subjectNotFound(Subject(kind: "contract", ref: ref)))
        }
        // Declared for acme: the subcontractor's party is not among its parties, so it is refused too,
        // also on a free kind; acme's users and the internal side may open.
        let declared: [Event] = [
            .subjectDeclared(SubjectDeclared(subject: Subject(kind: "request", ref: "R-1"), parties: [w.acme], structures: []))
        ]
        let request = OpenThread(subjectKind: "request", subjectRef: "R-1", title: "Question")
        Spec.given(w.directory + declared).when(.openThread(request), by: .user(w.subcontractor))
            .thenRefused(.subjectNotFound(Subject(kind: "request", ref: "R-1")))
        #expect(Access.mayOpen(Subject(kind: "request", ref: "R-1"), rule: .free, user: w.client2, in: Spec.given(w.directory + declared).directory))
        #expect(Access.mayOpen(taken, rule: .onePerSubject, user: w.handler, in: Spec.given(w.directory).directory))
        #expect(!Access.mayOpen(taken, rule: .onePerSubject, user: w.client, in: Spec.given(w.directory).directory))
    }

    @Test func aTicketGetsItsNumberAsRef() {
        let spec = Spec.given(w.directory)
            .when(
                .openThread(OpenThread(subjectKind: "ticket", subjectRef: "ignored", title: "Printer")),
                by: .user(w.client), newID: "t5"
            )
            .then([
                .ticketNumbered(TicketNumbered(number: 1, thread: "t5")),
                .threadOpened(
                    ThreadOpened(
                        thread: "t5", subject: Subject(kind: "ticket", ref: "TT1"), title: "Printer",
                        category: nil, priority: .normal, type: .message, importance: .normal,
                        openedBy: w.client, participants: [w.client], structures: [])),
            ])
        #expect(ThreadState.fold(spec.history.filter { $0.event.stream == "thread-t5" })?.number == "TT1")
    }

    @Test func ticketsAreNumberedWithoutGapsFromTheCounterStream() {
        let open = OpenThread(subjectKind: "ticket", title: "Printer")
        var spec = Spec.given(w.directory)
        for number in 1...3 {
            let thread = ThreadID("t\(number + 10)")
            spec = spec.when(.openThread(open), by: .user(w.client), newID: thread.rawValue)
                .then([
                    .ticketNumbered(TicketNumbered(number: number, thread: thread)),
                    .threadOpened(
                        ThreadOpened(
                            thread: thread, subject: Subject(kind: "ticket", ref: "TT\(number)"),
                            title: "Printer",
                            category: nil, priority: .normal, type: .message, importance: .normal,
                            openedBy: w.client, participants: [w.client], structures: [])),
                ])
        }
        // The counter's version is the last number: the next open expects exactly version 3.
        let context = CommandContext(now: 0, actor: .user(w.client), newID: "t99")
        let plan = try? Decider.plan(
            .openThread(open), context: context, directory: spec.directory,
            loaded: spec.loaded(for: .openThread(open), context: context))
        #expect(plan?.writes.first { $0.stream == "tickets" }?.expected == .version(3))
    }

    @Test func openingRefusals() {
        let spec = Spec.given(w.directory + w.opened)
        func open(
            kind: String = "request", ref: String? = "R1", title: String = "T",
            category: CategoryID? = nil,
            participants: [UserID] = [], structures: [StructureID] = [], body: String? = nil
        ) -> Command {
            .openThread(
                OpenThread(
                    subjectKind: kind, subjectRef: ref, title: title, category: category,
                    participants: participants,
                    structures: structures, body: body.map(w.message)))
        }
        let user = Actor.user(w.client)
        spec.when(open(category: "nope"), by: user).thenRefused(.unknownCategory("nope"))
        spec.when(open(ref: nil), by: user).thenRefused(
            .invalidSubject("a ref is required for this kind"))
        spec.when(open(kind: "Bad Kind"), by: user).thenRefused(
            .invalidSubject("the kind must be a lowercase word"))
        spec.when(open(title: "  "), by: user).thenRefused(.invalidTitle)
        spec.when(open(participants: ["ghost"]), by: user).thenRefused(.unknownUser("ghost"))
        spec.when(open(structures: ["nope"]), by: user).thenRefused(.unknownStructure("nope"))
        spec.when(open(body: " \n"), by: user).thenRefused(.emptyMessage)
        spec.when(open(), by: user, newID: w.thread.rawValue).thenRefused(.duplicateID("t1"))
        spec.when(open(), by: .admin).thenRefused(.notAllowed("only users act on threads"))
        spec.when(open(), by: .user("ghost")).thenRefused(.unknownUser("ghost"))
    }
}

@Suite struct MessageSpecs {
    let w = World.self

    @Test func messagesAreNumberedWithinTheThread() {
        Spec.given(w.directory + w.opened)
            .when(.postMessage(thread: w.thread, message: w.message("Answer")), by: .user(w.handler))
            .then([w.post(2, by: w.handler, "Answer"), w.status(.new, .open, .handlerAction)])
            .when(.postMessage(thread: w.thread, message: w.message("More")), by: .user(w.client))
            .then([w.post(3, by: w.client, "More")])
    }

    @Test func attachmentsAreRecordedAsMetadata() {
        let file = Attachment(
            name: "a.pdf", contentType: "application/pdf", size: 10, sha256: World.hash)
        let message = NewMessage(text: "See file", kind: .task, format: .markdown, attachments: [file])
        Spec.given(w.directory + w.opened)
            .when(.postMessage(thread: w.thread, message: message), by: .user(w.client))
            .then([
                .messagePosted(
                    MessagePosted(
                        thread: w.thread, number: 2, author: w.client, kind: .task, format: .markdown,
                        text: "See file", attachments: [file]))
            ])
        let broken = Attachment(name: "a.pdf", contentType: "application/pdf", size: 10, sha256: "abc")
        Spec.given(w.directory + w.opened)
            .when(
                .postMessage(thread: w.thread, message: NewMessage(text: "x", attachments: [broken])),
                by: .user(w.client)
            )
            .thenRefused(.invalidAttachment("a.pdf"))
        Spec.given(
            w.directory + w.opened + [.settingsChanged(SettingsPatch(attachmentsAllowed: false))]
        )
        .when(.postMessage(thread: w.thread, message: message), by: .user(w.client))
        .thenRefused(.attachmentsNotAllowed)
    }

    @Test func emptyTextIsRefused() {
        Spec.given(w.directory + w.opened)
            .when(.postMessage(thread: w.thread, message: w.message(" \n\t")), by: .user(w.client))
            .thenRefused(.emptyMessage)
    }

    @Test func textOverTheSizeLimitIsRefused() {
        let spec = Spec.given(w.directory + w.opened)
        let limit = Settings.defaultMessageSizeLimit
        spec.when(
            .postMessage(thread: w.thread, message: w.message(String(repeating: "a", count: limit))),
            by: .user(w.client)
        )
        .then([w.post(2, by: w.client, String(repeating: "a", count: limit))])
        // The limit counts UTF-8 bytes, not characters.
        let text = String(repeating: "é", count: limit / 2 + 1)
        spec.when(.postMessage(thread: w.thread, message: w.message(text)), by: .user(w.client))
            .thenRefused(.messageTooLarge(size: limit + 2, limit: limit))
        Spec.given(w.directory + w.opened + [.settingsChanged(SettingsPatch(messageSizeLimit: 4))])
            .when(.postMessage(thread: w.thread, message: w.message("12345")), by: .user(w.client))
            .thenRefused(.messageTooLarge(size: 5, limit: 4))
    }

    @Test func aUserWhoMayNotSeeTheThreadGetsNotFound() {
        let spec = Spec.given(w.directory + w.opened)
        // The subcontractor is in no way named on the thread; the payroll clerk is internal but holds no
        // handler role of an uncategorised thread.
        for outsider in [w.subcontractor, w.payroll, w.supervisor] {
            spec.when(.postMessage(thread: w.thread, message: w.message("Hi")), by: .user(outsider))
                .thenRefused(.threadNotFound(w.thread))
            spec.when(.moveReadMarker(thread: w.thread, upTo: 1), by: .user(outsider))
                .thenRefused(.threadNotFound(w.thread))
            spec.when(.changeStatus(thread: w.thread, to: .resolved), by: .user(outsider))
                .thenRefused(.threadNotFound(w.thread))
        }
        spec.when(.postMessage(thread: "missing", message: w.message("Hi")), by: .user(w.handler))
            .thenRefused(.threadNotFound("missing"))
    }

    @Test func anOutsideUserCannotPostOnABlockedThread() {
        let spec = Spec.given(
            w.directory + w.opened + [.threadBlocked(ThreadBlocked(thread: w.thread))])
        spec.when(.postMessage(thread: w.thread, message: w.message("Hi")), by: .user(w.client))
            .thenRefused(.threadBlocked(w.thread))
        spec.when(.postMessage(thread: w.thread, message: w.message("Hi")), by: .user(w.handler))
            .then([w.post(2, by: w.handler, "Hi"), w.status(.new, .open, .handlerAction)])
    }

    @Test func unblockingLetsOutsideUsersPostAgain() {
        Spec.given(w.directory + w.opened + [.threadBlocked(ThreadBlocked(thread: w.thread))])
            .when(.unblockThread(w.thread), by: .user(w.handler))
            .then([.threadUnblocked(ThreadUnblocked(thread: w.thread))])
            .when(.postMessage(thread: w.thread, message: w.message("Hi")), by: .user(w.client))
            .then([w.post(2, by: w.client, "Hi")])
    }

    @Test func onlyHandlersBlock() {
        let spec = Spec.given(w.directory + w.opened)
        spec.when(.blockThread(w.thread), by: .user(w.client))
            .thenRefused(.notAllowed("only the thread's handlers block or unblock it"))
        spec.when(.blockThread(w.thread), by: .user(w.handler))
            .then([.threadBlocked(ThreadBlocked(thread: w.thread))])
            .when(.blockThread(w.thread), by: .user(w.handler))
            .then([])
    }

    @Test func anOutsideAnswerMovesAWaitingThreadBackToOpen() {
        let spec = Spec.given(w.directory + w.opened + [w.status(.new, .waiting)])
        spec.when(.postMessage(thread: w.thread, message: w.message("Here it is")), by: .user(w.client))
            .then([
                w.post(2, by: w.client, "Here it is"), w.status(.waiting, .open, .answeredByOutsideParty),
            ])
        // A handler's own message keeps it waiting.
        spec.when(.postMessage(thread: w.thread, message: w.message("Reminder")), by: .user(w.handler))
            .then([w.post(2, by: w.handler, "Reminder")])
    }

    @Test func anOutsideMessageReopensAResolvedThreadWhenSettingsAllow() {
        let resolved = w.directory + w.opened + [w.status(.new, .resolved)]
        Spec.given(resolved)
            .when(.postMessage(thread: w.thread, message: w.message("Not fixed")), by: .user(w.client))
            .then([w.post(2, by: w.client, "Not fixed"), w.status(.resolved, .open, .reopenedByMessage)])
        Spec.given(resolved + [.settingsChanged(SettingsPatch(allowReopen: false))])
            .when(.postMessage(thread: w.thread, message: w.message("Not fixed")), by: .user(w.client))
            .thenRefused(.threadResolved(w.thread))
        // A handler's closing remark does not reopen.
        Spec.given(resolved)
            .when(.postMessage(thread: w.thread, message: w.message("Thanks")), by: .user(w.handler))
            .then([w.post(2, by: w.handler, "Thanks")])
    }

    @Test func aClosedThreadTakesNoMessages() {
        Spec.given(w.directory + w.opened + [w.status(.new, .closed)])
            .when(.postMessage(thread: w.thread, message: w.message("Hi")), by: .user(w.handler))
            .thenRefused(.threadClosed(w.thread))
    }
}

@Suite struct ReadMarkerSpecs {
    let w = World.self
    let spec = Spec.given(World.directory + World.opened + [World.post(2, by: World.handler)])

    @Test func theMarkerMovesForward() {
        spec.when(.moveReadMarker(thread: w.thread, upTo: 2), by: .user(w.client))
            .then([.readMarkerMoved(ReadMarkerMoved(thread: w.thread, user: w.client, upTo: 2))])
    }

    @Test func theMarkerCannotPassTheLastMessage() {
        spec.when(.moveReadMarker(thread: w.thread, upTo: 3), by: .user(w.client))
            .thenRefused(.readMarkerOutOfRange(upTo: 3, messageCount: 2))
        spec.when(.moveReadMarker(thread: w.thread, upTo: -1), by: .user(w.client))
            .thenRefused(.readMarkerOutOfRange(upTo: -1, messageCount: 2))
    }

    @Test func movingBackwardsIsANoOp() {
        spec.when(.moveReadMarker(thread: w.thread, upTo: 2), by: .user(w.client))
            .then([.readMarkerMoved(ReadMarkerMoved(thread: w.thread, user: w.client, upTo: 2))])
            .when(.moveReadMarker(thread: w.thread, upTo: 1), by: .user(w.client))
            .then([])
    }

    @Test func anUnreadTallyExtendedAsTheThreadGrowsAgreesWithCountingAgain() {
        // Messages by both sides, markers moving, a circle member joining late: after every event the
        // tally carried along equals a fresh count, for every user.
        let late: UserID = "client2-late"
        var spec = Spec.given(w.directory + w.opened)
        var tallies: [UserID: Access.UnreadTally] = [:]
        let steps: [Event] = [
            w.post(2, by: w.handler), w.post(3, by: w.client),
            .readMarkerMoved(ReadMarkerMoved(thread: w.thread, user: w.client, upTo: 2)),
            w.post(4, by: w.handler), w.post(5, by: w.handler),
            .userCreated(
                UserCreated(id: late, name: "Late", email: "late@example.com", party: w.acme, roles: ["client"], tokenHash: w.hash)),
            .structureMemberAdded(StructureMemberAdded(structure: w.circle, user: late)),
            w.post(6, by: w.client2), w.post(7, by: w.handler),
            .readMarkerMoved(ReadMarkerMoved(thread: w.thread, user: w.handler, upTo: 6)),
            w.post(8, by: w.client),
        ]
        var counted = 0
        for step in steps {
            spec.record([step])
            let thread = ThreadState.fold(spec.history.filter { $0.event.stream == "thread-t1" })!
            let directory = spec.directory
            for user in [w.client, w.client2, w.handler, w.subcontractor, late] {
                let tally = Access.unreadTally(of: thread, for: user, in: directory, extending: tallies[user])
                #expect(tally.count == Access.unreadCount(of: thread, for: user, in: directory), "\(user) after \(step)")
                tallies[user] = tally
                counted += tally.count
            }
        }
        #expect(counted > 0)
        // A thread that lost its messages (purged) is counted again, not extended.
        var purged = ThreadState.fold(spec.history.filter { $0.event.stream == "thread-t1" })!
        purged.messages = []
        #expect(Access.unreadTally(of: purged, for: w.client, in: spec.directory, extending: tallies[w.client]).count == 0)
    }

    @Test func unreadCountsMessagesOfOthersAfterTheMarker() {
        let after = spec.when(.moveReadMarker(thread: w.thread, upTo: 1), by: .user(w.handler))
            .then([.readMarkerMoved(ReadMarkerMoved(thread: w.thread, user: w.handler, upTo: 1))])
        let thread = ThreadState.fold(after.history.filter { $0.event.stream == "thread-t1" })!
        #expect(Access.unreadCount(of: thread, for: w.client, in: after.directory) == 1)
        #expect(Access.unreadCount(of: thread, for: w.handler, in: after.directory) == 0)
    }
}

@Suite struct HandlingSpecs {
    let w = World.self
    let spec = Spec.given(World.directory + World.opened)

    @Test func aHandlerTakesOwnership() {
        spec.when(.assignHandler(thread: w.thread, handler: w.handler), by: .user(w.handler))
            .then([.handlerAssigned(HandlerAssigned(thread: w.thread, handler: w.handler)), w.status(.new, .open, .handlerAction)])
            .when(.assignHandler(thread: w.thread, handler: w.handler), by: .user(w.handler))
            .then([])
    }

    @Test func aHandlerAssignsAnotherHandler() {
        spec.when(.assignHandler(thread: w.thread, handler: w.handler2), by: .user(w.handler))
            .then([.handlerAssigned(HandlerAssigned(thread: w.thread, handler: w.handler2)), w.status(.new, .open, .handlerAction)])
    }

    @Test func onlyHoldersOfTheHandlerRolesAreAssigned() {
        spec.when(.assignHandler(thread: w.thread, handler: w.client), by: .user(w.handler))
            .thenRefused(.notAHandler(w.client))
        spec.when(.assignHandler(thread: w.thread, handler: "ghost"), by: .user(w.handler))
            .thenRefused(.unknownUser("ghost"))
        spec.when(.assignHandler(thread: w.thread, handler: w.client), by: .user(w.client))
            .thenRefused(.notAllowed("only the thread's handlers assign it"))
    }

    @Test func handlersChangeAnyStatusAlongTheLifecycle() {
        spec.when(.changeStatus(thread: w.thread, to: .open), by: .user(w.handler))
            .then([w.status(.new, .open)])
            .when(.changeStatus(thread: w.thread, to: .waiting), by: .user(w.handler))
            .then([w.status(.open, .waiting)])
            .when(.changeStatus(thread: w.thread, to: .resolved), by: .user(w.handler))
            .then([w.status(.waiting, .resolved)])
            .when(.changeStatus(thread: w.thread, to: .closed), by: .user(w.handler))
            .then([w.status(.resolved, .closed)])
            .when(.changeStatus(thread: w.thread, to: .open), by: .user(w.handler))
            .then([w.status(.closed, .open)])
            .when(.changeStatus(thread: w.thread, to: .open), by: .user(w.handler))
            .then([])
    }

    @Test func invalidTransitionsAreRefused() {
        Spec.given(w.directory + w.opened + [w.status(.new, .resolved)])
            .when(.changeStatus(thread: w.thread, to: .waiting), by: .user(w.handler))
            .thenRefused(.invalidStatusTransition(from: .resolved, to: .waiting))
        Spec.given(w.directory + w.opened + [w.status(.new, .open)])
            .when(.changeStatus(thread: w.thread, to: .new), by: .user(w.handler))
            .thenRefused(.invalidStatusTransition(from: .open, to: .new))
    }

    @Test func theOutsidePartyMayOnlyResolveItsOwnThread() {
        let denied = DomainError.notAllowed(
            "only handlers change the status; the outside party may resolve its own thread")
        spec.when(.changeStatus(thread: w.thread, to: .resolved), by: .user(w.client))
            .then([w.status(.new, .resolved)])
        spec.when(.changeStatus(thread: w.thread, to: .closed), by: .user(w.client)).thenRefused(denied)
        spec.when(.changeStatus(thread: w.thread, to: .waiting), by: .user(w.client)).thenRefused(
            denied)
        // A colleague of the same party, seeing the thread through the circle, may resolve it too.
        let withColleague = Spec.given(
            w.directory + [
                .structureMemberAdded(StructureMemberAdded(structure: w.circle, user: w.client2))
            ] + w.opened)
        withColleague.when(.changeStatus(thread: w.thread, to: .resolved), by: .user(w.client2))
            .then([w.status(.new, .resolved)])
        // An outside user of another party who sees the thread may not.
        let withSub = Spec.given(
            w.directory + [
                .structureMemberAdded(StructureMemberAdded(structure: w.circle, user: w.subcontractor))
            ]
                + w.opened)
        withSub.when(.changeStatus(thread: w.thread, to: .resolved), by: .user(w.subcontractor))
            .thenRefused(denied)
    }

    @Test func internalNonHandlersDoNotChangeTheStatus() {
        let spec = Spec.given(
            w.directory
                + w.opened.map { event in
                    guard case .threadOpened(var opened) = event else { return event }
                    opened.participants.append(w.supervisor)
                    return .threadOpened(opened)
                })
        spec.when(.changeStatus(thread: w.thread, to: .resolved), by: .user(w.supervisor))
            .thenRefused(
                .notAllowed("only handlers change the status; the outside party may resolve its own thread")
            )
    }

    @Test func theCategoryNamesTheHandlerRoles() {
        let payrollThread: [Event] = [
            .threadOpened(
                ThreadOpened(
                    thread: w.thread, subject: Subject(kind: "request", ref: "P1"), title: "Salary",
                    category: w.payrollCategory, priority: .normal, type: .message, importance: .normal,
                    openedBy: w.client, participants: [w.client, w.supervisor], structures: []))
        ]
        let spec = Spec.given(w.directory + payrollThread)
        spec.when(.assignHandler(thread: w.thread, handler: w.payroll), by: .user(w.payroll))
            .then([.handlerAssigned(HandlerAssigned(thread: w.thread, handler: w.payroll)), w.status(.new, .open, .handlerAction)])
        // The default handlers do not see a thread of a category that names other roles.
        spec.when(.assignHandler(thread: w.thread, handler: w.handler), by: .user(w.handler))
            .thenRefused(.threadNotFound(w.thread))
    }

    @Test func theDefaultHandlerRolesAreConfigurable() {
        let spec = Spec.given(
            w.directory + [.settingsChanged(SettingsPatch(defaultHandlerRoles: ["payroll"]))] + w.opened)
        spec.when(.blockThread(w.thread), by: .user(w.payroll)).then([
            .threadBlocked(ThreadBlocked(thread: w.thread))
        ])
        spec.when(.blockThread(w.thread), by: .user(w.handler)).thenRefused(.threadNotFound(w.thread))
    }
}

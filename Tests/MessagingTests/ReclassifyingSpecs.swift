import Messaging
import Testing

/// Handling after opening: reclassifying a thread, the first handler action, "answered by customer".
@Suite struct ReclassifyingSpecs {
    let w = World.self

    static func attributes(
        type: ThreadType = .message, priority: Priority = .normal, importance: Importance = .normal,
        category: CategoryID? = nil, participantsAdded: [UserID] = [], structuresAdded: [StructureID] = []
    ) -> Event {
        .threadAttributesChanged(
            ThreadAttributesChanged(
                thread: World.thread, type: type, priority: priority, importance: importance, category: category,
                participantsAdded: participantsAdded, structuresAdded: structuresAdded))
    }

    @Test func aHandlerChangesTypePriorityAndImportanceAndNothingElseChanges() {
        let spec = Spec.given(w.directory + w.opened)
        let changed = spec.when(
            .changeAttributes(thread: w.thread, AttributesPatch(type: .task, priority: .urgent)), by: .user(w.handler)
        )
        .then([Self.attributes(type: .task, priority: .urgent)])
        #expect(changed.thread?.type == .task && changed.thread?.priority == .urgent)
        // Asking for what is already so writes nothing.
        changed.when(.changeAttributes(thread: w.thread, AttributesPatch(priority: .urgent)), by: .user(w.handler))
            .then([])
        changed.when(.changeAttributes(thread: w.thread, AttributesPatch(importance: .high)), by: .user(w.handler))
            .then([Self.attributes(type: .task, priority: .urgent, importance: .high)])
    }

    @Test func aNewCategoryBringsItsRecipientsAndMovesTheThreadToItsHandlers() {
        let spec = Spec.given(w.directory + w.opened)
        let moved = spec.when(
            .changeAttributes(thread: w.thread, AttributesPatch(category: w.payrollCategory)), by: .user(w.handler)
        )
        .then([Self.attributes(category: w.payrollCategory, participantsAdded: [w.supervisor])])
        #expect(moved.thread?.participants == [w.client, w.supervisor])
        // The payroll handler sees it now; the general handler no longer handles it.
        let directory = moved.directory
        if let thread = moved.thread {
            #expect(Access.isHandler(w.payroll, of: thread, in: directory))
            #expect(!Access.isHandler(w.handler, of: thread, in: directory))
            #expect(!Access.canRead(w.handler, thread, directory))
        } else {
            Issue.record("no thread")
        }
        spec.when(.changeAttributes(thread: w.thread, AttributesPatch(category: "nope")), by: .user(w.handler))
            .thenRefused(.unknownCategory("nope"))
    }

    @Test func onlyHandlersReclassify() {
        let spec = Spec.given(w.directory + w.opened)
        spec.when(.changeAttributes(thread: w.thread, AttributesPatch(priority: .urgent)), by: .user(w.client))
            .thenRefused(.notAllowed("only the thread's handlers change its type, priority, importance or category"))
        spec.when(.changeAttributes(thread: w.thread, AttributesPatch(priority: .urgent)), by: .user(w.subcontractor))
            .thenRefused(.threadNotFound(w.thread))
        spec.when(.changeAttributes(thread: w.thread, AttributesPatch(type: .clientRemark)), by: .user(w.handler))
            .thenRefused(.notAllowed("a client remark is opened by the outside side only"))
    }

    @Test func aHandlersFirstActionOpensANewThread() {
        let spec = Spec.given(w.directory + w.opened)
        spec.when(.assignHandler(thread: w.thread, handler: w.handler), by: .user(w.handler))
            .then([
                .handlerAssigned(HandlerAssigned(thread: w.thread, handler: w.handler)),
                w.status(.new, .open, .handlerAction),
            ])
        spec.when(.postMessage(thread: w.thread, message: w.message("On it")), by: .user(w.handler))
            .then([w.post(2, by: w.handler, "On it"), w.status(.new, .open, .handlerAction)])
        // An internal user who does not handle the thread (a named participant) does not open it.
        let withSupervisor = Spec.given(
            w.directory
                + [
                    .threadOpened(
                        ThreadOpened(
                            thread: w.thread, subject: Subject(kind: "request", ref: "D-1"), title: "Q",
                            category: nil, priority: .normal, type: .message, importance: .normal, openedBy: w.client,
                            participants: [w.client, w.supervisor], structures: []))
                ])
        withSupervisor.when(.postMessage(thread: w.thread, message: w.message("Noted")), by: .user(w.supervisor))
            .then([w.post(1, by: w.supervisor, "Noted")])
        // Once open, a handler's answer changes no status.
        Spec.given(w.directory + w.opened + [w.status(.new, .open)])
            .when(.postMessage(thread: w.thread, message: w.message("More")), by: .user(w.handler))
            .then([w.post(2, by: w.handler, "More")])
    }

    @Test func answeredByCustomerHoldsUntilAHandlerActs() {
        let waiting = Spec.given(w.directory + w.opened + [w.status(.new, .waiting)])
        let answered = waiting.when(
            .postMessage(thread: w.thread, message: w.message("Here it is")), by: .user(w.client)
        )
        .then([w.post(2, by: w.client, "Here it is"), w.status(.waiting, .open, .answeredByOutsideParty)])
        #expect(answered.thread.map { Access.answeredByCustomer($0, in: answered.directory) } == true)
        // Another outside message keeps the mark.
        let again = answered.when(.postMessage(thread: w.thread, message: w.message("And this")), by: .user(w.client))
            .then([w.post(3, by: w.client, "And this")])
        #expect(again.thread.map { Access.answeredByCustomer($0, in: again.directory) } == true)
        // A handler's answer, an assignment or a status change each end it.
        let replied = again.when(.postMessage(thread: w.thread, message: w.message("Thanks")), by: .user(w.handler))
            .then([w.post(4, by: w.handler, "Thanks")])
        #expect(replied.thread.map { Access.answeredByCustomer($0, in: replied.directory) } == false)
        let assigned = again.when(.assignHandler(thread: w.thread, handler: w.handler), by: .user(w.handler))
            .then([.handlerAssigned(HandlerAssigned(thread: w.thread, handler: w.handler))])
        #expect(assigned.thread.map { Access.answeredByCustomer($0, in: assigned.directory) } == false)
        let resolved = again.when(.changeStatus(thread: w.thread, to: .resolved), by: .user(w.handler))
            .then([w.status(.open, .resolved)])
        #expect(resolved.thread.map { Access.answeredByCustomer($0, in: resolved.directory) } == false)
        // A thread that was never waiting is not marked.
        let plain = Spec.given(w.directory + w.opened)
        #expect(plain.thread.map { Access.answeredByCustomer($0, in: plain.directory) } == false)
    }

    @Test func legalHoldsAndCategoryPeriodsAreTheAdministrators() {
        let spec = Spec.given(w.directory + w.opened)
        spec.when(.placeLegalHold(thread: w.thread, reason: "audit"), by: .user(w.handler))
            .thenRefused(.notAllowed("only the administrator manages the directory"))
        spec.when(.placeLegalHold(thread: w.thread, reason: "audit"), by: .admin)
            .then([.legalHoldPlaced(LegalHoldPlaced(thread: w.thread, reason: "audit"))])
            .when(.releaseLegalHold(thread: w.thread), by: .admin)
            .then([.legalHoldReleased(LegalHoldReleased(thread: w.thread))])
        spec.when(.setCategoryRetention(category: w.payrollCategory, days: 365), by: .admin)
            .then([.categoryRetentionSet(CategoryRetentionSet(category: w.payrollCategory, days: 365))])
    }
}

extension Spec {
    /// The world's thread as folded from the history.
    var thread: ThreadState? {
        ThreadState.fold(history.filter { $0.event.stream == StreamName.thread(World.thread) })
    }
}

@Suite struct UserMaintenanceSpecs {
    let w = World.self

    @Test func theAdministratorUpdatesAUserAndChangingNothingWritesNothing() {
        let spec = Spec.given(w.directory)
        let updated = spec.when(
            .updateUser(id: w.client, name: " Clara Rossi ", email: nil, roles: ["client", "manager", "client"]),
            by: .admin
        )
        .then([
            .userUpdated(UserUpdated(id: w.client, name: "Clara Rossi", email: "c1@example.com", roles: ["client", "manager"]))
        ])
        #expect(updated.directory.users[w.client]?.name == "Clara Rossi")
        updated.when(.updateUser(id: w.client, name: "Clara Rossi", email: nil, roles: nil), by: .admin).then([])
        spec.when(.updateUser(id: w.client, name: nil, email: "not-an-address", roles: nil), by: .admin)
            .thenRefused(.invalidEmail("not-an-address"))
        spec.when(.updateUser(id: "ghost", name: "G", email: nil, roles: nil), by: .admin)
            .thenRefused(.unknownUser("ghost"))
        spec.when(.updateUser(id: w.client, name: "X", email: nil, roles: nil), by: .user(w.handler))
            .thenRefused(.notAllowed("only the administrator manages the directory"))
    }

    @Test func aDeactivatedUsersTokenStopsWorkingAndTheyAreAssignedNothing() {
        let spec = Spec.given(w.directory + w.opened)
        #expect(spec.directory.principal(withTokenHash: World.hash) != nil)
        let deactivated = spec.when(.deactivateUser(w.handler2), by: .admin)
            .then([.userDeactivated(UserDeactivated(id: w.handler2))])
        #expect(deactivated.directory.users[w.handler2]?.active == false)
        #expect(deactivated.directory.users[w.handler2]?.name == "Hugo Handler")
        // Every user of the world shares one token hash: the first active one answers, never h2.
        #expect(deactivated.directory.principal(withTokenHash: World.hash) != .user(w.handler2))
        deactivated.when(.deactivateUser(w.handler2), by: .admin).then([])
        deactivated.when(.assignHandler(thread: w.thread, handler: w.handler2), by: .user(w.handler))
            .thenRefused(.notAHandler(w.handler2))
    }
}

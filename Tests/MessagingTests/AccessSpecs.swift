import Messaging
import Testing

@Suite struct AccessSpecs {
    let w = World.self

    func state(_ spec: Spec) -> (ThreadState, Directory) {
        (ThreadState.fold(spec.history.filter { $0.event.stream == "thread-t1" })!, spec.directory)
    }

    /// The thread with message 1, then a new member of the circle, then message 2.
    func lateJoin(shareHistory: Bool) -> Spec {
        var events = w.directory
        if shareHistory {
            events[10] = .structureCreated(
                StructureCreated(id: w.circle, name: "Acme circle", party: w.acme, shareHistory: true))
        }
        return Spec.given(
            events + w.opened + [
                .structureMemberAdded(StructureMemberAdded(structure: w.circle, user: w.subcontractor)),
                w.post(2, by: w.handler, "After the join"),
            ])
    }

    @Test func aMemberWhoJoinedLateSeesOnlyLaterMessages() {
        let (thread, directory) = state(lateJoin(shareHistory: false))
        let joined = directory.structures[w.circle]!.members[w.subcontractor]!
        #expect(
            Access.visibility(of: thread, for: w.subcontractor, in: directory) == .from(position: joined))
        #expect(
            Access.visibleMessages(of: thread, for: w.subcontractor, in: directory).map(\.number) == [2])
        #expect(Access.canRead(w.subcontractor, thread, directory))
        #expect(
            !Access.canRead(w.subcontractor, thread, directory, atPosition: thread.messages[0].position))
        #expect(
            Access.canRead(w.subcontractor, thread, directory, atPosition: thread.messages[1].position))
        // The original member and the handlers see everything.
        #expect(
            Access.visibleMessages(of: thread, for: w.client, in: directory).map(\.number) == [1, 2])
        #expect(
            Access.visibleMessages(of: thread, for: w.handler, in: directory).map(\.number) == [1, 2])
    }

    @Test func aStructureThatSharesHistoryShowsEverything() {
        let (thread, directory) = state(lateJoin(shareHistory: true))
        #expect(Access.visibility(of: thread, for: w.subcontractor, in: directory) == .everything)
        #expect(
            Access.visibleMessages(of: thread, for: w.subcontractor, in: directory).map(\.number) == [
                1, 2,
            ])
    }

    @Test func aRemovedMemberNoLongerSeesTheThread() {
        let spec = lateJoin(shareHistory: false)
            .when(.removeStructureMember(structure: w.circle, user: w.subcontractor), by: .admin)
            .then([
                .structureMemberRemoved(StructureMemberRemoved(structure: w.circle, user: w.subcontractor))
            ])
        let (thread, directory) = state(spec)
        #expect(!Access.canRead(w.subcontractor, thread, directory))
    }

    @Test func canWriteFollowsTheBlockedFlag() {
        let (thread, directory) = state(
            Spec.given(w.directory + w.opened + [.threadBlocked(ThreadBlocked(thread: w.thread))]))
        #expect(!Access.canWrite(w.client, thread, directory))
        #expect(Access.canWrite(w.handler, thread, directory))
        #expect(!Access.canWrite(w.subcontractor, thread, directory))
    }

    @Test func contactsAreEveryoneWhoCanSeeTheThread() {
        let (thread, directory) = state(lateJoin(shareHistory: false))
        let contacts = Access.contacts(of: thread, in: directory)
        #expect(contacts.map(\.user) == [w.client, w.handler, w.handler2, w.subcontractor])
        #expect(contacts.map(\.isInternal) == [false, true, true, false])
        #expect(contacts.first?.partyName == "Acme Supplies")
    }

    func display(
        _ mode: DisplayPolicy.Mode, text: String? = nil, reader: UserID, author: UserID = World.handler
    )
        -> AuthorDisplay
    {
        let (thread, directory) = state(
            Spec.given(
                w.directory + [
                    .settingsChanged(SettingsPatch(displayPolicy: DisplayPolicy(mode: mode, text: text)))
                ]
                    + w.opened))
        return Access.authorDisplay(author: author, reader: reader, thread: thread, in: directory)
    }

    @Test func theDisplayPolicyHidesInternalAuthorsFromOutsideReaders() {
        #expect(display(.none, reader: w.client) == AuthorDisplay(id: nil, name: nil))
        #expect(
            display(.fullName, reader: w.client) == AuthorDisplay(id: w.handler, name: "Hanna Handler"))
        #expect(
            display(.custom, text: "Customer service", reader: w.client)
                == AuthorDisplay(id: nil, name: "Customer service"))
        // Without a structure, the workgroup is the author's party.
        #expect(display(.workgroup, reader: w.client) == AuthorDisplay(id: nil, name: "Operator"))
        // Internal readers and authors from outside are shown as they are.
        #expect(
            display(.none, reader: w.handler2) == AuthorDisplay(id: w.handler, name: "Hanna Handler"))
        #expect(
            display(.none, reader: w.handler, author: w.client)
                == AuthorDisplay(id: w.client, name: "Clara Client"))
    }

    @Test func theWorkgroupIsTheAuthorsStructure() {
        let spec = Spec.given(
            w.directory + [
                .structureCreated(
                    StructureCreated(id: "desk", name: "Service desk", party: w.op, shareHistory: true)),
                .structureMemberAdded(StructureMemberAdded(structure: "desk", user: w.handler)),
            ] + w.opened)
        let (thread, directory) = state(spec)
        #expect(
            Access.authorDisplay(author: w.handler, reader: w.client, thread: thread, in: directory)
                == AuthorDisplay(id: nil, name: "Service desk"))
    }

    @Test func aPartyCanHaveItsOwnDisplayPolicy() {
        let patch = SettingsPatch(
            displayPolicy: DisplayPolicy(mode: .fullName),
            partyDisplayPolicies: [w.acme: DisplayPolicy(mode: .custom, text: "Your advisor")])
        let spec = Spec.given(
            w.directory + [
                .settingsChanged(patch),
                .structureMemberAdded(StructureMemberAdded(structure: w.circle, user: w.subcontractor)),
            ] + w.opened)
        let (thread, directory) = state(spec)
        #expect(
            Access.authorDisplay(author: w.handler, reader: w.client, thread: thread, in: directory)
                == AuthorDisplay(id: nil, name: "Your advisor"))
        #expect(
            Access.authorDisplay(
                author: w.handler, reader: w.subcontractor, thread: thread, in: directory)
                == AuthorDisplay(id: w.handler, name: "Hanna Handler"))
    }
}

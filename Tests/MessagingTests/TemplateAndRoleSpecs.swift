import Messaging
import Testing

@Suite struct TemplateSpecs {
    let w = World.self

    @Test func supervisorsAndTheAdministratorSetAndRemoveTemplatesOthersMayNot() {
        let spec = Spec.given(w.directory)
        let set = Command.setMessageTemplate(name: "thanks", text: "Thank you.")
        let after = spec.when(set, by: .user(w.supervisor))
            .then([.settingsChanged(SettingsPatch(messageTemplates: ["thanks": "Thank you."]))])
        // The set grows from the loaded settings stream; the same text again writes nothing.
        let more = after.when(.setMessageTemplate(name: "delay", text: "Two days."), by: .admin)
            .then([.settingsChanged(SettingsPatch(messageTemplates: ["thanks": "Thank you.", "delay": "Two days."]))])
        more.when(.setMessageTemplate(name: "delay", text: "Two days."), by: .admin).then([])
        more.when(.setMessageTemplate(name: "thanks", text: nil), by: .user(w.supervisor))
            .then([.settingsChanged(SettingsPatch(messageTemplates: ["delay": "Two days."]))])
        more.when(.setMessageTemplate(name: "never", text: nil), by: .admin).thenRefused(.templateNotFound("never"))
        let refusal = DomainError.notAllowed("only supervisors and the administrator manage message templates")
        for actor in [Actor.user(w.handler), .user(w.client), .service("svc")] {
            more.when(set, by: actor).thenRefused(refusal)
        }
        spec.when(.setMessageTemplate(name: " ", text: "x"), by: .admin).thenRefused(
            .invalidSetting(field: "messageTemplates", reason: "a template name has 1 to 100 characters"))
    }

    @Test func aMessageNamesAKnownTemplateAndAWellFormedConcerning() {
        let spec = Spec.given(
            w.directory + w.opened + [.settingsChanged(SettingsPatch(messageTemplates: ["thanks": "Thank you."]))])
        let concerning = Concerning(kind: .person, name: "Maria Rossi", ref: "EMP-1")
        spec.when(
            .postMessage(
                thread: w.thread, message: NewMessage(text: "Thank you.", concerning: concerning, template: "thanks")),
            by: .user(w.client)
        ).then([
            .messagePosted(
                MessagePosted(
                    thread: w.thread, number: 2, author: w.client, text: "Thank you.", concerning: concerning,
                    template: "thanks"))
        ])
        spec.when(
            .postMessage(thread: w.thread, message: NewMessage(text: "x", template: "never")), by: .user(w.client)
        )
        .thenRefused(.unknownTemplate("never"))
        for bad in [Concerning(kind: .company, name: " "), Concerning(kind: .company, name: "Acme", ref: "")] {
            let outcome = spec.when(
                .postMessage(thread: w.thread, message: NewMessage(text: "x", concerning: bad)), by: .user(w.client))
            guard case .failure(.invalidConcerning) = outcome.result else {
                Issue.record("\(bad): \(outcome.result)")
                continue
            }
        }
    }
}

@Suite struct ThreadRoleSpecs {
    let w = World.self

    @Test func anInternalOpenerAddsKnownRolesWhoseHoldersHandleTheThread() {
        let open = OpenThread(
            subjectKind: "request", subjectRef: "R1", title: "Check", roles: ["supervisor", "supervisor"])
        let after = Spec.given(w.directory).when(.openThread(open), by: .user(w.handler), newID: "t9")
            .then([
                .threadOpened(
                    ThreadOpened(
                        thread: "t9", subject: Subject(kind: "request", ref: "R1"), title: "Check", category: nil,
                        priority: .normal, type: .message, importance: .normal, openedBy: w.handler,
                        participants: [w.handler], structures: [], roles: ["supervisor"]))
            ])
        let thread = ThreadState.fold(after.history.filter { $0.event.stream == StreamName.thread("t9") })!
        #expect(Access.isHandler(w.supervisor, of: thread, in: after.directory))
        #expect(Access.isHandler(w.handler2, of: thread, in: after.directory))
        #expect(!Access.isHandler(w.payroll, of: thread, in: after.directory))
        #expect(!Access.canRead(w.client2, thread, after.directory))
    }

    @Test func outsideOpenersAndUnknownRolesAreRefusedWhateverTheSubject() {
        let spec = Spec.given(w.directory)
        spec.when(
            .openThread(OpenThread(subjectKind: "request", subjectRef: "R1", title: "T", roles: ["supervisor"])),
            by: .user(w.client)
        ).thenRefused(.rolesNotAllowed)
        // Checked before the subject: an undeclared contract answers the same.
        spec.when(
            .openThread(OpenThread(subjectKind: "contract", subjectRef: "C-9", title: "T", roles: ["supervisor"])),
            by: .user(w.client)
        ).thenRefused(.rolesNotAllowed)
        spec.when(
            .openThread(OpenThread(subjectKind: "request", subjectRef: "R1", title: "T", roles: ["nobody"])),
            by: .user(w.handler)
        ).thenRefused(.unknownRole("nobody"))
    }
}

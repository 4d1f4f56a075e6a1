import Messaging

/// One sample of every event type. The codec tests compare this list with `EventType.allCases`, so a
/// new type without a sample (and therefore without a checked schema) fails them.
enum EventSamples {
    static let hash = String(repeating: "0f", count: 32)
    static let subject = Subject(kind: "contract", ref: "C-2024-0042")

    static let all: [Event] = [
        .partyCreated(PartyCreated(id: "acme", name: "Acme Supplies", kind: .external)),
        .userCreated(
            UserCreated(
                id: "c1", name: "Clara Client", email: "clara@acme.example", party: "acme",
                roles: ["client"],
                tokenHash: hash)),
        .serviceTokenCreated(ServiceTokenCreated(id: "svc-archive", name: "Archive", tokenHash: hash)),
        .structureCreated(
            StructureCreated(id: "acme-circle", name: "Acme circle", party: "acme", shareHistory: false)),
        .structureMemberAdded(StructureMemberAdded(structure: "acme-circle", user: "s1")),
        .structureMemberRemoved(StructureMemberRemoved(structure: "acme-circle", user: "s1")),
        .categoryCreated(
            CategoryCreated(
                id: "payroll", name: "Payroll", handlerRoles: ["payroll"], structures: ["acme-circle"],
                defaultRecipients: ["sup"])),
        .settingsChanged(
            SettingsPatch(
                displayPolicy: DisplayPolicy(mode: .custom, text: "Customer service"),
                partyDisplayPolicies: ["acme": DisplayPolicy(mode: .workgroup)],
                digest: DigestPatch(
                    time: "07:30", subjectTemplate: "New messages in Portal {{subject.ref}}",
                    bodyTemplate: "{{unread}} new in Portal about {{subject.ref}}: {{link}}", enabled: true,
                    audience: ["outside"]),
                retentionDays: 1461,
                notifications: [
                    NotificationRule(
                        on: .messagePosted, to: [.otherSide], cc: [.handler], bcc: ["archive@operator.example"],
                        subjectTemplate: "New message on {{subject.ref}}", bodyTemplate: "Please log in.")
                ],
                notificationsEnabled: false,
                allowReopen: true, messageSizeLimit: 65536, attachmentsAllowed: false,
                defaultHandlerRoles: ["handler"],
                messageTemplates: ["received": "Thank you, we received your message and will answer within two working days."])),
        .threadOpened(
            ThreadOpened(
                thread: "t1", subject: subject, title: "Contract chat", category: "payroll",
                priority: .urgent,
                type: .taskOfTheDay, importance: .high, openedBy: "c1", participants: ["c1", "sup"],
                structures: ["acme-circle"], roles: ["payroll-lead"])),
        .subjectClaimed(SubjectClaimed(subject: subject, thread: "t1")),
        .ticketNumbered(TicketNumbered(number: 8, thread: "t8")),
        .messagePosted(
            MessagePosted(
                thread: "t1", number: 1, author: "c1", kind: .task, format: .markdown,
                text: "Please *check* this.",
                attachments: [
                    Attachment(name: "scan.pdf", contentType: "application/pdf", size: 12345, sha256: hash)
                ], concerning: Concerning(kind: .person, name: "Maria Rossi", ref: "EMP-0042"), template: "received")),
        .readMarkerMoved(ReadMarkerMoved(thread: "t1", user: "c1", upTo: 1)),
        .handlerAssigned(HandlerAssigned(thread: "t1", handler: "h1")),
        .threadStatusChanged(
            ThreadStatusChanged(thread: "t1", from: .waiting, to: .open, reason: .answeredByOutsideParty)),
        .threadBlocked(ThreadBlocked(thread: "t1")),
        .threadUnblocked(ThreadUnblocked(thread: "t1")),
        .categoryRetentionSet(CategoryRetentionSet(category: "payroll", days: 3650)),
        .legalHoldPlaced(LegalHoldPlaced(thread: "t1", reason: "Litigation 2026-17")),
        .legalHoldReleased(LegalHoldReleased(thread: "t1")),
        .threadPurged(
            ThreadPurged(
                thread: "t1", subject: subject, category: "payroll", openedBy: "c1", participants: ["c1", "sup"],
                structures: ["acme-circle"], reason: "retention: 1461 days after last activity",
                attachments: ["2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"],
                roles: ["payroll-lead"])),
        .digestScheduled(DigestScheduled(user: "c1", subject: subject, day: "2026-11-23", threads: ["t1"], unread: 2)),
        .digestSent(
            DigestSent(user: "c1", subject: subject, day: "2026-11-23", messageID: "<threadlog.42.0@threadlog.example>")),
        .userTokenReplaced(UserTokenReplaced(id: "c1", tokenHash: String(repeating: "1e", count: 32))),
        .serviceTokenRevoked(ServiceTokenRevoked(id: "svc-archive")),
        .blobUploaded(
            BlobUploaded(
                sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", size: 5, uploader: "c1")),
        .subjectDeclared(SubjectDeclared(subject: subject, parties: ["acme"], structures: ["acme-circle"])),
        .threadAttributesChanged(
            ThreadAttributesChanged(
                thread: "t1", type: .task, priority: .urgent, importance: .high, category: "payroll",
                participantsAdded: ["sup"], structuresAdded: [])),
        .userUpdated(
            UserUpdated(id: "c1", name: "Clara Client-Rossi", email: "clara.client@acme.example", roles: ["client", "manager"])),
        .userDeactivated(UserDeactivated(id: "c2")),
        .notePosted(NotePosted(thread: "t1", number: 1, author: "h1", text: "Customer called; waiting for the signed copy.")),
        .messageKindChanged(MessageKindChanged(thread: "t1", number: 1, kind: .task)),
    ]

    /// What each golden file in `Schemas/examples` must decode to, by file name without `.json`.
    /// Entries are only ever added, like the files.
    static var golden: [String: Event] {
        var expected: [String: Event] = [:]
        for event in all {
            expected["\(event.type.rawValue).v\(event.type.latestSchemaVersion)"] = event
        }
        // The v2 settings golden file predates the digest's body, switch and audience, and the switch of
        // immediate mail; the v1 file also predates templates: they decode to the patch without them.
        if case .settingsChanged(var patch)? = expected["settings.changed.v3"] {
            patch.digest = DigestPatch(time: "07:30", subjectTemplate: "New messages in Portal {{subject.ref}}")
            patch.notificationsEnabled = nil
            expected["settings.changed.v2"] = .settingsChanged(patch)
            patch.messageTemplates = nil
            expected["settings.changed.v1"] = .settingsChanged(patch)
        }
        // v2 of an opening added the extra handler roles: the v1 golden file has none.
        if case .threadOpened(var opened)? = expected["thread.opened.v2"] {
            opened.roles = nil
            expected["thread.opened.v1"] = .threadOpened(opened)
        }
        // v2 of a purge added the attachments' digests: the v1 golden file has none, and decodes to [].
        if case .threadPurged(var purged)? = expected["thread.purged.v2"] {
            purged.attachments = []
            purged.roles = nil
            expected["thread.purged.v1"] = .threadPurged(purged)
        }
        // v2 of a status change only added a reason: v1 payloads decode unchanged.
        expected["thread.status_changed.v1"] = expected["thread.status_changed.v2"]
        // v3 added who a message concerns and its template: the v2 golden file has neither.
        if case .messagePosted(var posted)? = expected["message.posted.v3"] {
            posted.concerning = nil
            posted.template = nil
            expected["message.posted.v2"] = .messagePosted(posted)
        }
        expected["message.posted.v1"] = .messagePosted(
            MessagePosted(
                thread: "t1", number: 1, author: "c1", kind: .message, format: .plain,
                text: "Hello, is the invoice paid?",
                attachments: []))
        return expected
    }
}

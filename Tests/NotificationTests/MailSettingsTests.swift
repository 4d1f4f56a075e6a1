import Engine
import EventLog
import Foundation
import Messaging
import SMTP
import TestSupport
import Testing

extension NotificationWorld {
    /// A subcontractor `s1` (party `subco`) in acme's structure `circle` (a contract opened with
    /// `structures: ["circle"]` is shared with it), and `u1` of an unrelated outside party.
    func subcontracting() async throws {
        try await admin(.createParty(id: "subco", name: "Sub & Co", kind: .external))
        try await admin(.createParty(id: "other", name: "Other Ltd", kind: .external))
        try await admin(
            .createUser(
                id: "s1", name: "Sam Sub", email: "sam@subco.example", party: "subco", roles: [],
                tokenHash: Self.hash))
        try await admin(
            .createUser(
                id: "u1", name: "Una Other", email: "una@other.example", party: "other", roles: [],
                tokenHash: Self.hash))
        try await admin(.createStructure(id: "circle", name: "Acme circle", party: "acme", shareHistory: false))
        try await admin(.addStructureMember(structure: "circle", user: "s1"))
    }
}

@Suite("Mail settings: switches, digest body and audience, subcontractors", .serialized)
struct MailSettingsTests {
    static let day = "2026-11-23"

    @Test("immediate mail switched off: a posted message mails nobody at once, the digest still carries it")
    func immediateMailOff() async throws {
        try await withSMTPServer { server in
            try await NotificationWorld.populated(mailingTo: server) { world, configuration, projector in
                try await world.admin(.changeSettings(SettingsPatch(notificationsEnabled: false)))
                try await world.conversation()
                try projector.catchUp()
                let sender = try world.sender(configuration)
                try await world.drain(sender)
                let none = try NotificationWorld.summary(server)
                #expect(none.isEmpty, "\(none)")
                #expect(try world.outbox.entries().isEmpty)

                let report = try await world.digests().run(day: Self.day, dryRun: false)
                #expect(describe(report.scheduled) == NotificationWorld.dueDigests && !report.switchedOff)
                try projector.catchUp()
                try await world.drain(sender)
                #expect(try digestMails(server) == expectedDigestMails)
                let clara = try #require(
                    try server.messages().parsed().first { $0.toAddresses == ["clara@acme.example"] })
                #expect(clara.body.contains("you have 1 unread message about contract C-1:\n- Invoice C-1: "))

                // Switched on again: the rules apply to what happens next (an empty rule list: the defaults).
                try await world.admin(.changeSettings(SettingsPatch(notificationsEnabled: true)))
                let thread = try #require(report.scheduled.first?.threads.first)
                try await world.user("h2", .postMessage(thread: thread, message: NewMessage(text: "Done.")))
                try projector.catchUp()
                try await world.drain(sender)
                let immediate = try NotificationWorld.summary(server).filter { $0.contains("New message on") }
                #expect(
                    immediate == [
                        "clara@acme.example | New message on contract C-1: Invoice C-1",
                        "carl@acme.example | New message on contract C-1: Invoice C-1",
                    ])
            }
        }
    }

    @Test("digests switched off: no digest is decided or mailed, immediate mail still goes out")
    func digestsOff() async throws {
        try await withSMTPServer { server in
            try await NotificationWorld.populated(mailingTo: server) { world, configuration, projector in
                try await world.admin(.changeSettings(SettingsPatch(digest: DigestPatch(enabled: false))))
                // Only the switch changed: the time and subject are kept.
                let digest = try world.handler.currentDirectory().settings.digest
                #expect(digest.time == "07:00" && digest.subjectTemplate == DigestSettings.defaultSubjectTemplate)
                try await world.conversation()
                let report = try await world.digests().run(day: Self.day, dryRun: false)
                #expect(report.due.isEmpty && report.scheduled.isEmpty && report.switchedOff)
                // Asked directly, the decider decides nothing either.
                let outcome = try await world.admin(
                    .scheduleDigest(
                        DigestScheduled(
                            user: "h1", subject: Subject(kind: "contract", ref: "C-1"), day: Self.day,
                            threads: [], unread: 2)))
                #expect(outcome.events.isEmpty)
                try projector.catchUp()
                try await world.drain(try world.sender(configuration))
                #expect(try world.events(.digestScheduled).isEmpty)
                #expect(try world.events(.digestSent).isEmpty)
                #expect(try digestMails(server).isEmpty)
                let summary = try NotificationWorld.summary(server)
                #expect(summary.contains("clara@acme.example | New message on contract C-1: Invoice C-1"), "\(summary)")
                #expect(summary.contains("hana@ops.example | New message on contract C-1: Invoice C-1"), "\(summary)")
            }
        }
    }

    @Test("a subcontractor sharing the client's contract through a structure hears of its messages; an outsider not")
    func subcontractorIsMailed() async throws {
        try await withSMTPServer { server in
            try await NotificationWorld.populated(mailingTo: server) { world, configuration, projector in
                try await world.subcontracting()
                let thread = try await world.openThread(structures: ["circle"])
                try await world.user("c2", .postMessage(thread: thread, message: NewMessage(text: "Any news?")))
                try projector.catchUp()
                let sender = try world.sender(configuration)
                try await world.drain(sender)
                var summary = try NotificationWorld.summary(server)
                let posted = summary.filter { $0.contains("New message on") }
                // c1's first message and c2's: the subcontractor hears of both, the client's colleague of
                // neither (same side), the outsider of nothing.
                #expect(posted.filter { $0.hasPrefix("sam@subco.example") }.count == 2, "\(summary)")
                #expect(!summary.contains { $0.contains("una@other.example") }, "\(summary)")
                #expect(!posted.contains { $0.hasPrefix("carl@acme.example") }, "\(summary)")
                let sam = try #require(try server.messages().parsed().first { $0.toAddresses == ["sam@subco.example"] })
                #expect(sam.body.hasPrefix("Hello Sam Sub,\n\nthere is a new message from Clara Client"))

                // The subcontractor's own message goes to the client's side and the handlers, not back.
                try await world.user("s1", .postMessage(thread: thread, message: NewMessage(text: "On it.")))
                try projector.catchUp()
                try await world.drain(sender)
                summary = try NotificationWorld.summary(server)
                let answer = summary.dropFirst(posted.count + 3).map { String($0.prefix { $0 != " " }) }
                #expect(
                    Set(answer) == ["clara@acme.example", "carl@acme.example", "hana@ops.example", "hugo@ops.example"],
                    "\(summary)")

                // Removed from the structure, they may no longer read the thread: no mail.
                try await world.admin(.removeStructureMember(structure: "circle", user: "s1"))
                let before = try server.messages().count
                try await world.user("c1", .postMessage(thread: thread, message: NewMessage(text: "Still there?")))
                try projector.catchUp()
                try await world.drain(sender)
                let after = try NotificationWorld.summary(server).dropFirst(before)
                #expect(!after.isEmpty)
                #expect(!after.contains { $0.contains("sam@subco.example") }, "\(after)")
            }
        }
    }

    @Test("the subcontractor's digest counts the client's messages; the outsider gets none")
    func subcontractorDigest() async throws {
        let world = try NotificationWorld()
        defer { world.close() }
        try await world.populate()
        try await world.subcontracting()
        let thread = try await world.openThread(structures: ["circle"])
        try await world.user("h1", .postMessage(thread: thread, message: NewMessage(text: "Paid.")))
        let due = describe(try await world.digests().run(day: Self.day, dryRun: true).due)
        // s1: the client's message and the handler's; c2: the handler's only (c1 is their own side).
        #expect(due.contains("s1 C-1 2"), "\(due)")
        #expect(due.contains("c2 C-1 1"), "\(due)")
        #expect(!due.contains { $0.hasPrefix("u1 ") }, "\(due)")
    }

    @Test("the digest's body is a template of the settings, and its audience may be one side only")
    func digestBodyAndAudience() async throws {
        try await withSMTPServer { server in
            let world = try NotificationWorld()
            defer { world.close() }
            let configuration = try world.configuration(server)
            let projector = world.projector(configuration)
            try await world.populate()
            try await world.admin(
                .changeSettings(
                    SettingsPatch(
                        digest: DigestPatch(
                            subjectTemplate: "Supplier portal: {{subject.ref}}",
                            bodyTemplate: """
                                Dear {{recipient.name}}, {{unread}} new on {{subject.kind}} {{subject.ref}} \
                                ({{day}}):{{#threads}} {{number}} {{title}} <{{link}}>{{/threads}}. Portal: {{link}}
                                """,
                            audience: ["outside"]))))
            try projector.catchUp()
            try await world.conversation()
            let report = try await world.digests().run(day: Self.day, dryRun: false)
            // Only the outside side: c1 and c2 on C-1; the handlers get none.
            #expect(describe(report.scheduled) == ["c1 C-1 1", "c2 C-1 1"])
            try projector.catchUp()
            try await world.drain(try world.sender(configuration))
            let mails = try server.messages().parsed().filter { $0.subject.hasPrefix("Supplier portal") }
            #expect(mails.flatMap(\.toAddresses).sorted() == ["carl@acme.example", "clara@acme.example"])
            let clara = try #require(mails.first { $0.toAddresses == ["clara@acme.example"] })
            let thread = try #require(report.scheduled.first?.threads.first)
            #expect(clara.subject == "Supplier portal: C-1")
            #expect(
                clara.body.hasPrefix(
                    "Dear Clara Client, 1 new on contract C-1 (2026-11-23): C-1 Invoice C-1 <https://threads.example/threads/\(thread.rawValue)>. Portal: https://threads.example/"
                ), "\(clara.body)")

            // Internal only, the next day: the handlers' digests, not the clients'.
            try await world.admin(.changeSettings(SettingsPatch(digest: DigestPatch(audience: ["internal"]))))
            let next = try await world.digests().run(day: "2026-11-24", dryRun: true)
            #expect(describe(next.due) == ["h1 C-1 2", "h2 C-1 2", "h2 C-2 1"])
        }
    }

    @Test("the default digest body is today's text")
    func defaultDigestBody() {
        #expect(DigestSettings().bodyTemplate == DigestSettings.defaultBodyTemplate)
        #expect(DigestSettings.defaultBodyTemplate.contains("Please log in to Threadlog to read them."))
        #expect(DigestSettings().audience == [.internal, .outside] && DigestSettings().enabled)
    }
}

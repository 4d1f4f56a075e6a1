import TestSupport
import Engine
import EventLog
import Foundation
import Messaging
import SMTP
import Testing

@Suite("Immediate notifications", .serialized)
struct ImmediateNotificationTests {
    @Test("default rules: acknowledgement, handlers told of a new thread, the other side told of each message")
    func defaultRules() async throws {
        try await withSMTPServer { server in
            try await NotificationWorld.populated(mailingTo: server) { world, configuration, projector in
                let thread = try await world.openThread()
                try await world.user("h1", .postMessage(thread: thread, message: NewMessage(text: "Yes, on Monday.")))
                try await world.user("c2", .postMessage(thread: thread, message: NewMessage(text: "Thanks!")))
                try projector.catchUp()
                try await world.drain(try world.sender(configuration))

                let mails = try server.messages()
                let parsed = try mails.parsed()
                let summary = parsed.map { "\($0.toAddresses.joined(separator: ",")) | \($0.subject)" }
                #expect(
                    summary == [
                        "clara@acme.example | We received your request C-1: Invoice C-1",
                        "hana@ops.example | New thread C-1: Invoice C-1",
                        "hugo@ops.example | New thread C-1: Invoice C-1",
                        "clara@acme.example | New message on contract C-1: Invoice C-1",
                        "carl@acme.example | New message on contract C-1: Invoice C-1",
                        "hana@ops.example | New message on contract C-1: Invoice C-1",
                        "hugo@ops.example | New message on contract C-1: Invoice C-1",
                    ], "\(summary)")
                // The default templates greet each reader by name, so each gets a mail of their own; the
                // opening announced the first message already: no separate mail for it.
                #expect(parsed.count == 7)
                for mail in parsed {
                    #expect(mail.defects.isEmpty, "\(mail.defects)")
                    #expect(mail.from == [.init(name: "Threadlog", address: "noreply@threadlog.example")])
                    #expect(
                        mail.messageID?.hasPrefix("<threadlog.") == true
                            && mail.messageID?.hasSuffix("@threadlog.example>") == true)
                    #expect(mail.body.contains("https://threads.example/threads/\(thread.rawValue)"))
                    #expect(mail.headers.contains { $0 == ["X-Threadlog-Thread", thread.rawValue] })
                }
                #expect(
                    parsed[0].body.hasPrefix(
                        "Hello Clara Client,\n\nyour request \"Invoice C-1\" about contract C-1 has been received."))
                #expect(
                    parsed[1].body.contains("a new thread was opened by Clara Client on contract C-1: \"Invoice C-1\"."))
                // The outside readers see the internal author as the display policy shows them (workgroup:
                // the party's name); the internal side sees the outside author as is.
                #expect(parsed[3].body.contains("there is a new message from Operations in \"Invoice C-1\""))
                #expect(parsed[5].body.hasPrefix("Hello Hana Handler,\n\nthere is a new message from Carl Customer"))
                #expect(Set(parsed.compactMap(\.messageID)).count == 7)
                let entries = try world.outbox.entries()
                #expect(entries.allSatisfy { $0.status == .delivered && $0.attempts == 1 })
                #expect(entries.map(\.messageID) == parsed.compactMap(\.messageID))
            }
        }
    }

    @Test("the opening's acknowledgement goes to an outside opener only: staff who open a chat get none")
    func acknowledgementOnlyToOutsideOpeners() async throws {
        try await withSMTPServer { server in
            try await NotificationWorld.populated(mailingTo: server) { world, configuration, projector in
                try await world.admin(
                    .declareSubject(Subject(kind: "contract", ref: "C-7"), parties: ["acme"], structures: []))
                _ = try await world.user(
                    "h1",
                    .openThread(
                        OpenThread(
                            subjectKind: "contract", subjectRef: "C-7", title: "Renewal C-7",
                            body: NewMessage(text: "Your contract renews next month."))))
                try projector.catchUp()
                try await world.drain(try world.sender(configuration))
                let summary = try NotificationWorld.summary(server)
                #expect(!summary.contains { $0.contains("We received your request") }, "\(summary)")
                // The opener is the acting user: told nothing; the other handler is told of the new thread.
                #expect(!summary.contains { $0.hasPrefix("hana@ops.example") }, "\(summary)")
                #expect(summary.contains("hugo@ops.example | New thread C-7: Renewal C-7"), "\(summary)")
            }
        }
    }

    @Test("the holders of a role added at opening are told of the new thread as its handlers")
    func rolesAddedAtOpeningAreMailed() async throws {
        try await withSMTPServer { server in
            try await NotificationWorld.populated(mailingTo: server) { world, configuration, projector in
                try await world.admin(
                    .createUser(
                        id: "s1", name: "Sara Supervisor", email: "sara@ops.example", party: "ops", roles: ["supervisor"],
                        tokenHash: NotificationWorld.hash))
                for (ref, roles) in [("R-1", [Role]()), ("R-2", [Role.supervisor])] {
                    _ = try await world.user(
                        "h1",
                        .openThread(
                            OpenThread(
                                subjectKind: "request", subjectRef: ref, title: "Check \(ref)", roles: roles,
                                body: NewMessage(text: "Please check."))))
                }
                try projector.catchUp()
                try await world.drain(try world.sender(configuration))
                let summary = try server.messages().parsed().map {
                    "\($0.toAddresses.joined(separator: ",")) | \($0.subject)"
                }
                #expect(summary.contains("hugo@ops.example | New thread R-1: Check R-1"), "\(summary)")
                #expect(summary.contains("hugo@ops.example | New thread R-2: Check R-2"), "\(summary)")
                #expect(summary.contains("sara@ops.example | New thread R-2: Check R-2"), "\(summary)")
                #expect(!summary.contains { $0.hasPrefix("sara@ops.example") && $0.contains("R-1") }, "\(summary)")
            }
        }
    }

    @Test("configured rules choose the trigger, the recipients in To, Cc and Bcc, and the templates")
    func configuredRules() async throws {
        try await withSMTPServer { server in
            try await NotificationWorld.populated(mailingTo: server) { world, configuration, projector in
                try await world.admin(
                    .changeSettings(
                        SettingsPatch(
                            displayPolicy: DisplayPolicy(mode: .custom, text: "Customer service"),
                            notifications: [
                                NotificationRule(
                                    on: .handlerAssigned, to: [.handler], cc: [.otherSide], bcc: ["archive@ops.example"],
                                    subjectTemplate: "[{{subject.ref}}] {{handler.name}} takes \"{{thread.title}}\"",
                                    bodyTemplate:
                                        "{{author.name}} assigned {{thread.number}} to {{handler.name}} <{{thread.link}}> & more"
                                ),
                                NotificationRule(
                                    on: .statusChanged, to: [.author], cc: [.handler],
                                    subjectTemplate: "{{subject.ref}}: {{status.from}} → {{status.to}}",
                                    bodyTemplate: "{{thread.title}} is {{thread.status}} now."),
                                NotificationRule(
                                    on: .messagePosted, to: [.participants],
                                    subjectTemplate: "Message {{message.number}} on {{subject.ref}}",
                                    bodyTemplate:
                                        "{{#author.shown}}{{author.name}}{{/author.shown}} wrote: {{message.text}}"),
                            ])))
                let thread = try await world.openThread(body: nil)
                try await world.user("h1", .assignHandler(thread: thread, handler: "h2"))
                try await world.user(
                    "h2", .postMessage(thread: thread, message: NewMessage(text: "Paid on Monday & done.")))
                try await world.user("c1", .changeStatus(thread: thread, to: .resolved))
                try projector.catchUp()
                try await world.drain(try world.sender(configuration))

                let mails = try server.messages()
                let parsed = try mails.parsed()
                // No rule for threadOpened: opening mails nobody. The assignment: one rendering for the
                // internal handler, another for the outside side in Cc (they see the custom mention).
                // Taking the new thread opened it: that status change mails its author (h1), Cc the handler.
                #expect(parsed.count == 6, "\(parsed.map(\.subject))")
                let opening = parsed.filter { $0.subject == "C-1: new → open" }
                #expect(opening.map(\.toAddresses) == [["hana@ops.example"]])
                let assigned = parsed.filter { $0.subject.hasPrefix("[C-1]") }
                #expect(assigned.count == 2)
                let toHandler = try #require(assigned.first { $0.toAddresses == ["hugo@ops.example"] })
                #expect(toHandler.subject == "[C-1] Hugo Helper takes \"Invoice C-1\"")
                #expect(
                    toHandler.body
                        == "Hana Handler assigned C-1 to Hugo Helper <https://threads.example/threads/\(thread.rawValue)> & more"
                )
                let toOutside = try #require(assigned.first { $0.toAddresses != ["hugo@ops.example"] })
                #expect(toOutside.toAddresses == ["clara@acme.example", "carl@acme.example"])
                // The handler is internal: the outside side sees the mention, never the name.
                #expect(toOutside.body.hasPrefix("Customer service assigned C-1 to Customer service"))
                #expect(!toOutside.body.contains("Hugo") && !toOutside.subject.contains("Hugo"))
                // Bcc reaches the archive in the envelope, never in a header.
                let envelopes = zip(mails, parsed).filter { $0.1.subject.hasPrefix("[C-1]") }.map(\.0.envelope)
                #expect(envelopes.allSatisfy { $0.recipients.contains("archive@ops.example") })
                #expect(mails.allSatisfy { !$0.headerNames.contains { $0.lowercased() == "bcc" } })
                let posted = parsed.filter { $0.subject.hasPrefix("Message 1") }
                #expect(
                    posted.map(\.body).sorted() == [
                        "Customer service wrote: Paid on Monday & done.", "Hugo Helper wrote: Paid on Monday & done.",
                    ])
                // The status change: to its author (c1), Cc the assigned handler, in one mail (same rendering).
                let status = try #require(parsed.last)
                #expect(status.subject == "C-1: open → resolved", "\(status.subject)")
                #expect(status.toAddresses == ["clara@acme.example"])
                #expect(status.cc.map(\.address) == ["hugo@ops.example"])
                #expect(status.body == "Invoice C-1 is resolved now.")
            }
        }
    }

    @Test("4xx and a server that is down are retried with backoff; 5xx is recorded as failed with the reason")
    func retriesAndFailures() async throws {
        try await withSMTPServer(["--fail-4xx", "2", "--reject-5xx-rcpt", "clara@acme.example"]) { server in
            let world = try NotificationWorld()
            defer { world.close() }
            let configuration = try world.configuration(server)
            let projector = world.projector(configuration)
            try projector.catchUp()
            try await world.populate()
            _ = try await world.openThread(body: nil)
            try projector.catchUp()
            let sender = try world.sender(configuration)
            try await world.drain(sender)

            let entries = try world.outbox.entries()
            #expect(entries.count == 3)
            let ack = try #require(entries.first { $0.to == ["Clara Client <clara@acme.example>"] })
            #expect(ack.status == .failed)
            #expect(ack.lastError?.hasPrefix("550") == true, "\(ack.lastError ?? "")")
            let notices = entries.filter { $0.id != ack.id }
            #expect(notices.allSatisfy { $0.status == .delivered })
            #expect(notices.map(\.attempts).reduce(0, +) == 4)
            #expect(notices.allSatisfy { $0.lastError?.hasPrefix("452") == true || $0.attempts == 1 })
            // Exactly one copy of each arrived, despite the deferrals.
            #expect(try server.messages().count == 2)
        }
    }

    @Test("derivation is exactly once: a second deriver, or a restart, adds nothing")
    func derivationExactlyOnce() async throws {
        let world = try NotificationWorld()
        defer { world.close() }
        let configuration = try world.configuration(nil)
        try world.projector(configuration).catchUp()
        try await world.populate()
        let thread = try await world.openThread()
        try world.projector(configuration).catchUp()
        let first = try world.outbox.entries()
        #expect(first.count == 3)
        // A fresh projector (a restart) and a second one racing it.
        async let a: UInt64 = world.projector(configuration).catchUp()
        async let b: UInt64 = world.projector(configuration).catchUp()
        _ = try await (a, b)
        #expect(try world.outbox.entries() == first)
        try await world.user("h1", .postMessage(thread: thread, message: NewMessage(text: "Yes.")))
        try world.projector(configuration).catchUp()
        #expect(try world.outbox.entries().count == 5)
        // Without mail configured, everything waits in the outbox.
        #expect(try world.outbox.undelivered().count == 5)
    }

    @Test("retention purging a thread scrubs the mails about it, and unsent ones are not sent")
    func purgeScrubs() async throws {
        let world = try NotificationWorld()
        defer { world.close() }
        let configuration = try world.configuration(nil)
        let projector = world.projector(configuration)
        try projector.catchUp()
        try await world.populate()
        let doomed = try await world.openThread(ref: "C-9")
        _ = try await world.openThread(ref: "C-10")
        try projector.catchUp()
        #expect(try world.outbox.entries().count == 6)
        try await world.admin(.purgeThread(thread: doomed, reason: "retention"))
        try projector.catchUp()
        let entries = try world.outbox.entries()
        let scrubbed = entries.filter { $0.thread == doomed }
        #expect(scrubbed.count == 3)
        #expect(scrubbed.allSatisfy { $0.subject == "(purged)" && $0.body.isEmpty && $0.status == .failed })
        #expect(try world.outbox.undelivered().allSatisfy { $0.thread != doomed && $0.subject.contains("C-10") })
        #expect(try world.outbox.undelivered().count == 3)
    }

    @Test("an outbox created over an existing log does not mail its history")
    func noBackfill() async throws {
        let world = try NotificationWorld()
        defer { world.close() }
        try await world.populate()
        _ = try await world.openThread()
        let configuration = try world.configuration(nil)
        try world.projector(configuration).catchUp()
        #expect(try world.outbox.entries().isEmpty)
    }

    @Test("entries stored as JSON by an earlier version are still read and delivered")
    func jsonEntriesStillRead() async throws {
        try await withSMTPServer { server in
            try await NotificationWorld.populated(mailingTo: server) { world, configuration, projector in
                _ = try await world.openThread()
                try projector.catchUp()
                let derived = try world.outbox.entries()
                #expect(derived.count == 3)
                // Rewrite every row the way the earlier version stored it.
                try await world.views.queuedWrite { txn in
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = .sortedKeys
                    var keys: [[UInt8]] = []
                    try txn.scan("notify.outbox.v1", prefix: []) { key, value in
                        #expect(value.first != UInt8(ascii: "{"))
                        keys.append(Array(key))
                        return true
                    }
                    for (key, entry) in zip(keys, derived) {
                        try txn.put("notify.outbox.v1", key, Array(try encoder.encode(entry)))
                    }
                }
                #expect(try world.outbox.entries() == derived)
                try await world.drain(try world.sender(configuration))
                #expect(try server.messages().count == 3)
                #expect(try world.outbox.entries().allSatisfy { $0.status == .delivered })
            }
        }
    }

    @Test("a thread folded from the events being derived mails as one folded from the log after a restart")
    func incrementalThreadFold() async throws {
        /// The pending mails of one conversation with read markers in between, deriving after every
        /// command, or (`restarting`) with a fresh projector halfway whose thread folds start from the log.
        func mails(restarting: Bool) async throws -> [String] {
            let world = try NotificationWorld()
            defer { world.close() }
            let configuration = try world.configuration(nil)
            var projector = world.projector(configuration)
            try projector.catchUp()
            try await world.populate()
            try await world.admin(
                .changeSettings(
                    SettingsPatch(notifications: [
                        NotificationRule(
                            on: .messagePosted, to: [.participants], cc: [.handler],
                            subjectTemplate: "Message {{message.number}} on {{subject.ref}}",
                            bodyTemplate: "{{author.name}} wrote: {{message.text}} ({{thread.status}})")
                    ])))
            let thread = try await world.openThread()
            for n in 1...4 {
                try await world.user("h1", .postMessage(thread: thread, message: NewMessage(text: "Reply \(n)")))
                try await world.user("c1", .moveReadMarker(thread: thread, upTo: 2 * n))
                if restarting && n == 2 {
                    projector = world.projector(configuration)
                } else if !restarting {
                    try projector.catchUp()
                }
                try await world.user("c2", .postMessage(thread: thread, message: NewMessage(text: "Question \(n)")))
                if !restarting { try projector.catchUp() }
            }
            try projector.catchUp()
            return try world.outbox.undelivered().map { "\($0.id) \($0.to) \($0.cc) \($0.subject): \($0.body)" }.sorted()
        }
        let incremental = try await mails(restarting: false)
        let restarted = try await mails(restarting: true)
        #expect(incremental == restarted)
        #expect(incremental.contains { $0.contains("Reply 4") } && incremental.contains { $0.contains("Question 4") })
        #expect(incremental.count >= 8, "\(incremental.count)")
    }
}

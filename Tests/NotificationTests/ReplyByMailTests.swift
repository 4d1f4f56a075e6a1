import Engine
import EventLog
import Foundation
import Messaging
import SMTP
import TestSupport
import Testing

/// Replies by mail end to end: mails built by Python's `email` package, sent with `smtplib` to the real
/// listener on 127.0.0.1 or piped into a `threadlog mail-in` process, explanations of refusals delivered
/// to aiosmtpd.
@Suite("Replies by mail", .serialized)
struct ReplyByMailTests {
    static let template = "reply+{token}@threads.example"

    /// A populated world with a thread opened by c1 (c2 a participant), and its reply addresses.
    struct Setup {
        let world: NotificationWorld
        let thread: ThreadID
        let addresses: ReplyAddresses

        init() async throws {
            world = try NotificationWorld()
            try world.projector(world.configuration(nil)).catchUp()
            try await world.populate()
            thread = try await world.openThread()
            addresses = try ReplyAddresses(
                template: ReplyByMailTests.template, key: try ReplyAddresses.loadKey(directory: world.data.root))
        }

        func mailIn() -> MailIn {
            MailIn(
                handler: world.handler, addresses: addresses, outbox: world.outbox,
                messageIDDomain: "threadlog.example",
                logger: world.logger)
        }

        func address(_ user: UserID) -> String { addresses.address(thread: thread, user: user) }

        /// The messages of the thread in the log: (author, text).
        func messages() throws -> [(UserID, String)] {
            try world.events(.messagePosted).compactMap { recorded in
                guard case .messagePosted(let e) = recorded.event, e.thread == thread else { return nil }
                return (e.author, e.text)
            }
        }
    }

    static func send(_ spec: [String: Any], port: Int) async throws -> ReplyMailScript.SendResult {
        let json = try JSONSerialization.data(withJSONObject: spec)
        return try await onThread {
            try ReplyMailScript.send(try JSONSerialization.jsonObject(with: json) as! [String: Any], port: port)
        }
    }

    static func build(_ spec: [String: Any]) throws -> Data { try ReplyMailScript.build(spec) }

    /// Runs the listener on a free loopback port for `body`.
    static func withListener<T>(_ mailIn: MailIn, _ body: (Int) async throws -> T) async throws -> T {
        let server = InboundSMTPServer(
            configuration: .init(host: "127.0.0.1", port: 0, maxMessageBytes: 200_000),
            receiver: MailInReceiver(mailIn), logger: .init(label: "test.inbound"))
        let (bound, continuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await server.run(onBound: { continuation.yield($0) }) }
        defer { task.cancel() }
        var ports = bound.makeAsyncIterator()
        let port = try #require(await ports.next())
        return try await body(port)
    }

    static let quotedReply = """
        Yes, paid on Monday.
        See you.

        On Mon, 7 Dec 2026 at 10:00, Threadlog <noreply@threadlog.example> wrote:
        > Hello Clara,
        > there is a new message in "Invoice C-1".

        --\u{20}
        Clara Client
        Acme Supplies
        """

    @Test("every notification carries the recipient's own reply address and a stable Message-ID")
    func outbound() async throws {
        try await withSMTPServer { server in
            let setup = try await Setup()
            defer { setup.world.close() }
            var configuration = try setup.world.configuration(server)
            configuration.replyAddresses = setup.addresses
            let projector = setup.world.projector(configuration)
            try await setup.world.user("h1", .postMessage(thread: setup.thread, message: NewMessage(text: "Paid?")))
            try projector.catchUp()
            try await setup.world.drain(try setup.world.sender(configuration))
            let mails = try server.messages().map { try $0.parsed() }
            let toOthers = mails.filter { $0.subject.hasPrefix("New message") }
            #expect(toOthers.map(\.toAddresses) == [["clara@acme.example"], ["carl@acme.example"]])
            let emails: [String: UserID] = ["clara@acme.example": "c1", "carl@acme.example": "c2"]
            for mail in toOthers {
                let replyTo = try #require(mail.headers.first { $0[0] == "Reply-To" }?[1])
                let parsed = try #require(setup.addresses.parse(address: replyTo))
                #expect(parsed.thread == setup.thread)
                #expect(parsed.user == emails[mail.toAddresses[0]])
                #expect(mail.messageID?.hasPrefix("<threadlog.") == true)
                // Upper case as some mail programs write it: still the same address.
                #expect(setup.addresses.parse(address: replyTo.uppercased())?.user == parsed.user)
            }
        }
    }

    @Test(
        "replies through the SMTP listener: stripped, by the token's user, once per Message-ID; bad addresses refused at RCPT"
    )
    func listener() async throws {
        let setup = try await Setup()
        defer { setup.world.close() }
        try await Self.withListener(setup.mailIn()) { port in
            let before = try setup.messages().count
            let plain: [String: Any] = [
                "from": "Clara Client <clara@acme.example>", "to": setup.address("c1"), "subject": "Re: Invoice C-1",
                "message_id": "<reply-1@acme.example>", "text": Self.quotedReply,
            ]
            #expect(try await Self.send(plain, port: port).ok)
            var messages = try setup.messages()
            #expect(messages.count == before + 1)
            #expect(messages.last?.0 == "c1")
            #expect(messages.last?.1 == "Yes, paid on Monday.\nSee you.")

            // The same message delivered again (a relay's retry): taken, appended once.
            #expect(try await Self.send(plain, port: port).ok)
            #expect(try setup.messages().count == before + 1)

            // HTML only, Latin-1, quoted-printable, with Outlook's quoted block; From is someone else
            // entirely: the token decides who posts.
            let html: [String: Any] = [
                "from": "Somebody <somebody@elsewhere.example>", "to": setup.address("c2"), "subject": "RE: Invoice",
                "message_id": "<reply-2@acme.example>", "charset": "latin-1", "cte": "quoted-printable",
                "html": """
                <html><body><p>Grüße, the invoice is attached to the order.</p>
                <div id="divRplyFwdMsg"><b>From:</b> Threadlog<br><b>Sent:</b> Monday</div>old</body></html>
                """,
            ]
            #expect(try await Self.send(html, port: port).ok)
            messages = try setup.messages()
            #expect(messages.count == before + 2)
            #expect(messages.last?.0 == "c2")
            #expect(messages.last?.1 == "Grüße, the invoice is attached to the order.")

            // A forged From without a reply address, and a reply address whose token was altered.
            var forged = plain
            forged["from"] = "Hana Handler <hana@ops.example>"
            forged["to"] = "noreply@threadlog.example"
            forged["message_id"] = "<forged@evil.example>"
            let refused = try await Self.send(forged, port: port)
            #expect(!refused.ok && refused.code == 550 && refused.stage == "rcpt", "\(refused)")
            var tampered = Array(setup.address("c1"))
            let index = tampered.firstIndex(of: "+")! + 5
            tampered[index] = tampered[index] == "a" ? "b" : "a"
            forged["to"] = String(tampered)
            let wrong = try await Self.send(forged, port: port)
            #expect(!wrong.ok && wrong.code == 550 && wrong.stage == "rcpt", "\(wrong)")
            #expect(try setup.messages().count == before + 2)

            // Larger than the listener takes (200 kB here): refused with 552 when the size is announced.
            var large = plain
            large["message_id"] = "<large@acme.example>"
            large["text"] = "A long line of a very large reply.\n"
            large["repeat"] = 8000
            let tooLarge = try await Self.send(large, port: port)
            #expect(!tooLarge.ok && tooLarge.code == 552, "\(tooLarge)")

            // Nothing but quotes and a signature: refused at the end of DATA.
            var empty = plain
            empty["message_id"] = "<empty@acme.example>"
            empty["text"] = "> just the quote\n\n-- \nClara\n"
            let emptyResult = try await Self.send(empty, port: port)
            #expect(!emptyResult.ok && emptyResult.code == 550 && emptyResult.stage == "data", "\(emptyResult)")
            #expect(try setup.messages().count == before + 2)
        }
    }

    @Test("a digest about one thread carries its recipient's reply address on that thread")
    func digestReplyTo() async throws {
        let world = try NotificationWorld()
        defer { world.close() }
        var configuration = try world.configuration(nil)
        let addresses = try ReplyAddresses(
            template: Self.template, key: try ReplyAddresses.loadKey(directory: world.data.root))
        configuration.replyAddresses = addresses
        let projector = world.projector(configuration)
        try await world.populate()
        try projector.catchUp()
        try await world.conversation()
        _ = try await world.digests().run(day: "2026-11-23", dryRun: false)
        try projector.catchUp()
        let digests = try world.outbox.entries().filter(\.isDigest)
        #expect(digests.count == NotificationWorld.dueDigests.count)
        // A digest naming several threads gets no Reply-To (a reply could not tell which one it answers).
        for entry in digests {
            if entry.threads.count == 1 {
                let replyTo = try #require(entry.replyTo, "\(entry.id)")
                let parsed = try #require(addresses.parse(address: replyTo))
                #expect(parsed.thread == entry.threads[0] && parsed.user == entry.digest?.user)
            } else {
                #expect(entry.replyTo == nil)
            }
        }
    }

    @Test("a reply to a blocked thread is refused at the end of DATA and the user is told by mail")
    func blocked() async throws {
        try await withSMTPServer { server in
            let setup = try await Setup()
            defer { setup.world.close() }
            try await setup.world.user("h1", .blockThread(setup.thread))
            let before = try setup.messages().count
            let result = try await Self.withListener(setup.mailIn()) { port in
                try await Self.send(
                    [
                        "from": "clara@acme.example", "to": setup.address("c1"), "subject": "Re: Invoice C-1",
                        "message_id": "<blocked-1@acme.example>", "text": "Please unblock.\n",
                    ], port: port)
            }
            #expect(!result.ok && result.code == 550 && result.stage == "data", "\(result)")
            #expect(result.text.contains("blocked"))
            #expect(try setup.messages().count == before)

            let configuration = try setup.world.configuration(server)
            try await setup.world.drain(try setup.world.sender(configuration))
            let bounces = try server.messages().map { try $0.parsed() }.filter { $0.subject.hasPrefix("Not posted") }
            #expect(bounces.count == 1)
            let bounce = try #require(bounces.first)
            #expect(bounce.toAddresses == ["clara@acme.example"])
            #expect(bounce.subject == "Not posted: Re: Invoice C-1")
            #expect(bounce.body.contains("is blocked"))
            #expect(bounce.body.contains("> Please unblock."))
        }
    }

    @Test("threadlog mail-in: a piped reply is posted once; refusals exit with sysexits codes and one line")
    func pipe() async throws {
        let setup = try await Setup()
        defer { setup.world.close() }
        var environment = ProcessInfo.processInfo.environment
        environment["THREADLOG_REPLY_ADDRESS"] = Self.template
        func mailIn(_ mail: Data, _ arguments: [String] = [], environment env: [String: String]) async throws
            -> ProcessResult
        {
            try await onThread {
                try run(
                    productPath("threadlog"), ["mail-in", "--data", setup.world.data.root] + arguments,
                    environment: env, input: mail)
            }
        }
        let before = try setup.messages().count
        // Delivered-To names the reply address; To is the list the person answered to.
        let reply = try Self.build([
            "from": "Carl <carl@acme.example>", "to": "Threadlog <noreply@threadlog.example>",
            "headers": ["Delivered-To": setup.address("c2")], "subject": "Re: Invoice C-1",
            "message_id": "<pipe-1@acme.example>", "cte": "base64",
            "text":
                "Kiitos, selvä.\n\nma 7.12.2026 klo 10.00 Threadlog <noreply@threadlog.example> kirjoitti:\n> vanha\n",
            "html": "<p>Kiitos, selvä.</p>",
        ])
        let first = try await mailIn(reply, environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try setup.messages().last.map { "\($0.0): \($0.1)" } == "c2: Kiitos, selvä.")
        let again = try await mailIn(reply, environment: environment)
        #expect(again.status == 0 && again.stdout.contains("posted before"), "\(again)")
        #expect(try setup.messages().count == before + 1)

        // An attachment becomes a blob of the message (the settings allow attachments by default).
        let withFile = try Self.build([
            "from": "carl@acme.example", "to": setup.address("c2"), "message_id": "<pipe-file@acme.example>",
            "text": "The invoice.\n", "attachments": [["name": "invoice.txt", "data": "INVOICE 4711"]],
        ])
        let filed = try await mailIn(withFile, environment: environment)
        #expect(filed.status == 0, "\(filed.stderr)")
        let posted = try setup.world.events(.messagePosted).compactMap { recorded -> MessagePosted? in
            guard case .messagePosted(let e) = recorded.event else { return nil }
            return e
        }.last
        let attachment = try #require(posted?.attachments.first)
        #expect(posted?.text == "The invoice.")
        #expect(attachment.name == "invoice.txt" && attachment.size == 12)
        #expect(
            FileManager.default.contents(atPath: setup.world.data.blobPath(sha256: attachment.sha256))
                == Data("INVOICE 4711".utf8))
        #expect(try setup.messages().count == before + 2)

        let wrong = try await mailIn(
            reply, ["--recipient", "reply+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@threads.example"], environment: environment)
        #expect(wrong.status == 67)
        #expect(wrong.stderr.split(separator: "\n").count == 1, "\(wrong.stderr)")
        let empty = try Self.build([
            "from": "carl@acme.example", "to": setup.address("c2"), "message_id": "<pipe-2@acme.example>",
            "text": "> nothing new\n",
        ])
        #expect(try await mailIn(empty, environment: environment).status == 65)
        var unconfigured = environment
        unconfigured["THREADLOG_REPLY_ADDRESS"] = nil
        let fault = try await mailIn(reply, environment: unconfigured)
        #expect(fault.status == 75 && fault.stderr.contains("THREADLOG_REPLY_ADDRESS"), "\(fault)")

        try await CommandHandler(store: setup.world.log).handle(.blockThread(setup.thread), actor: .user("h1"))
        let blocked = try Self.build([
            "from": "carl@acme.example", "to": setup.address("c2"), "message_id": "<pipe-3@acme.example>",
            "text": "Still there?\n",
        ])
        let refused = try await mailIn(blocked, environment: environment)
        #expect(refused.status == 77 && refused.stderr.contains("blocked"), "\(refused)")
        #expect(try setup.messages().count == before + 2)
        // The explanations (of the empty reply and of this one) wait in the outbox for the sender,
        // addressed to the user the reply address names; none for the unknown address.
        let explanations = try setup.world.outbox.undelivered().filter { $0.trigger == "replyRefused" }
        #expect(explanations.map(\.to) == [["carl@acme.example"], ["carl@acme.example"]])
        #expect(explanations.filter { $0.body.contains("is blocked") }.count == 1)
    }
}

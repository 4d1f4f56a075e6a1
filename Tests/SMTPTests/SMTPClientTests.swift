import TestSupport
import Foundation
import Logging
import SMTP
import Testing

private let sender = "Threadlog <noreply@example.com>"

private func makeClient(_ url: String, timeout: Duration = .seconds(10), caFile: String? = nil) throws -> SMTPClient {
    SMTPClient(
        configuration: try SMTPConfiguration(
            url: url, from: sender, heloName: "client.example.com", timeout: timeout, trustedCAFile: caFile),
        logger: Logger(label: "smtp-tests"))
}

@Suite("SMTP client against a real server")
struct SMTPClientTests {
    @Test func plainMailReachesEveryRecipientWithoutBccHeader() async throws {
        try await withSMTPServer { server in
            let client = try makeClient(server.url)
            let message = MailMessage(
                to: ["Ann <ann@example.com>", "bob@example.com"], cc: ["carol@example.com"],
                bcc: ["Secret Dan <dan@example.com>"], subject: "New messages in #general",
                textBody: "Hello Ann,\nyou have 2 new messages.\n")
            let messageID = try await client.send(message)

            let mails = try server.messages()
            try #require(mails.count == 1)
            let mail = mails[0]
            #expect(mail.envelope.mailFrom == "noreply@example.com")
            #expect(
                mail.envelope.recipients == [
                    "ann@example.com", "bob@example.com", "carol@example.com", "dan@example.com",
                ])
            #expect(mail.envelope.helo == "client.example.com")
            #expect(mail.envelope.esmtp)
            #expect(!mail.headerNames.contains { $0.lowercased() == "bcc" })
            #expect(!String(decoding: mail.raw, as: UTF8.self).contains("dan@example.com"))

            let parsed = try mail.parsed()
            #expect(parsed.subject == "New messages in #general")
            #expect(parsed.from == [.init(name: "Threadlog", address: "noreply@example.com")])
            #expect(
                parsed.to == [
                    .init(name: "Ann", address: "ann@example.com"), .init(name: "", address: "bob@example.com"),
                ])
            #expect(parsed.cc == [.init(name: "", address: "carol@example.com")])
            #expect(parsed.body == "Hello Ann,\nyou have 2 new messages.\n")
            #expect(parsed.messageID == messageID)
            #expect(parsed.date != nil)
            #expect(parsed.mimeVersion == "1.0")
            #expect(parsed.contentType == "text/plain")
            #expect(parsed.charset == "utf-8")
            #expect(parsed.transferEncoding == "quoted-printable")
            #expect(parsed.defects.isEmpty)
        }
    }

    @Test func unicodeSubjectBodyAndNamesRoundTrip() async throws {
        try await withSMTPServer { server in
            let client = try makeClient(server.url)
            let subject = "Nouveaux messages — Ünïcödé ✓"
            let longSubject = String(repeating: "Ünïcödé ✓ 日本語のテキスト 👩‍👩‍👧 ", count: 6)
            let body = "Bonjour Zoë,\n\nÜnïcödé ✓ — 日本語 — 👩‍👩‍👧‍👦\n= not an escape =41\ttab\ntrailing space \n"
            let messages = [
                MailMessage(
                    from: "Équipe Threadlog <team@example.com>", to: ["Zoë Ærø <zoe@example.com>"],
                    cc: ["\"Doe, Jane\" <jane@example.com>"], subject: subject, textBody: body),
                MailMessage(to: ["zoe@example.com"], subject: longSubject, textBody: "no final line break"),
            ]
            for message in messages { try await client.send(message) }

            let mails = try server.messages()
            try #require(mails.count == 2)
            let first = try mails[0].parsed()
            #expect(first.subject == subject)
            #expect(first.body == body)
            #expect(first.from == [.init(name: "Équipe Threadlog", address: "team@example.com")])
            #expect(first.to == [.init(name: "Zoë Ærø", address: "zoe@example.com")])
            #expect(first.cc == [.init(name: "Doe, Jane", address: "jane@example.com")])
            #expect(first.defects.isEmpty)
            let second = try mails[1].parsed()
            #expect(second.subject == longSubject)
            #expect(second.body == "no final line break")
            #expect(second.defects.isEmpty)

            for mail in mails {
                // Everything on the wire is 7-bit, headers stay short and encoded-words within RFC 2047's 75.
                #expect(mail.raw.allSatisfy { $0 < 128 })
                for line in mail.headerLines { #expect(line.utf8.count <= 78, "\(line)") }
                let words = mail.headerLines.joined(separator: " ").split(separator: " ").filter { $0.hasPrefix("=?") }
                #expect(!words.isEmpty)
                for word in words { #expect(word.count <= 75, "\(word)") }
            }
        }
    }

    @Test func linesStartingWithDotsArriveIntact() async throws {
        try await withSMTPServer { server in
            let client = try makeClient(server.url)
            let body = ".\n..\n.hidden\nmiddle . line\n.\n...\n"
            try await client.send(MailMessage(to: ["ann@example.com"], subject: "dots", textBody: body))
            let mails = try server.messages()
            try #require(mails.count == 1)
            #expect(try mails[0].parsed().body == body)
        }
    }

    @Test func longLinesArriveIntact() async throws {
        try await withSMTPServer { server in
            let client = try makeClient(server.url)
            let ascii = String((0..<2000).map { Character(UnicodeScalar(UInt8(33 + $0 % 90))) })
            let mixed = String(repeating: "é✓ .x", count: 400)
            let body = ascii + "\n" + mixed + "\n" + String(repeating: " ", count: 100) + "\n"
            try await client.send(MailMessage(to: ["ann@example.com"], subject: "long", textBody: body))
            let mails = try server.messages()
            try #require(mails.count == 1)
            #expect(try mails[0].parsed().body == body)
            let lines = String(decoding: mails[0].raw, as: UTF8.self).components(separatedBy: "\r\n")
            #expect(lines.allSatisfy { $0.utf8.count <= 78 })
        }
    }

    @Test func extraHeadersAndGivenMessageIDAreKept() async throws {
        try await withSMTPServer { server in
            let client = try makeClient(server.url)
            let id = try await client.send(
                MailMessage(
                    to: ["ann@example.com"], subject: "headers", textBody: "x",
                    headers: [
                        ("Message-ID", "<thread-42.7@threadlog.example>"), ("X-Threadlog-Thread", "42"),
                        ("X-Threadlog-Note", "café ✓"), ("Reply-To", "Zoë <zoe@example.com>, bob@example.com"),
                    ]))
            #expect(id == "<thread-42.7@threadlog.example>")
            let parsed = try #require(try server.messages().first).parsed()
            #expect(parsed.messageID == "<thread-42.7@threadlog.example>")
            let headers = Dictionary(parsed.headers.map { ($0[0], $0[1]) }, uniquingKeysWith: { first, _ in first })
            #expect(headers["X-Threadlog-Thread"] == "42")
            #expect(headers["X-Threadlog-Note"] == "café ✓")
            #expect(headers["Reply-To"] == "Zoë <zoe@example.com>, bob@example.com")
            #expect(parsed.headers.filter { $0[0].lowercased() == "message-id" }.count == 1)
        }
    }

    @Test func deferredDeliveryIsTransientAndARetrySucceeds() async throws {
        try await withSMTPServer(["--fail-4xx", "1"]) { server in
            let client = try makeClient(server.url)
            let message = MailMessage(to: ["ann@example.com"], subject: "retry me", textBody: "x")
            let error = await #expect(throws: SMTPError.self) { try await client.send(message) }
            #expect(error?.code == .transient)
            #expect(error?.isTransient == true)
            #expect(error?.isPermanent == false)
            #expect(error?.replyCode == 452)
            #expect(error?.replyText?.contains("try again later") == true)
            #expect(try server.messages().isEmpty)

            try await client.send(message)
            #expect(try server.messages().count == 1)
        }
    }

    @Test func greylistedRecipientIsTransient() async throws {
        try await withSMTPServer(["--fail-4xx", "1", "--fail-stage", "rcpt"]) { server in
            let client = try makeClient(server.url)
            let error = await #expect(throws: SMTPError.self) {
                try await client.send(MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x"))
            }
            #expect(error?.isTransient == true)
            #expect(error?.replyCode == 451)
            #expect(error?.replyText?.contains("Greylisted") == true)
        }
    }

    @Test func rejectedRecipientIsPermanentWithTheServersReason() async throws {
        try await withSMTPServer(["--reject-5xx-rcpt", "gone@example.com"]) { server in
            let client = try makeClient(server.url)
            let error = await #expect(throws: SMTPError.self) {
                try await client.send(
                    MailMessage(to: ["ann@example.com"], cc: ["gone@example.com"], subject: "s", textBody: "x"))
            }
            #expect(error?.code == .permanent)
            #expect(error?.isPermanent == true)
            #expect(error?.isTransient == false)
            #expect(error?.replyCode == 550)
            #expect(error?.replyText == "5.1.1 <gone@example.com>: Recipient address rejected: User unknown")
            #expect(error?.description.contains("gone@example.com") == true)
            #expect(try server.messages().isEmpty)
        }
    }

    @Test func rejectedContentIsPermanent() async throws {
        try await withSMTPServer(["--reject-5xx-data", "1"]) { server in
            let client = try makeClient(server.url)
            let error = await #expect(throws: SMTPError.self) {
                try await client.send(MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x"))
            }
            #expect(error?.isPermanent == true)
            #expect(error?.replyCode == 554)
            #expect(error?.replyText == "5.6.0 Message content rejected")
        }
    }

    @Test func serverDownFailsQuicklyAsConnectionFailed() async throws {
        let server = try SMTPTestServer()
        let url = server.url
        server.stop()
        let client = try makeClient(url, timeout: .seconds(30))
        let started = ContinuousClock.now
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x"))
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.isTransient == true)
        #expect(error?.replyCode == nil)
        // Refused at once, not after the 30 s timeout (the bound leaves room for a loaded machine).
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test func silentServerTimesOut() async throws {
        try await withSMTPServer(["--delay-data", "30"]) { server in
            // Long enough for the greeting and commands on a loaded machine; the content never gets an answer.
            let client = try makeClient(server.url, timeout: .seconds(2))
            let started = ContinuousClock.now
            let error = await #expect(throws: SMTPError.self) {
                try await client.send(MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x"))
            }
            #expect(error?.code == .timeout, "\(String(describing: error))")
            #expect(error?.isTransient == true)
            // Well short of the server's 30 s: the client gave up on its own.
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }

    @Test func headerInjectionIsRefusedBeforeConnecting() async throws {
        // Nothing listens there: an attempt to connect would fail as connectionFailed instead.
        let server = try SMTPTestServer()
        let url = server.url
        server.stop()
        let client = try makeClient(url)
        let bad: [MailMessage] = [
            MailMessage(to: ["ann@example.com"], subject: "Hi\r\nBcc: victim@example.com", textBody: "x"),
            MailMessage(to: ["ann@example.com"], subject: "Hi\nX-Evil: 1", textBody: "x"),
            MailMessage(to: ["ann@example.com>\r\nRCPT TO:<victim@example.com"], subject: "s", textBody: "x"),
            MailMessage(to: ["Ann\r\nBcc: v@example.com <ann@example.com>"], subject: "s", textBody: "x"),
            MailMessage(
                from: "a@example.com\nBcc: v@example.com", to: ["ann@example.com"], subject: "s", textBody: "x"),
            MailMessage(
                to: ["ann@example.com"], subject: "s", textBody: "x", headers: [("X-Note", "a\r\nBcc: v@x.com")]),
            MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x", headers: [("X-Bad: 1\r\nX-More", "v")]),
            MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x", headers: [("Bcc", "v@example.com")]),
            MailMessage(to: ["not an address"], subject: "s", textBody: "x"),
            MailMessage(to: [], subject: "nobody", textBody: "x"),
        ]
        for message in bad {
            let error = await #expect(throws: SMTPError.self) { try await client.send(message) }
            #expect(error?.code == .invalidMessage, "\(String(describing: error))")
            #expect(error?.isPermanent == true)
        }
    }

    @Test(arguments: [[String](), ["--auth-exclude", "PLAIN"]])
    func authenticatesOverSTARTTLSWithCredentialsFromTheURL(extraFlags: [String]) async throws {
        let certificates = try TestCertificates()
        try await withSMTPServer(["--auth", "robot:p@ss word"] + certificates.startTLSFlags + extraFlags) { server in
            let client = try makeClient(
                "smtp://robot:p%40ss%20word@127.0.0.1:\(server.port)", caFile: certificates.caFile)
            try await client.send(MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x"))
            let mail = try #require(try server.messages().first)
            #expect(mail.envelope.authUser == "robot")
            #expect(mail.envelope.tls != nil)
            #expect(mail.envelope.esmtp)
            // EHLO again after the upgrade, and the credentials only then.
            #expect(server.commands() == ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL"])

            let wrong = try makeClient("smtp://robot:nope@127.0.0.1:\(server.port)", caFile: certificates.caFile)
            let error = await #expect(throws: SMTPError.self) {
                try await wrong.send(MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x"))
            }
            #expect(error?.isPermanent == true)
            #expect(error?.replyCode == 535)
        }
    }

    @Test func upgradesWithoutCredentialsWhenTheServerOffersSTARTTLS() async throws {
        let certificates = try TestCertificates()
        // The server refuses MAIL before STARTTLS, so the mail arriving means the client upgraded.
        try await withSMTPServer(certificates.startTLSFlags) { server in
            let client = try makeClient(server.url, caFile: certificates.caFile)
            try await client.send(MailMessage(to: ["ann@example.com"], subject: "quiet", textBody: "x"))
            let mail = try #require(try server.messages().first)
            #expect(mail.envelope.tls != nil)
            #expect(mail.envelope.authUser == nil)
            #expect(try mail.parsed().subject == "quiet")
        }
    }

    @Test func deliversOverImplicitTLS() async throws {
        let certificates = try TestCertificates()
        try await withSMTPServer(["--auth", "robot:secret"] + certificates.implicitTLSFlags) { server in
            let client = try makeClient("smtps://robot:secret@127.0.0.1:\(server.port)", caFile: certificates.caFile)
            let results = await client.send([
                MailMessage(to: ["ann@example.com"], subject: "one", textBody: "1"),
                MailMessage(to: ["bob@example.com"], subject: "two", textBody: "2"),
            ])
            #expect(results.allSatisfy { (try? $0.get()) != nil })
            let mails = try server.messages()
            #expect(try mails.parsed().map(\.subject) == ["one", "two"])
            #expect(mails.allSatisfy { $0.envelope.tls != nil && $0.envelope.authUser == "robot" })
            #expect(server.commands() == ["EHLO", "AUTH", "MAIL", "MAIL"])
        }
    }

    @Test func credentialsAreNotSentToAServerWithoutSTARTTLS() async throws {
        try await withSMTPServer(["--auth", "robot:secret"]) { server in
            let client = try makeClient("smtp://robot:secret@127.0.0.1:\(server.port)")
            let error = await #expect(throws: SMTPError.self) {
                try await client.send(MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x"))
            }
            #expect(error?.code == .tlsFailed, "\(String(describing: error))")
            #expect(error?.message.contains("STARTTLS") == true)
            #expect(error?.description.contains("secret") == false)
            #expect(!server.commands().contains("AUTH"))
            #expect(!server.commands().contains("MAIL"))
            #expect(try server.messages().isEmpty)

            // Only when the URL says so do the credentials go in clear.
            let plain = try makeClient("smtp://robot:secret@127.0.0.1:\(server.port)?tls=none")
            try await plain.send(MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x"))
            let mail = try #require(try server.messages().first)
            #expect(mail.envelope.authUser == "robot")
            #expect(mail.envelope.tls == nil)
        }
    }

    @Test func requiredTLSRefusesAServerWithoutSTARTTLS() async throws {
        try await withSMTPServer { server in
            let client = try makeClient(server.url + "?tls=require")
            let error = await #expect(throws: SMTPError.self) {
                try await client.send(MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x"))
            }
            #expect(error?.code == .tlsFailed)
            #expect(!server.commands().contains("MAIL"))
            #expect(try server.messages().isEmpty)

            // Without credentials and without ?tls=require, mail goes in clear to such a server.
            try await makeClient(server.url).send(MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x"))
            #expect(try server.messages().first?.envelope.tls == nil)
        }
    }

    @Test func certificatesOfAnUnknownAuthorityAreRefused() async throws {
        let certificates = try TestCertificates()
        let other = try TestCertificates()
        try await withSMTPServer(["--auth", "robot:secret"] + certificates.startTLSFlags) { server in
            // The system's roots and another private authority: neither signed the server's certificate.
            for caFile in [nil, other.caFile] {
                let client = try makeClient("smtp://robot:secret@127.0.0.1:\(server.port)", caFile: caFile)
                let error = await #expect(throws: SMTPError.self) {
                    try await client.send(MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x"))
                }
                #expect(error?.code == .tlsFailed, "\(String(describing: error))")
            }
            #expect(server.commands() == ["EHLO", "STARTTLS", "EHLO", "STARTTLS"])
            #expect(try server.messages().isEmpty)
        }
        try await withSMTPServer(certificates.implicitTLSFlags) { server in
            let client = try makeClient("smtps://127.0.0.1:\(server.port)")
            let error = await #expect(throws: SMTPError.self) {
                try await client.send(MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x"))
            }
            #expect(error?.code == .tlsFailed, "\(String(describing: error))")
            #expect(server.commands().isEmpty)
        }
    }

    @Test func repliesInjectedInClearBehindSTARTTLSAreRefused() async throws {
        let certificates = try TestCertificates()
        let flags = ["--auth", "robot:secret", "--inject-after-starttls"] + certificates.startTLSFlags
        try await withSMTPServer(flags) { server in
            let client = try makeClient("smtp://robot:secret@127.0.0.1:\(server.port)", caFile: certificates.caFile)
            let error = await #expect(throws: SMTPError.self) {
                try await client.send(MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x"))
            }
            #expect(error?.code == .protocolViolation, "\(String(describing: error))")
            #expect(error?.message.contains("in clear after its reply to STARTTLS") == true)
            #expect(!server.commands().contains("AUTH"))
            #expect(try server.messages().isEmpty)
        }
    }

    @Test func certificatesForAnotherHostAreRefused() async throws {
        let certificates = try TestCertificates(names: ["mail.example.test"])
        try await withSMTPServer(certificates.implicitTLSFlags) { server in
            // A trusted authority, but the certificate does not name 127.0.0.1.
            let client = try makeClient("smtps://127.0.0.1:\(server.port)", caFile: certificates.caFile)
            let error = await #expect(throws: SMTPError.self) {
                try await client.send(MailMessage(to: ["ann@example.com"], subject: "s", textBody: "x"))
            }
            #expect(error?.code == .tlsFailed, "\(String(describing: error))")
            #expect(try server.messages().isEmpty)
        }
    }

    @Test func fallsBackToHELO() async throws {
        try await withSMTPServer(["--no-ehlo"]) { server in
            let client = try makeClient(server.url)
            try await client.send(MailMessage(to: ["ann@example.com"], subject: "old", textBody: "x"))
            let mails = try server.messages()
            try #require(mails.count == 1)
            #expect(mails[0].envelope.esmtp == false)
            #expect(try mails[0].parsed().subject == "old")
        }
    }

    @Test func batchReusesOneConnectionAndKeepsGoingPastRefusals() async throws {
        try await withSMTPServer(["--reject-5xx-rcpt", "gone@example.com"]) { server in
            let client = try makeClient(server.url)
            let results = await client.send([
                MailMessage(to: ["ann@example.com"], subject: "one", textBody: "1"),
                MailMessage(to: ["ann@example.com"], subject: "bad\r\nX: y", textBody: "2"),
                MailMessage(to: ["gone@example.com"], subject: "three", textBody: "3"),
                MailMessage(to: ["bob@example.com"], subject: "four", textBody: "4"),
            ])
            #expect(results.count == 4)
            #expect((try? results[0].get()) != nil)
            #expect(results[1].error?.code == .invalidMessage)
            #expect(results[2].error?.replyCode == 550)
            #expect((try? results[3].get()) != nil)
            let mails = try server.messages()
            #expect(try mails.parsed().map(\.subject) == ["one", "four"])
            #expect(mails.map(\.envelope.recipients) == [["ann@example.com"], ["bob@example.com"]])
        }
    }
}

extension Result {
    fileprivate var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

@Suite("SMTP configuration")
struct SMTPConfigurationTests {
    @Test func parsesHostPortAndCredentials() throws {
        let plain = try SMTPConfiguration(url: "smtp://relay.example.com", from: sender)
        #expect(plain.host == "relay.example.com")
        #expect(plain.port == 25)
        #expect(plain.username == nil)
        #expect(plain.timeout == .seconds(30))

        let full = try SMTPConfiguration(url: "smtp://mailer:s%3Acret%40@mx.example.com:2525", from: sender)
        #expect(full.host == "mx.example.com")
        #expect(full.port == 2525)
        #expect(full.username == "mailer")
        #expect(full.password == "s:cret@")
        #expect(full.description == "smtp://mailer:***@mx.example.com:2525")

        let v6 = try SMTPConfiguration(url: "smtp://[::1]:2525", from: sender)
        #expect(v6.host == "::1")
        #expect(v6.port == 2525)
    }

    @Test func parsesTheTransportSecurity() throws {
        let plain = try SMTPConfiguration(url: "smtp://relay.example.com", from: sender)
        #expect(plain.security == .startTLSWhenOffered)
        #expect(plain.trustedCAFile == nil)

        let implicit = try SMTPConfiguration(url: "smtps://mailer:pw@mx.example.com", from: sender)
        #expect(implicit.security == .implicitTLS)
        #expect(implicit.port == 465)
        #expect(implicit.description == "smtps://mailer:***@mx.example.com:465")

        let required = try SMTPConfiguration(url: "smtp://mx.example.com:587?tls=require", from: sender)
        #expect(required.security == .startTLSRequired)
        #expect(required.port == 587)
        #expect(required.description == "smtp://mx.example.com:587?tls=require")

        let none = try SMTPConfiguration(url: "smtp://u:pw@10.0.0.5?tls=none", from: sender)
        #expect(none.security == .plaintext)
        #expect(none.description == "smtp://u:***@10.0.0.5:25?tls=none")

        #expect(try SMTPConfiguration(url: "smtp://relay?tls=starttls", from: sender).security == .startTLSWhenOffered)
    }

    @Test func aCAFileMustBeReadable() throws {
        let directory = try TempDirectory()
        for path in [directory.sub("missing.pem"), directory.path] {
            let error = #expect(throws: SMTPError.self) {
                try SMTPConfiguration(url: "smtp://relay.example.com", from: sender, trustedCAFile: path)
            }
            #expect(error?.code == .invalidConfiguration)
        }
        let certificates = try TestCertificates()
        let configuration = try SMTPConfiguration(
            url: "smtp://relay.example.com", from: sender, trustedCAFile: certificates.caFile)
        #expect(configuration.trustedCAFile == certificates.caFile)
    }

    @Test(arguments: [
        "", "relay.example.com", "http://relay.example.com", "smtp://",
        "smtp://relay.example.com:0", "smtp://relay.example.com:99999", "smtp://relay.example.com/path",
        "smtp://relay.example.com?x=1", "smtp://user@relay.example.com", "smtp://relay.example.com:port",
        "smtp://relay.example.com?tls=maybe", "smtp://relay.example.com?tls=implicit", "smtp://relay.example.com?tls",
        "smtp://relay.example.com?tls=none&tls=require", "smtps://relay.example.com?tls=none",
    ])
    func rejectsBadURLs(url: String) {
        let error = #expect(throws: SMTPError.self) { try SMTPConfiguration(url: url, from: sender) }
        #expect(error?.code == .invalidConfiguration)
    }

    @Test func rejectsABadSenderAndKeepsPasswordsOutOfErrors() {
        let sender = #expect(throws: SMTPError.self) {
            try SMTPConfiguration(url: "smtp://relay.example.com", from: "nobody")
        }
        #expect(sender?.code == .invalidConfiguration)
        let scheme = #expect(throws: SMTPError.self) {
            try SMTPConfiguration(url: "ftp://user:hunter2@relay.example.com", from: "a@example.com")
        }
        #expect(scheme?.description.contains("hunter2") == false)
    }
}

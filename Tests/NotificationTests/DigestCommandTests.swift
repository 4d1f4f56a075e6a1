import Engine
import EventLog
import Foundation
import Messaging
import TestSupport
import Testing

/// Runs the built `threadlog` off the cooperative pool, so in-process services keep running meanwhile.
func threadlog(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> ProcessResult {
    var environment = ProcessInfo.processInfo.environment
    for name in ["THREADLOG_SMTP_URL", "THREADLOG_MAIL_FROM", "THREADLOG_SMTP_CA_FILE", "THREADLOG_DATA"] {
        environment[name] = nil
    }
    environment.merge(extra) { _, new in new }
    let fixed = environment
    return try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result { try run(productPath("threadlog"), arguments, environment: fixed) })
        }.start()
    }
}

func mailEnvironment(_ server: SMTPTestServer) -> [String: String] {
    [
        "THREADLOG_SMTP_URL": server.url, "THREADLOG_MAIL_FROM": NotificationWorld.from,
        "THREADLOG_PUBLIC_URL": NotificationWorld.publicURL, "THREADLOG_MAIL_POLL_MS": "20",
        "THREADLOG_MAIL_BACKOFF_MS": "50",
    ]
}

@Suite("threadlog digest", .serialized)
struct DigestCommandTests {
    static let day = "2026-11-23"

    /// A data directory with the conversation, closed so the command has it to itself.
    func prepared() async throws -> NotificationWorld {
        let world = try NotificationWorld()
        try await world.populate()
        try await world.conversation()
        world.close()
        return world
    }

    @Test("--dry-run lists what would be sent and appends nothing")
    func dryRun() async throws {
        let world = try await prepared()
        let result = try await threadlog(["digest", "--data", world.data.root, "--date", Self.day, "--dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout == """
                would send c1 contract C-1: 1 unread in 1 thread
                would send c2 contract C-1: 1 unread in 1 thread
                would send h1 contract C-1: 2 unread in 1 thread
                would send h2 contract C-1: 2 unread in 1 thread
                would send h2 contract C-2: 1 unread in 1 thread
                5 digests due on 2026-11-23 (dry run: nothing sent, nothing recorded)

                """)
        let log = try LMDBEventStore.openReadOnly(directory: world.data.log)
        defer { log.close() }
        #expect(try log.read(from: 1, limit: 10_000).allSatisfy { !$0.type.hasPrefix("digest.") })
    }

    @Test("with digests switched off in the settings nothing is due, and the command says why")
    func switchedOff() async throws {
        let world = try NotificationWorld()
        try await world.populate()
        try await world.conversation()
        try await world.admin(.changeSettings(SettingsPatch(digest: DigestPatch(enabled: false))))
        world.close()
        for extra in [["--dry-run"], []] {
            let result = try await threadlog(["digest", "--data", world.data.root, "--date", Self.day] + extra)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(
                result.stdout.contains(
                    "digests are switched off in the settings (digest.enabled: false): none is due\n"),
                "\(result.stdout)")
            #expect(!result.stdout.contains("would send") && !result.stdout.contains("scheduled "), "\(result.stdout)")
        }
        let log = try LMDBEventStore.openReadOnly(directory: world.data.log)
        defer { log.close() }
        #expect(try log.read(from: 1, limit: 10_000).allSatisfy { !$0.type.hasPrefix("digest.") })
    }

    @Test("exit codes: 2 for a bad date, 1 with one line for a missing data directory")
    func exitCodes() async throws {
        let bad = try await threadlog(["digest", "--data", "/nonexistent", "--date", "2026-13-40"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--date '2026-13-40' is not a date"))
        let missing = try await threadlog(["digest", "--data", "/nonexistent/threadlog", "--date", Self.day])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("threadlog: "))
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
    }

    @Test("sends each due digest once; a second run the same day sends nothing")
    func sendsOnce() async throws {
        try await withSMTPServer { server in
            let world = try await prepared()
            let arguments = ["digest", "--data", world.data.root, "--date", Self.day]
            let first = try await threadlog(arguments, environment: mailEnvironment(server))
            #expect(first.status == 0, "\(first.stderr)")
            #expect(
                first.stdout.hasSuffix("5 digests sent for 2026-11-23; 0 already handled earlier\n"), "\(first.stdout)")
            #expect(try digestMails(server) == expectedDigestMails)
            let second = try await threadlog(arguments, environment: mailEnvironment(server))
            #expect(second.status == 0, "\(second.stderr)")
            #expect(
                second.stdout.hasSuffix("0 digests sent for 2026-11-23; 5 already handled earlier\n"),
                "\(second.stdout)")
            #expect(try digestMails(server) == expectedDigestMails)
            // Only digests were sent: the command leaves the immediate notifications to the service.
            #expect(try server.messages().count == 5)
        }
    }

    @Test("over STARTTLS to a server whose certificate THREADLOG_SMTP_CA_FILE's authority signed")
    func overTLS() async throws {
        let certificates = try TestCertificates()
        try await withSMTPServer(["--auth", "digest:secret"] + certificates.startTLSFlags) { server in
            let world = try await prepared()
            let arguments = ["digest", "--data", world.data.root, "--date", Self.day]
            var environment = mailEnvironment(server)
            environment["THREADLOG_SMTP_URL"] = "smtp://digest:secret@127.0.0.1:\(server.port)"

            // Without the authority the certificate is refused: nothing is sent, the mails wait.
            environment["THREADLOG_DIGEST_TIMEOUT"] = "1"
            let refused = try await threadlog(arguments, environment: environment)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("certificate"), "\(refused.stderr)")
            #expect(try server.messages().isEmpty)
            #expect(!server.commands().contains("AUTH"))

            environment["THREADLOG_SMTP_CA_FILE"] = certificates.caFile
            environment["THREADLOG_DIGEST_TIMEOUT"] = nil
            let result = try await threadlog(arguments, environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try digestMails(server) == expectedDigestMails)
            #expect(try server.messages().allSatisfy { $0.envelope.tls != nil && $0.envelope.authUser == "digest" })

            environment["THREADLOG_SMTP_CA_FILE"] = world.data.root + "/no-such-ca.pem"
            let unreadable = try await threadlog(arguments, environment: environment)
            #expect(unreadable.status == 1)
            #expect(unreadable.stderr.contains("no-such-ca.pem"), "\(unreadable.stderr)")
        }
    }

    @Test("without mail settings the digests are recorded and wait in the outbox")
    func withoutMail() async throws {
        let world = try await prepared()
        let result = try await threadlog(["digest", "--data", world.data.root, "--date", Self.day])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("mail is not configured"))
        // The world's own view store (one environment per process): it sees what the command wrote.
        #expect(try world.outbox.undelivered().filter(\.isDigest).count == 5)
    }

    @Test("a run while a server-like process has the log open: each digest still arrives once")
    func besideRunningService() async throws {
        try await withSMTPServer { server in
            let world = try NotificationWorld()
            defer { world.close() }
            let configuration = try world.configuration(server)
            let projector = world.projector(configuration)
            try await world.populate()
            try projector.catchUp()
            try await world.conversation()
            let sender = try world.sender(configuration)
            // The "service": derives and delivers continuously, and runs the day's digest itself.
            let service = Task {
                while !Task.isCancelled {
                    _ = try? projector.catchUp()
                    _ = await sender.deliverDue()
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
            async let inProcess = world.digests().run(day: Self.day, dryRun: false)
            async let cli = threadlog(
                ["digest", "--data", world.data.root, "--date", Self.day], environment: mailEnvironment(server))
            let (report, result) = try await (inProcess, cli)
            #expect(result.status == 0, "\(result.stderr)")
            let start = ContinuousClock.now
            while try !world.outbox.undelivered().isEmpty || world.events(.digestSent).count < 5,
                ContinuousClock.now - start < .seconds(20)
            {
                try await Task.sleep(for: .milliseconds(20))
            }
            service.cancel()
            _ = await service.value
            #expect(report.scheduled.count + report.alreadyScheduled.count == 5)
            #expect(try digestMails(server) == expectedDigestMails)
            #expect(try world.events(.digestScheduled).count == 5)
            #expect(try world.events(.digestSent).count == 5)
        }
    }
}

@Suite("threadlog digest killed while sending", .serialized, .tags(.slow))
struct DigestCrashTests {
    @Test(
        "kill -9 while a digest is being sent: the next run sends that mail again under the same Message-ID, and every other once"
    )
    func killedMidSend() async throws {
        let world = try NotificationWorld()
        try await world.populate()
        try await world.conversation()
        world.close()
        let arguments = ["digest", "--data", world.data.root, "--date", DigestCommandTests.day]
        // The first server answers the content only after a while: the command is killed meanwhile,
        // after the server has the mail and before the command could mark it delivered.
        let slow = try SMTPTestServer(["--delay-data", "1"])
        defer { slow.stop() }
        var environment = ProcessInfo.processInfo.environment
        environment.merge(mailEnvironment(slow)) { _, new in new }
        environment["THREADLOG_MAIL_LEASE_MS"] = "500"
        let process = try Child(productPath("threadlog"), arguments, environment: environment)
        let start = ContinuousClock.now
        while try !world.outbox.undelivered().contains(where: { $0.isDigest && $0.status == .sending }),
            ContinuousClock.now - start < .seconds(20)
        {
            try await Task.sleep(for: .milliseconds(10))
        }
        process.send(SIGKILL)
        #expect(process.wait() == .signalled(SIGKILL))
        // Whether the server kept the mail of a client that vanished mid-conversation is the server's
        // business: either way the command did not learn of it, so the claim stays open. (On a loaded
        // machine the command may have finished a mail or more before the kill; those are not sent again.)
        try await Task.sleep(for: .milliseconds(1200))
        let taken = try slow.messages().parsed()
        let inFlight = try world.outbox.undelivered().filter { $0.status == .sending }
        #expect(inFlight.count == 1)

        try await withSMTPServer { server in
            var rerun = mailEnvironment(server)
            rerun["THREADLOG_MAIL_LEASE_MS"] = "500"
            // The rerun may take the mail in flight over once the killed command's claim has run out.
            let leaseEnd = inFlight.compactMap(\.claimedUntilMillis).max() ?? 0
            while Int64(Date().timeIntervalSince1970 * 1000) < leaseEnd {
                try await Task.sleep(for: .milliseconds(20))
            }
            let result = try await threadlog(arguments, environment: rerun)
            #expect(result.status == 0, "\(result.stderr)")
            let resent = try server.messages().parsed()
            let resentIDs = resent.compactMap(\.messageID)
            #expect(Set(resentIDs).count == resentIDs.count, "the rerun sent a mail twice: \(resentIDs)")
            // Only the mail in flight at the kill may have arrived twice, under the same Message-ID.
            let twice = Set(taken.compactMap(\.messageID)).intersection(resentIDs)
            #expect(twice.isSubset(of: inFlight.map(\.messageID)), "\(twice)")
            #expect(resentIDs.contains { inFlight.map(\.messageID).contains($0) })
            // Between the two servers every digest arrived.
            var byID: [String: String] = [:]
            for mail in taken + resent where mail.subject.hasPrefix("New messages in Threadlog") {
                byID[mail.messageID ?? ""] = "\(mail.toAddresses.joined(separator: ",")) \(mail.subject)"
            }
            #expect(byID.values.sorted() == expectedDigestMails)
        }
        #expect(try world.outbox.undelivered().isEmpty)
    }
}

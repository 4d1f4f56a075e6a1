import TestSupport
import Engine
import EventLog
import Foundation
import Messaging
import SMTP
import Synchronization
import Testing

extension NotificationWorld {
    /// Two subjects. C-1: c1 opened it, h1 answered, c2 added a message; C-2: c1 opened it and h1 read it.
    /// Due: c1 and c2 (h1's answer on C-1), h1 and h2 (two outside messages on C-1), h2 (C-2).
    func conversation() async throws {
        let first = try await openThread(ref: "C-1")
        try await user("h1", .postMessage(thread: first, message: NewMessage(text: "Paid on Monday.")))
        try await user("c2", .postMessage(thread: first, message: NewMessage(text: "Thanks!")))
        let second = try await openThread(ref: "C-2", body: "And this one?")
        try await user("h1", .moveReadMarker(thread: second, upTo: 1))
    }

    static let dueDigests = ["c1 C-1 1", "c2 C-1 1", "h1 C-1 2", "h2 C-1 2", "h2 C-2 1"]
}

func describe(_ digests: [DigestScheduled]) -> [String] {
    digests.map { "\($0.user) \($0.subject.ref) \($0.unread)" }
}

/// Who got which digest: `address subject`, sorted.
func digestMails(_ server: SMTPTestServer) throws -> [String] {
    try server.messages().parsed().filter { $0.subject.hasPrefix("New messages in Threadlog") }
        .map { "\($0.toAddresses.joined(separator: ",")) \($0.subject)" }.sorted()
}

let expectedDigestMails = [
    "carl@acme.example New messages in Threadlog C-1",
    "clara@acme.example New messages in Threadlog C-1",
    "hana@ops.example New messages in Threadlog C-1",
    "hugo@ops.example New messages in Threadlog C-1",
    "hugo@ops.example New messages in Threadlog C-2",
]

@Suite("Daily digest", .serialized)
struct DigestTests {
    static let day = "2026-11-23"

    @Test("one mail per user and subject, from the other side only, and a second run the same day sends nothing")
    func oncePerDay() async throws {
        try await withSMTPServer { server in
            let world = try NotificationWorld()
            defer { world.close() }
            let configuration = try world.configuration(server)
            let projector = world.projector(configuration)
            try await world.populate()
            try projector.catchUp()
            try await world.conversation()
            // Only the digests: the immediate notifications are not this test's subject.
            let sender = try world.sender(configuration)
            try projector.catchUp()

            let report = try await world.digests().run(day: Self.day, dryRun: false)
            #expect(describe(report.scheduled) == NotificationWorld.dueDigests)
            try projector.catchUp()
            try await world.drain(sender)
            #expect(try digestMails(server) == expectedDigestMails)

            let again = try await world.digests().run(day: Self.day, dryRun: false)
            #expect(again.scheduled.isEmpty)
            #expect(describe(again.alreadyScheduled) == NotificationWorld.dueDigests)
            try projector.catchUp()
            try await world.drain(sender)
            #expect(try digestMails(server) == expectedDigestMails)
            #expect(try world.events(.digestScheduled).count == 5)
            let sent = try world.events(.digestSent)
            #expect(sent.count == 5)

            // The mail asks to log in, names the threads, and carries the outbox's Message-ID.
            let hugo = try server.messages().parsed()
                .first { $0.subject == "New messages in Threadlog C-1" && $0.toAddresses == ["hugo@ops.example"] }
            let mail = try #require(hugo)
            #expect(
                mail.body.hasPrefix(
                    "Hello Hugo Helper,\n\nyou have 2 unread messages about contract C-1:\n- Invoice C-1: https://threads.example/threads/"
                ))
            #expect(mail.body.contains("Please log in to Threadlog to read them."))
            #expect(mail.defects.isEmpty)
            #expect(
                sent.contains {
                    if case .digestSent(let e) = $0.event {
                        e.messageID == mail.messageID && e.user == "h2"
                    } else {
                        false
                    }
                })

            // Reading clears the digest of the next day.
            let threads = try world.events(.threadOpened).compactMap { r -> ThreadID? in
                if case .threadOpened(let e) = r.event, e.subject.ref == "C-2" { e.thread } else { nil }
            }
            try await world.user("h2", .moveReadMarker(thread: try #require(threads.first), upTo: 1))
            let tomorrow = try await world.digests().run(day: "2026-11-24", dryRun: true)
            #expect(describe(tomorrow.due) == Array(NotificationWorld.dueDigests.dropLast()))
        }
    }

    @Test("a run after a crash between digest.scheduled and digest.sent sends that mail once, and no other twice")
    func afterCrashBetweenScheduledAndSent() async throws {
        try await withSMTPServer { server in
            let world = try NotificationWorld()
            defer { world.close() }
            let configuration = try world.configuration(server)
            let projector = world.projector(configuration)
            try await world.populate()
            try projector.catchUp()
            try await world.conversation()
            let due = try world.digests().due(day: Self.day)
            // The crashed run got as far as deciding two digests.
            for digest in due.prefix(2) {
                _ = try await world.handler.handle(
                    .scheduleDigest(digest), actor: .admin,
                    commandID: DigestScheduled.commandID(user: digest.user, subject: digest.subject, day: Self.day))
            }
            let report = try await world.digests().run(day: Self.day, dryRun: false)
            #expect(report.alreadyScheduled.count == 2)
            #expect(report.scheduled.count == 3)
            try projector.catchUp()
            try await world.drain(try world.sender(configuration))
            #expect(try digestMails(server) == expectedDigestMails)
            #expect(try world.events(.digestSent).count == 5)
        }
    }

    @Test("the mail server down during a digest run, then up: every due mail arrives exactly once")
    func serverDownThenUp() async throws {
        // A port that was free a moment ago: nobody listens on it until the server comes up.
        let probe = try SMTPTestServer()
        let port = probe.port
        probe.stop()
        let world = try NotificationWorld()
        defer { world.close() }
        var configuration = try world.configuration(nil, port: port)
        // Long enough that a slow first pass cannot make its own retries due already.
        configuration.initialBackoff = .seconds(3)
        configuration.maxBackoff = .seconds(3)
        let projector = world.projector(configuration)
        try await world.populate()
        try projector.catchUp()
        try await world.conversation()
        _ = try await world.digests().run(day: Self.day, dryRun: false)
        try projector.catchUp()
        let sender = try world.sender(configuration)
        let down = await sender.deliverDue { $0.isDigest }
        #expect(down.delivered.isEmpty)
        #expect(down.deferred.count == 5)
        #expect(
            try world.outbox.undelivered().filter(\.isDigest).allSatisfy { $0.attempts == 1 && $0.lastError != nil })
        // A second pass right away finds nothing due: the backoff holds the retries back.
        #expect(await sender.deliverDue { $0.isDigest }.deferred.isEmpty)

        let server = try SMTPTestServer(port: port)
        defer { server.stop() }
        let start = ContinuousClock.now
        while try !world.outbox.undelivered().filter(\.isDigest).isEmpty, ContinuousClock.now - start < .seconds(20) {
            _ = await sender.deliverDue { $0.isDigest }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try digestMails(server) == expectedDigestMails)
        #expect(try world.events(.digestSent).count == 5)
    }

    @Test("the digest service decides the day's digests once the configured time has passed")
    func service() async throws {
        let world = try NotificationWorld()
        defer { world.close() }
        try await world.populate()
        try await world.admin(.changeSettings(SettingsPatch(digest: DigestPatch(time: "00:00"))))
        try await world.conversation()
        try world.models.catchUp()
        // Each check of the service asks for the time once: counting the asks counts the checks.
        let checks = Mutex(0)
        let service = DigestService(
            digests: world.digests(), checkInterval: .milliseconds(20),
            now: {
                checks.withLock { $0 += 1 }
                return Date()
            })
        let task = Task { try await service.run() }
        let start = ContinuousClock.now
        while try world.events(.digestScheduled).count < 5, ContinuousClock.now - start < .seconds(10) {
            try await Task.sleep(for: .milliseconds(20))
        }
        // Two more checks: the one that scheduled them has ended and a whole later one has run, which
        // must not schedule them again.
        let scheduledBy = checks.withLock { $0 }
        while checks.withLock({ $0 }) < scheduledBy + 2, ContinuousClock.now - start < .seconds(20) {
            try await Task.sleep(for: .milliseconds(20))
        }
        task.cancel()
        _ = try? await task.value
        #expect(try world.events(.digestScheduled).count == 5)
    }
}

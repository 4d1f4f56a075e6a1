import Engine
import EventLog
import Foundation
import Messaging
import TestSupport
import Testing

@Suite("Outbox operations", .serialized)
struct OutboxOperationsTests {
    @Test("a refused mail is resent: pending again with its attempts reset, then delivered once")
    func resendFailed() async throws {
        try await withSMTPServer(["--reject-5xx-data", "1"]) { server in
            try await NotificationWorld.populated(mailingTo: server) { world, configuration, projector in
                _ = try await world.openThread(body: nil)
                try projector.catchUp()
                let sender = try world.sender(configuration)
                try await world.drain(sender)
                let failed = try world.outbox.entries(in: [.failed])
                #expect(failed.count == 1)
                let entry = try #require(failed.first)
                #expect(entry.attempts == 1)
                #expect(entry.lastError?.hasPrefix("554") == true)
                let delivered = try world.outbox.counts().delivered

                guard case .requeued(let requeued) = try await world.outbox.resend(id: entry.id) else {
                    Issue.record("not requeued")
                    return
                }
                #expect(requeued.status == .pending && requeued.attempts == 0)
                #expect(try world.outbox.counts().failed == 0)
                try await world.drain(sender)
                let after = try #require(try world.outbox.entry(id: entry.id))
                #expect(after.status == .delivered && after.attempts == 1)
                #expect(try world.outbox.counts().delivered == delivered + 1)
                #expect(try server.messages().count == delivered + 1)
                #expect(try await world.outbox.resend(id: entry.id) == .notFailed(.delivered))
                #expect(try await world.outbox.resend(id: "12345.0") == .notFound)
                #expect(try await world.outbox.resend(id: "not an id") == .notFound)
            }
        }
    }

    @Test("a direct mail goes out through the sender; a sign-in link's text is dropped after delivery")
    func directMail() async throws {
        try await withSMTPServer { server in
            let world = try NotificationWorld()
            defer { world.close() }
            let configuration = try world.configuration(server)
            let entry = try await world.outbox.enqueue(
                to: ["clara@acme.example"], subject: "Your sign-in link",
                body: "https://threads.example/sign-in/link/x",
                trigger: Outbox.signInLinkTrigger, messageIDDomain: "threadlog.example")
            #expect(entry.position > UInt64(Int64.max))
            try await world.drain(try world.sender(configuration))
            let mails = try server.messages()
            #expect(mails.count == 1)
            #expect(try mails.first?.parsed().body.contains("/sign-in/link/x") == true)
            let stored = try #require(try world.outbox.entry(id: entry.id))
            #expect(stored.status == .delivered)
            #expect(stored.body.isEmpty)
            #expect(try await world.outbox.resend(id: entry.id) == .notFailed(.delivered))
        }
    }
}

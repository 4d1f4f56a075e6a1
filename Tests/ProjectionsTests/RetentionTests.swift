import Engine
import EventLog
import Foundation
import Messaging
import Projections
import TestSupport
import Testing

@Suite("Retention")
struct RetentionTests {
    static let day: Int64 = 86_400_000
    var now: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Every file under `root` that contains `needle`.
    func files(containing needle: [UInt8], under root: String) throws -> [String] {
        try TestSupport.files(containing: needle, under: root)
    }

    @Test("a purge destroys texts, titles and attachments everywhere; the audit trail and the chain remain")
    func purge() async throws {
        let f = try ViewsFixture()
        try await f.world()
        try await f.admin(.createCategory(id: "legal", name: "Legal", handlerRoles: [.handler], structures: [], defaultRecipients: []))
        try await f.admin(.setCategoryRetention(category: "legal", days: 3650))

        let secret = "SECRET-TEXT-\(UUID().uuidString)"
        let title = "TITLE-\(UUID().uuidString)"
        let blobBytes = Array("BLOB-BYTES-\(UUID().uuidString)".utf8)
        let sha = String(blobBytes.sha256Hex)
        let blobPath = f.data.blobPath(sha256: sha)
        try FileManager.default.createDirectory(atPath: (blobPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: blobPath, contents: Data(blobBytes)))

        let doomed = try #require(try await f.user("sam", .openThread(OpenThread(subjectKind: "request", subjectRef: "OLD-1", title: title, body: NewMessage(text: secret)))).thread)
        try await f.user("hana", .postMessage(thread: doomed, message: NewMessage(text: "re: \(secret)", attachments: [Attachment(name: "a.txt", contentType: "text/plain", size: Int64(blobBytes.count), sha256: sha)])))
        let heldText = "HELD-\(UUID().uuidString)"
        let held = try #require(try await f.user("sam", .openThread(OpenThread(subjectKind: "request", subjectRef: "OLD-2", title: "Held", body: NewMessage(text: heldText)))).thread)
        try await f.admin(.placeLegalHold(thread: held, reason: "litigation"))
        let keptText = "KEPT-\(UUID().uuidString)"
        let kept = try #require(try await f.user("sam", .openThread(OpenThread(subjectKind: "request", subjectRef: "OLD-3", title: "Legal", category: "legal", body: NewMessage(text: keptText)))).thread)
        try f.models.catchUp()

        let retention = Retention(log: f.log, models: f.models, handler: f.engine, data: f.data)
        let asOf = now + 1462 * Self.day
        let dry = try await retention.run(asOfMillis: asOf, dryRun: true)
        #expect(dry.due.map(\.thread) == [doomed])
        #expect(dry.held == [held])
        #expect(try files(containing: Array(secret.utf8), under: f.data.root).contains { $0.hasPrefix("log/") })

        let report = try await retention.run(asOfMillis: asOf, dryRun: false)
        #expect(report.purged == [doomed])
        #expect(report.deletedBlobs == 1)
        #expect(report.compacted)

        for needle in [Array(secret.utf8), Array(title.utf8), blobBytes] {
            let found = try files(containing: needle, under: f.data.root)
            #expect(found.isEmpty, "still found in \(found)")
        }
        // What was not due is untouched.
        #expect(!(try files(containing: Array(heldText.utf8), under: f.data.root)).isEmpty)
        #expect(!(try files(containing: Array(keptText.utf8), under: f.data.root)).isEmpty)

        // The audit trail: the purge event, the envelopes of the erased events, a chain that verifies.
        let stream = try f.log.readStream("thread-\(doomed.rawValue)", fromVersion: 1, limit: 100)
        #expect(stream.last?.type == "thread.purged" && stream.last?.isPurged == false && stream.last?.actor == "@admin")
        #expect(stream.dropLast().allSatisfy { $0.isPurged && $0.data.isEmpty })
        #expect(Summary.line(stream[0]).contains("[purged]"))
        #expect(try f.log.verify().fault == nil)

        // The read side: 410 for the purged thread, gone from inboxes; a rebuild gives the same views.
        await #expect(throws: DomainError.threadPurged(doomed)) {
            try await f.models.threadView(doomed, reader: "sam", minPosition: 0)
        }
        #expect(try await f.models.inbox(InboxQuery(), reader: "sam", minPosition: 0).items.map(\.id).sorted() == [held.rawValue, kept.rawValue].sorted())
        let live = try f.dump()
        try f.models.rebuild(Set(ViewName.allCases))
        #expect(try f.dump() == live)

        // Posting to it is refused; a second run finds nothing more to do.
        do {
            try await f.user("sam", .postMessage(thread: doomed, message: NewMessage(text: "hello?")))
            Issue.record("posted to a purged thread")
        } catch let error as DomainError {
            #expect(error.code == "thread_purged")
        }
        let again = try await retention.run(asOfMillis: asOf, dryRun: false)
        #expect(again.purged.isEmpty && again.erasedRecords == 0)

        // A held thread cannot be purged directly either; once released, it is due.
        await #expect(throws: DomainError.legalHold(held)) {
            try await f.admin(.purgeThread(thread: held, reason: "manual"))
        }
        try await f.admin(.releaseLegalHold(thread: held))
        #expect(try await retention.run(asOfMillis: asOf, dryRun: true).due.map(\.thread) == [held])
    }

    @Test("a tampered byte is still detected after a purge")
    func tamperAfterPurge() async throws {
        let f = try ViewsFixture()
        try await f.world()
        let marker = "MARK-\(UUID().uuidString)"
        let t = try #require(try await f.user("sam", .openThread(OpenThread(subjectKind: "request", subjectRef: "X", title: "x", body: NewMessage(text: "bye")))).thread)
        let other = try #require(try await f.user("sue", .openThread(OpenThread(subjectKind: "request", subjectRef: "Y", title: "y", body: NewMessage(text: marker)))).thread)
        _ = other
        try f.models.catchUp()
        _ = try await f.engine.handle(.purgeThread(thread: t, reason: "test"), actor: .admin)
        let retention = Retention(log: f.log, models: f.models, handler: f.engine, data: f.data)
        _ = try await retention.run(asOfMillis: now, dryRun: false)
        #expect(try f.log.verify().fault == nil)
        f.log.close()
        let file = URL(fileURLWithPath: f.data.log + "/data.mdb")
        var bytes = try Data(contentsOf: file)
        let range = try #require(bytes.range(of: Data(marker.utf8)))
        bytes[range.lowerBound] ^= 0x20
        try bytes.write(to: file)
        let reader = try LMDBEventStore.openReadOnly(directory: f.data.log)
        #expect(try reader.verify().fault != nil)
        reader.close()
    }
}

extension RetentionTests {
    @Test("a purge interrupted by SIGKILL completes on the next run", .tags(.slow))
    func interruptedPurge() async throws {
        let dir = try TempDirectory()
        let root = dir.sub("data")
        let secrets = (0..<40).map { "GONE-\($0)-\(UUID().uuidString)" }
        do {
            // Built in a scope of its own: the stores close and release their locks before the tool runs.
            let data = try DataDirectory(root, create: true)
            let log = try LMDBEventStore.open(directory: data.log)
            let engine = CommandHandler(store: log)
            _ = try await engine.handle(.createParty(id: "acme", name: "Acme", kind: .internal), actor: .admin)
            _ = try await engine.handle(
                .createUser(id: "hana", name: "Hana", email: "h@example.com", party: "acme", roles: [.handler], tokenHash: ViewsFixture.hash),
                actor: .admin)
            for (i, secret) in secrets.enumerated() {
                _ = try await engine.handle(
                    .openThread(OpenThread(subjectKind: "request", subjectRef: "R\(i)", title: "T\(i)", body: NewMessage(text: secret))),
                    actor: .user("hana"))
            }
            log.close()
        }
        let threadlog = productPath("threadlog")
        let asOf = ISOTime.format(millis: now + 2000 * Self.day)
        for round in 0..<4 {
            let process = try Child(threadlog, ["retention", "--data", root, "--as-of", asOf])
            try await Task.sleep(for: .milliseconds(UInt64.random(in: 5...60) + UInt64(round) * 15))
            process.send(SIGKILL)
            process.wait()
        }
        let finish = try run(threadlog, ["retention", "--data", root, "--as-of", asOf])
        #expect(finish.status == 0, "\(finish.stderr)")
        #expect(finish.stdout.contains("log and views compacted") || finish.stdout.contains("nothing to compact"))
        for secret in secrets {
            let found = try files(containing: Array(secret.utf8), under: root)
            #expect(found.isEmpty, "\(secret) still in \(found)")
        }
        let verify = try run(threadlog, ["replay", "--data", root, "--verify"])
        #expect(verify.status == 0, "\(verify.stderr)")
        let dry = try run(threadlog, ["retention", "--data", root, "--as-of", asOf, "--dry-run"])
        #expect(dry.stdout.contains("0 due"))
    }
}

extension Array where Element == UInt8 {
    var sha256Hex: String {
        // A content address for the test blob; the retention code only needs it to be unique.
        let hex = Array("0123456789abcdef".utf8)
        var hash = [UInt8](repeating: 0, count: 32)
        for (i, byte) in enumerated() { hash[i % 32] = hash[i % 32] &* 31 &+ byte }
        return String(decoding: hash.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 15)]] }, as: UTF8.self)
    }
}

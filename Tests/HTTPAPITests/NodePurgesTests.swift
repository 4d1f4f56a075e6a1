import Engine
import EventLog
import Foundation
import PostgresEventLog
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Two `threadlog serve` nodes on one PostgreSQL log: an attachment uploaded and a message posted
/// through the node that is not elected live in that node's own files (DIR/blobs, DIR/views). Once
/// retention purges the thread, that node too deletes the attachment file and rewrites its views, so no
/// file of its views keeps the message's text, and it answers 410 for the thread.
@Suite("purges reach every node's own files", .tags(.slow))
struct NodePurgesTests {
    static let admin = "purges-admin-token"

    @Test("a purge deletes the attachment file and the text from the views of a node that is not elected")
    func purgeReachesTheOtherNode() async throws {
        let url = try ServePostgresTests.freshDatabase()
        let directory = try TempDirectory()
        let dataDirectories = (0..<2).map { directory.sub("node\($0)") }
        let environment = ["THREADLOG_ADMIN_TOKEN": Self.admin, "THREADLOG_STORE_URL": url]
        let nodes = try dataDirectories.map { try ServeProcess.start(data: $0, environment: environment) }
        defer {
            for node in nodes where node.process.isRunning {
                node.signal(SIGKILL)
                node.process.wait()
            }
        }
        let leader = try await ServeNodesTests.elected(nodes)
        let other = 1 - leader
        let port = nodes[other].port
        let otherData = DataDirectory(unchecked: dataDirectories[other])

        _ = try await ServeNodesTests.post(
            nodes[leader].port, "/v1/parties", Self.admin, #"{"id":"sup","name":"Supplier","kind":"external"}"#)
        let bob = try #require(
            try await ServeNodesTests.post(
                port, "/v1/users", Self.admin,
                #"{"id":"bob","name":"Bob","email":"bob@sup.example","party":"sup","roles":["supplier"]}"#)["token"]
                as? String)
        let thread = try #require(
            try await ServeNodesTests.post(
                port, "/v1/threads", bob, #"{"subject":{"kind":"request","ref":"R-1"},"title":"Old request"}"#)["id"]
                as? String)
        let upload = try await send(
            port: port, .post, "/v1/blobs", token: bob, bytes: Array("ATTACHED-\(UUID().uuidString)".utf8))
        #expect(upload.status == 201 || upload.status == 200, "\(upload.status) \(upload.text)")
        let sha = try #require(upload.json["sha256"] as? String)
        let secret = "NODE-SECRET-\(UUID().uuidString)"
        _ = try await ServeNodesTests.post(
            port, "/v1/threads/\(thread)/messages", bob,
            #"{"body":"\#(secret)","attachments":[{"name":"a.txt","contentType":"text/plain","size":45,"sha256":"\#(sha)"}]}"#)
        // A second file, attached in the purged thread and in a thread a legal hold keeps, stays.
        let shared = try #require(
            try await send(port: port, .post, "/v1/blobs", token: bob, bytes: Array("SHARED-\(UUID().uuidString)".utf8))
                .json["sha256"] as? String)
        let attachShared = #"{"name":"s.txt","contentType":"text/plain","size":43,"sha256":"\#(shared)"}"#
        _ = try await ServeNodesTests.post(
            port, "/v1/threads/\(thread)/messages", bob, #"{"body":"shared file","attachments":[\#(attachShared)]}"#)
        let kept = try #require(
            try await ServeNodesTests.post(
                port, "/v1/threads", bob,
                #"{"subject":{"kind":"request","ref":"R-2"},"title":"Kept","body":"shared","attachments":[\#(attachShared)]}"#
            )["id"] as? String)
        _ = try await ServeNodesTests.post(port, "/v1/threads/\(kept)/legal-hold", Self.admin, #"{"reason":"litigation"}"#)
        let sharedFile = otherData.blobPath(sha256: shared)
        let blobFile = otherData.blobPath(sha256: sha)
        #expect(FileManager.default.fileExists(atPath: blobFile), "the upload is not in the node's blobs")
        #expect(!FileManager.default.fileExists(atPath: DataDirectory(unchecked: dataDirectories[leader]).blobPath(sha256: sha)))
        #expect(try await send(port: port, .get, "/v1/threads/\(thread)", token: bob).status == 200)
        // The node's views hold the text (its file is written once the projector commits).
        var before: [String] = []
        for _ in 0..<100 {
            before = try files(containing: Array(secret.utf8), under: otherData.views)
            if !before.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(!before.isEmpty, "the text should be in the node's views before the purge")

        // Retention on the elected node's directory, beside its running service (`threadlog retention
        // --store URL --data DIR`), judged far in the future so the thread is due: it appends
        // thread.purged, erases the payloads in the log and vacuums it.
        let purge = try run(
            productPath("threadlog"),
            ["retention", "--store", url, "--data", dataDirectories[leader], "--as-of", "2100-01-01"],
            environment: RetentionToolPostgresTests.toolEnvironment())
        #expect(purge.status == 0, "\(purge.stdout) \(purge.stderr)")
        #expect(purge.stdout.contains("purged \(thread) (request R-1)"), "\(purge.stdout)")
        #expect(purge.stdout.contains("held \(kept): legal hold"), "\(purge.stdout)")
        let store = try PostgresEventStore.open(url: url, create: false)
        defer { store.close() }
        let purged = try store.readStream("thread-\(thread)", fromVersion: 1, limit: 100).last
        #expect(purged?.type == "thread.purged")
        #expect(purged?.schemaVersion == 2)
        let purgedData = String(decoding: purged?.data ?? [], as: UTF8.self)
        #expect(purgedData.contains(sha) && purgedData.contains(shared), "\(purgedData)")

        // The node that is not elected follows: its file and the text in its views are gone.
        var blobGone = false
        var left: [String] = before
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            blobGone = !FileManager.default.fileExists(atPath: blobFile)
            left = try files(containing: Array(secret.utf8), under: otherData.views)
            if blobGone && left.isEmpty { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(blobGone, "the purged thread's attachment is still in \(blobFile)")
        #expect(FileManager.default.fileExists(atPath: sharedFile), "a file a live thread references was deleted")
        #expect(try await send(port: port, .get, "/v1/threads/\(kept)", token: bob).status == 200)
        #expect(left.isEmpty, "the text is still in \(left)")
        #expect(try await send(port: port, .get, "/v1/threads/\(thread)", token: bob).status == 410)
        #expect(FileManager.default.fileExists(atPath: otherData.root + "/purges-applied"))
        // The elected node applies it to its own views as well.
        let leaderViews = DataDirectory(unchecked: dataDirectories[leader]).views
        var leaderLeft: [String] = []
        for _ in 0..<100 {
            leaderLeft = try files(containing: Array(secret.utf8), under: leaderViews)
            if leaderLeft.isEmpty { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(leaderLeft.isEmpty, "the text is still in the elected node's \(leaderLeft)")
        #expect(try await send(port: nodes[leader].port, .get, "/v1/threads/\(thread)", token: bob).status == 410)

        for node in nodes { node.signal(SIGTERM) }
        for node in nodes { #expect(await node.waitForExit() == 0) }
    }
}

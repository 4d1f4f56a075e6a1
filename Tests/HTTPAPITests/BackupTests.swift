import Foundation
import Testing
import TestSupport

@Suite("threadlog backup")
struct BackupTests {
    @Test("a backup taken under load verifies, and a service on it answers as the original did up to its position")
    func hotBackup() async throws {
        let directory = try TempDirectory()
        let data = directory.sub("data")
        let copy = directory.sub("copy")
        let admin = "backup-admin-token"
        let server = try ServeProcess.start(
            data: data,
            environment: ["THREADLOG_ADMIN_TOKEN": admin, "THREADLOG_REPLY_ADDRESS": "reply+{token}@threads.example"])
        let port = server.port
        #expect(
            try await send(port: port, .post, "/v1/parties", token: admin, body: #"{"id":"sup","name":"Sup","kind":"external"}"#)
                .status == 201)
        let user = try await send(
            port: port, .post, "/v1/users", token: admin,
            body: #"{"id":"bob","name":"Bob","email":"bob@example.test","party":"sup","roles":["supplier"]}"#)
        let token = try #require(user.json["token"] as? String)
        let opened = try await send(
            port: port, .post, "/v1/threads", token: token, body: #"{"subject":{"kind":"request","ref":"R-1"},"title":"T"}"#)
        let thread = try #require(opened.json["id"] as? String)
        let upload = try await send(port: port, .post, "/v1/blobs", token: token, bytes: Array("kept bytes".utf8))
        let sha = try #require(upload.json["sha256"] as? String)
        #expect(
            try await send(
                port: port, .post, "/v1/threads/\(thread)/messages", token: token,
                body: #"{"body":"file","attachments":[{"name":"a.txt","contentType":"text/plain","size":10,"sha256":"\#(sha)"}]}"#
            ).status == 201)

        // Four clients post while the backup runs.
        let before = try await send(port: port, .get, "/healthz").json["position"] as? Int ?? 0
        let posting = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<4 {
                    group.addTask {
                        for sequence in 0..<60 {
                            _ = try await send(
                                port: port, .post, "/v1/threads/\(thread)/messages", token: token,
                                body: #"{"body":"client \#(client) message \#(sequence)"}"#)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let threadlog = productPath("threadlog")
        let backup = try run(threadlog, ["backup", "--data", data, "--to", copy])
        try await posting.value
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(backup.stdout.contains("up to position"), "\(backup.stdout)")
        // The reply addresses' key goes with the copy, private as it was: its addresses keep working.
        let key = try #require(FileManager.default.contents(atPath: data + "/reply-key"))
        #expect(FileManager.default.contents(atPath: copy + "/reply-key") == key)
        let mode = try FileManager.default.attributesOfItem(atPath: copy + "/reply-key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let verify = try run(threadlog, ["replay", "--verify", "--data", copy])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        // A second backup into the now non-empty directory is refused with one line.
        let again = try run(threadlog, ["backup", "--data", data, "--to", copy])
        #expect(again.status == 1)
        #expect(again.stderr.split(separator: "\n").count == 1)

        let all = try await allMessages(port: port, thread: thread, token: token)
        server.signal(SIGTERM)
        _ = await server.waitForExit()
        let restored = try ServeProcess.start(data: copy, environment: ["THREADLOG_ADMIN_TOKEN": admin])
        let position = try #require(try await send(port: restored.port, .get, "/healthz").json["position"] as? Int)
        #expect(position >= before)
        // Thread views are paged: both sides are read page by page.
        let copied = try await allMessages(port: restored.port, thread: thread, token: token)
        // The copy holds a prefix of the original's messages: the ones up to its position.
        #expect(copied.count >= 1 && copied.count <= all.count)
        for (a, b) in zip(copied, all) {
            #expect(a["number"] as? Int == b["number"] as? Int)
            #expect(a["body"] as? String == b["body"] as? String)
        }
        let blob = try await send(port: restored.port, .get, "/v1/blobs/\(sha)", token: token)
        #expect(blob.status == 200)
        #expect(blob.text == "kept bytes")
        restored.signal(SIGTERM)
        #expect(await restored.waitForExit() == 0)
    }
}

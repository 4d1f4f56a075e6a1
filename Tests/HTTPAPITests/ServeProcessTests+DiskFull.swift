import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ServeProcessTests {
    @Test("a full disk answers 507 storage_full once logged, reads go on, nothing acknowledged is lost, writes resume once space returns")
    func fullDisk() async throws {
        let disk = try SmallDisk(megabytes: 8)
        let data = disk.path + "/data"
        let admin = "disk-admin-token"
        let server = try ServeProcess.start(
            data: data, environment: ["THREADLOG_ADMIN_TOKEN": admin, "THREADLOG_PROJECTION_INTERVAL_MS": "0"])
        defer {
            server.signal(SIGKILL)
            server.process.wait(seconds: 10)
        }
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

        // About 1.5 MB left: about two hundred posts of 8 kB until the disk is full.
        let filler = try disk.fill("filler", bytes: disk.available - (3 << 19))
        let text = String(repeating: "full disk ", count: 800)
        var acknowledged: [String] = []
        var refused: Reply?
        let deadline = ContinuousClock.now + .seconds(120)
        while refused == nil && ContinuousClock.now < deadline {
            let posted = try await send(
                port: port, .post, "/v1/threads/\(thread)/messages", token: token,
                body: #"{"body":"\#(text)\#(acknowledged.count)"}"#)
            if posted.status == 201 {
                acknowledged.append(try #require(posted.json["id"] as? String))
            } else {
                refused = posted
            }
        }
        let refusal = try #require(refused, "no refusal after \(acknowledged.count) posts")
        #expect(refusal.status == 507, "\(refusal.status) \(refusal.text)")
        #expect(refusal.errorCode == "storage_full", "\(refusal.text)")
        #expect(acknowledged.count > 20)
        // Still full: refused again, logged once.
        let again = try await send(
            port: port, .post, "/v1/threads/\(thread)/messages", token: token, body: #"{"body":"while full"}"#)
        #expect(again.status == 507)

        // Reads go on, and show every acknowledged message.
        #expect(try await send(port: port, .get, "/healthz").status == 200)
        #expect(try await send(port: port, .get, "/v1/inbox", token: token).status == 200)
        // Thread views are paged: read every page.
        let present = Set(try await allMessages(port: port, thread: thread, token: token).compactMap { $0["id"] as? String })
        #expect(acknowledged.filter { !present.contains($0) }.isEmpty, "\(acknowledged.count) acknowledged, \(present.count) shown")
        #expect(server.stderr.components(separatedBy: "disk full").count - 1 == 1, "\(server.stderr.suffix(2000))")

        // Space returns: the next post is taken without a restart and read back.
        try FileManager.default.removeItem(atPath: filler)
        let resumed = try await send(
            port: port, .post, "/v1/threads/\(thread)/messages", token: token, body: #"{"body":"space again"}"#)
        #expect(resumed.status == 201, "\(resumed.text)")
        let id = try #require(resumed.json["id"] as? String)
        let after = try await send(port: port, .get, "/v1/threads/\(thread)", token: token)
        #expect((after.json["messages"] as? [[String: Any]] ?? []).contains { $0["id"] as? String == id })
        #expect(server.process.isRunning)

        let verify = try await onThread { try run(productPath("threadlog"), ["replay", "--verify", "--data", data]) }
        #expect(verify.status == 0, "\(verify.stderr)")
    }
}

import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ServeProcessTests {
    @Test("a second serve on one data directory is refused with one line before it writes or binds; kill -9 frees it")
    func secondServeRefused() async throws {
        let directory = try TempDirectory()
        let data = directory.sub("data")
        let admin = "lock-admin-token"
        let first = try ServeProcess.start(data: data, environment: ["THREADLOG_ADMIN_TOKEN": admin])
        var firstAlive = true
        defer { if firstAlive { first.signal(SIGKILL); first.process.wait(seconds: 10) } }
        #expect(
            try await send(
                port: first.port, .post, "/v1/parties", token: admin, body: #"{"id":"p","name":"P","kind":"external"}"#
            ).status == 201)
        let before = try Self.fileNames(data)

        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("THREADLOG_") }
            .merging(["THREADLOG_ADMIN_TOKEN": admin]) { _, new in new }
        let second = try await onThread {
            try run(productPath("threadlog"), ["serve", "--data", data, "--port", "0"], environment: environment)
        }
        #expect(second.status == 1)
        let lines = second.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(second.stderr)")
        #expect(lines.first?.contains("another threadlog serve is running on \(data)") == true, "\(second.stderr)")
        #expect(!second.stdout.contains("listening"), "\(second.stdout)")
        #expect(try Self.fileNames(data) == before)

        // The other tools still run beside the service.
        let verify = try await onThread { try run(productPath("threadlog"), ["replay", "--verify", "--data", data]) }
        #expect(verify.status == 0, "\(verify.stderr)")
        // The first still answers.
        #expect(try await send(port: first.port, .get, "/v1/settings", token: admin).status == 200)

        first.signal(SIGKILL)
        #expect(first.process.wait(seconds: 10) != nil)
        firstAlive = false
        let next = try ServeProcess.start(data: data, environment: ["THREADLOG_ADMIN_TOKEN": admin])
        defer {
            next.signal(SIGKILL)
            next.process.wait(seconds: 10)
        }
        let events = try await send(port: next.port, .get, "/v1/events?from=1&limit=10", token: admin)
        #expect(events.status == 200)
        #expect(events.text.contains("party.created"))
    }

    /// The names of the files under `root`: the refused serve adds none (the first one's projections
    /// may still be writing to theirs, so contents are not compared).
    static func fileNames(_ root: String) throws -> Set<String> {
        Set(FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? [])
    }
}

import Foundation
import HTTPTypes
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A `threadlog serve` child with a party, users, a service token and a thread, so that reads have
/// something to read.
struct SeededServe {
    static let adminToken = "fuzz-admin-token-0123456789abcdef"
    let directory: TempDirectory
    let server: ServeProcess
    var user: String
    var service: String
    var thread: String
    var port: Int { server.port }

    static func start() async throws -> SeededServe {
        let directory = try TempDirectory()
        let server = try ServeProcess.start(
            data: directory.sub("data"), environment: ["THREADLOG_ADMIN_TOKEN": adminToken])
        let admin = adminToken
        func post(_ path: String, _ token: String, _ body: String, expect: Int = 201) async throws -> [String: Any] {
            let reply = try await send(port: server.port, .post, path, token: token, body: body)
            guard reply.status == expect else { throw TestFailure("\(path): \(reply.status) \(reply.text)") }
            return reply.json
        }
        _ = try await post("/v1/parties", admin, #"{"id":"acme","name":"Acme","kind":"internal"}"#)
        _ = try await post("/v1/parties", admin, #"{"id":"sup","name":"Supplier","kind":"external"}"#)
        _ = try await post(
            "/v1/users", admin, #"{"id":"ann","name":"Ann","email":"ann@example.test","party":"acme","roles":["handler"]}"#)
        let bob = try await post(
            "/v1/users", admin, #"{"id":"bob","name":"Bob","email":"bob@example.test","party":"sup","roles":["supplier"]}"#)
        let service = try await post("/v1/service-tokens", admin, #"{"name":"indexer"}"#)
        _ = try await post("/v1/subjects", admin, #"{"kind":"contract","ref":"C-1","parties":["sup"]}"#, expect: 200)
        let bobToken = try #require(bob["token"] as? String)
        let opened = try await post(
            "/v1/threads", bobToken, #"{"subject":{"kind":"contract","ref":"C-1"},"title":"Invoice","body":"Hello"}"#)
        let thread = try #require(opened["id"] as? String)
        _ = try await post("/v1/threads/\(thread)/messages", bobToken, #"{"body":"a second message"}"#)
        return SeededServe(
            directory: directory, server: server, user: bobToken,
            service: try #require(service["token"] as? String), thread: thread)
    }

    /// The log's head as `/healthz` reports it.
    func position() async throws -> Int {
        let reply = try await send(port: port, .get, "/healthz")
        guard reply.status == 200, let position = reply.json["position"] as? Int else {
            throw TestFailure("healthz: \(reply.status) \(reply.text)")
        }
        return position
    }

    func stop() async {
        server.signal(SIGTERM)
        _ = await server.waitForExit()
    }
}

@Suite("the API under generated input (schemathesis)", .tags(.slow))
struct APIFuzzTests {
    /// Examples per operation and phase; `make fuzz` raises it.
    static let examples = ProcessInfo.processInfo.environment["THREADLOG_FUZZ_EXAMPLES"].flatMap(Int.init) ?? 12

    @Test("admin, user and service tokens: no 5xx, every error in the documented shape, no refusal appends, the server lives")
    func schemathesisRun() async throws {
        let root = SMTPTestServer.root
        let schemathesis = root + "/.venv/bin/schemathesis"
        try #require(FileManager.default.isExecutableFile(atPath: schemathesis), "make deps installs schemathesis")
        let serve = try await SeededServe.start()
        let output = try TempDirectory()
        // The admin last: its run may replace or revoke the others' tokens.
        for (who, token) in [("user", serve.user), ("service", serve.service), ("admin", SeededServe.adminToken)] {
            let log = output.sub("\(who).log")
            let arguments = [
                "run", root + "/Schemas/openapi.json", "--url", "http://127.0.0.1:\(serve.port)",
                "-H", "Authorization: Bearer \(token)",
                "--checks", "not_a_server_error,error_in_documented_shape,refusal_appends_nothing",
                "--workers", "1", "--max-examples", String(Self.examples), "--seed", "16",
                "--phases", "examples,coverage,fuzzing", "--request-timeout", "10",
                "--suppress-health-check", "all", "--generation-database", "none", "--no-color",
                "--continue-on-failure",
            ]
            var environment = ProcessInfo.processInfo.environment
            environment["SCHEMATHESIS_HOOKS"] = "hooks"
            environment["PYTHONPATH"] = root + "/Tools/api-fuzz"
            environment["THREADLOG_FUZZ_URL"] = "http://127.0.0.1:\(serve.port)"
            let process = try Child(
                schemathesis, arguments, environment: environment, directory: output.path, stdout: .file(log),
                stderr: .output)
            let status = await process.exit().status
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(status == 0, "schemathesis as \(who):\n\(text.suffix(6000))")
            #expect(serve.server.process.isRunning, "the server died during the \(who) run")
        }
        // Still alive and answering, promptly.
        let start = ContinuousClock.now
        let health = try await send(port: serve.port, .get, "/healthz")
        #expect(health.status == 200)
        #expect(ContinuousClock.now - start < .seconds(2))
        await serve.stop()
    }
}

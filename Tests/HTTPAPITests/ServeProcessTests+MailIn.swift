import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Replies by mail through a real `threadlog serve`: the notification aiosmtpd receives carries the
/// reply address, a mail sent to it over SMTP to the service's own listener becomes a message that the
/// HTTP API shows, and SIGTERM stops the listener with the rest.
@Suite("threadlog serve receives replies by mail", .serialized)
struct ServeMailInTests {
    @Test("a notification's Reply-To, answered by mail, is a message of the thread by its recipient")
    func replyRoundTrip() async throws {
        let directory = try TempDirectory()
        let smtp = try SMTPTestServer()
        defer { smtp.stop() }
        let admin = "admin-mail-in-test"
        let served = try ServeProcess.start(
            data: directory.sub("data"),
            environment: [
                "THREADLOG_ADMIN_TOKEN": admin, "THREADLOG_SMTP_URL": smtp.url,
                "THREADLOG_MAIL_FROM": "Threadlog <noreply@threads.example>", "THREADLOG_MAIL_POLL_MS": "50",
                "THREADLOG_REPLY_ADDRESS": "reply+{token}@threads.example",
                "THREADLOG_INBOUND_SMTP": "127.0.0.1:0",
            ])
        defer {
            if served.process.isRunning {
                served.signal(SIGKILL)
                served.process.wait()
            }
        }
        let inboundPort = try await Self.inboundPort(served)
        let port = served.port

        func post(_ path: String, _ token: String, _ body: String) async throws -> [String: Any] {
            let reply = try await send(port: port, .post, path, token: token, body: body)
            guard (200..<300).contains(reply.status) else {
                throw TestFailure("\(path): \(reply.status) \(reply.text)")
            }
            return reply.json
        }
        _ = try await post("/v1/parties", admin, #"{"id":"ops","name":"Ops","kind":"internal"}"#)
        _ = try await post("/v1/parties", admin, #"{"id":"sup","name":"Supplier","kind":"external"}"#)
        let ann = try #require(
            try await post(
                "/v1/users", admin,
                #"{"id":"ann","name":"Ann","email":"ann@ops.example","party":"ops","roles":["handler"]}"#)["token"]
                as? String)
        let bob = try #require(
            try await post(
                "/v1/users", admin,
                #"{"id":"bob","name":"Bob","email":"bob@sup.example","party":"sup","roles":["supplier"]}"#)["token"]
                as? String)
        _ = try await post("/v1/subjects", admin, #"{"kind":"contract","ref":"C-7","parties":["sup"]}"#)
        let thread = try #require(
            try await post(
                "/v1/threads", bob, #"{"subject":{"kind":"contract","ref":"C-7"},"title":"Invoice","body":"Paid?"}"#)[
                    "id"]
                as? String)
        _ = try await post("/v1/threads/\(thread)/messages", ann, #"{"body":"Which invoice?"}"#)

        // Bob's notification of Ann's answer, with his reply address.
        var replyTo: String?
        let deadline = Date().addingTimeInterval(30)
        while replyTo == nil, Date() < deadline {
            for mail in try smtp.messages() where mail.envelope.recipients == ["bob@sup.example"] {
                let parsed = try mail.parsed()
                if parsed.subject.hasPrefix("New message") {
                    replyTo = parsed.headers.first { $0[0] == "Reply-To" }?[1]
                }
            }
            if replyTo == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let address = try #require(replyTo, "no notification with a Reply-To reached bob")
        #expect(address.hasPrefix("reply+") && address.hasSuffix("@threads.example"))

        let result = try await onThread {
            try ReplyMailScript.send(
                [
                    "from": "Bob <bob@sup.example>", "to": address, "subject": "Re: New message",
                    "message_id": "<bob-reply@sup.example>",
                    "text":
                        "Invoice 4711.\n\nOn Mon, 7 Dec 2026, Threadlog <noreply@threads.example> wrote:\n> Which invoice?\n",
                ], port: inboundPort)
        }
        #expect(result.ok, "\(result)")
        let shown = try await send(port: port, .get, "/v1/threads/\(thread)", token: bob)
        let messages = try #require(shown.json["messages"] as? [[String: Any]])
        let last = try #require(messages.last)
        #expect(last["body"] as? String == "Invoice 4711.")
        #expect((last["author"] as? [String: Any])?["id"] as? String == "bob")

        served.signal(SIGTERM)
        #expect(await served.waitForExit() == 0)
    }

    static func inboundPort(_ served: ServeProcess) async throws -> Int {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let text = served.stdout
            if let range = text.range(of: "receiving mail on 127.0.0.1:"),
                let port = Int(text[range.upperBound...].prefix { $0.isNumber })
            {
                return port
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("the service did not say where it receives mail: \(served.stdout)")
    }
}

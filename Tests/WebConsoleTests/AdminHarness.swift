import Engine
import EventLog
import Foundation
import HTTPAPI
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import TestSupport
import WebConsole

/// The console's administration tests use the one harness, with mail when they give an SMTP server.
typealias AdminHarness = ConsoleHarness

extension ConsoleHarness {
    /// A form of a signed-in browser, with its CSRF token.
    func post(_ path: String, _ browser: Browser, _ fields: [(String, String)], cookies: [String: String] = [:])
        async throws -> Reply
    {
        try await call(
            .post, path, form: [("csrf", browser.csrf)] + fields, cookies: cookies.merging(browser.cookies) { $1 })
    }

    /// An API call as the administrator that must answer `expected`.
    @discardableResult
    func admin(_ method: HTTPRequest.Method, _ path: String, _ json: String? = nil, expect expected: Int) async throws
        -> Reply
    {
        let reply = try await call(method, path, token: Self.adminToken, json: json)
        guard reply.status == expected else { throw TestFailure("\(method) \(path): \(reply.status) \(reply.text)") }
        return reply
    }

    /// An internal handler (ann), a supplier (bob) with his contract chat, in which ann answered.
    func seedAnswered() async throws -> Cast {
        try await seed(nameSuffix: " Person", answer: "We are looking into it")
    }

    /// Waits until `condition` holds (or fails after `timeout`).
    func eventually(
        _ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool
    ) async throws {
        let start = ContinuousClock.now
        while try await !condition() {
            if ContinuousClock.now - start > timeout { throw TestFailure("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

func withAdminConsole<T>(
    smtp: SMTPTestServer? = nil, linkLifetime: Duration = .seconds(900), _ body: (AdminHarness) async throws -> T
) async throws -> T {
    try await withConsole(smtp: smtp, linkLifetime: linkLifetime, body)
}

extension Reply {
    /// The text of the element with this id (up to its first `<`), HTML entities left as they are.
    func element(_ id: String) -> String? {
        guard let start = text.range(of: #"id="\#(id)">"#) else { return nil }
        return String(text[start.upperBound...].prefix { $0 != "<" })
    }
}

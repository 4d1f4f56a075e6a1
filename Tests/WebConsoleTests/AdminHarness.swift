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

/// A real server as `threadlog serve` runs it, with the console's administration: the admin token
/// signs in, the notification outbox and its SMTP sender run beside it (mailing to `smtp` when
/// given), and the sign-in link is offered when mail is configured.
final class AdminHarness: Sendable {
    static let adminToken = "admin-token-for-administration-tests"
    static let publicURL = "http://console.example.test"

    let directory: TempDirectory
    let store: LMDBEventStore
    let port: Int
    private let task: Task<Void, any Error>

    private init(directory: TempDirectory, store: LMDBEventStore, port: Int, task: Task<Void, any Error>) {
        self.directory = directory
        self.store = store
        self.port = port
        self.task = task
    }

    static func start(smtp: SMTPTestServer? = nil, linkLifetime: Duration = .seconds(900)) async throws -> AdminHarness
    {
        let directory = try TempDirectory()
        let data = try DataDirectory(directory.sub("data"), create: true)
        let store = try LMDBEventStore.open(directory: data.log)
        let handler = CommandHandler(store: store)
        var logger = Logger(label: "threadlog.admin-console-test")
        logger.logLevel = .warning
        let views = try ViewStore.open(directory: data.views)
        let models = ReadModels(log: store, views: views, commitInterval: nil, logger: logger)
        var environment = [
            "THREADLOG_PUBLIC_URL": publicURL, "THREADLOG_MAIL_POLL_MS": "50", "THREADLOG_MAIL_BACKOFF_MS": "100",
            "THREADLOG_PROJECTION_INTERVAL_MS": "0",
        ]
        if let smtp {
            environment["THREADLOG_SMTP_URL"] = smtp.url
            environment["THREADLOG_MAIL_FROM"] = "Threadlog <noreply@console.example.test>"
        }
        let mail = try NotificationConfiguration(environment: environment)
        let notifications = try NotificationServices.make(
            log: store, views: views, readModels: models, handler: handler, configuration: mail, logger: logger)
        let projector = try NotificationServices.projector(
            log: store, views: views, environment: environment, logger: logger)
        let outbox = try Outbox(views: views)
        let readSide = ReadSide.projected(models).adding(notifications)
            .reporting("notifications", lag: { try projector.lag() }).with(outbox)
        let links = mail.smtp.map { _ in
            SignInLinkConfiguration(
                publicURL: mail.publicURL, messageIDDomain: mail.messageIDDomain, lifetime: linkLifetime)
        }
        let console = WebConsole(
            handler: handler, queries: readSide.queries,
            configuration: WebConsoleConfiguration(
                heartbeat: .milliseconds(200), adminTokenHash: Tokens.hash(adminToken), signInLinks: links),
            operations: ConsoleOperations(outbox: outbox, lags: { readSide.lags() }), logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = try ThreadlogHTTPServer(
            configuration: APIConfiguration(
                host: "127.0.0.1", port: 0, adminTokenHash: Tokens.hash(adminToken), blobDirectory: data.blobs,
                headerTimeout: .seconds(30)),
            store: store, handler: handler, readSide: readSide, logger: logger, console: console,
            onListening: { port in continuation.yield(port) })
        let task = Task { try await server.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("the server did not start") }
        return AdminHarness(directory: directory, store: store, port: port, task: task)
    }

    func stop() async {
        task.cancel()
        _ = await task.result
        store.close()
    }

    /// One request on a fresh connection; `cookies` become a `Cookie` header, `form` an URL-encoded body.
    func call(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: String? = nil,
        form: [(String, String)]? = nil, cookies: [String: String] = [:]
    ) async throws -> Reply {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "Bearer \(token)" }
        if !cookies.isEmpty {
            fields[.cookie] = cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
        }
        var body: ByteBuffer?
        if let json {
            fields[.contentType] = "application/json"
            body = ByteBuffer(string: json)
        }
        if let form {
            fields[.contentType] = "application/x-www-form-urlencoded"
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            body = ByteBuffer(
                string: form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
                    .joined(separator: "&"))
        }
        let requestFields = fields
        let payload = body
        let response = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            try await client.execute(TestClient.Request(path, method: method, headers: requestFields, body: payload))
        }
        var buffer = response.body ?? ByteBuffer()
        return Reply(
            status: response.status.code, headers: response.headers,
            text: buffer.readString(length: buffer.readableBytes) ?? "")
    }

    /// Signs in through the form with a token (a user's or the admin's); answers the session and the
    /// CSRF token of its pages, read from `landing`.
    func signIn(_ token: String, landing: String = "/inbox", cookies extra: [String: String] = [:]) async throws
        -> Browser
    {
        let form = try await call(.get, "/sign-in")
        guard let pre = form.cookie("tl_signin")?.value, let csrf = form.csrf else {
            throw TestFailure("no sign-in form: \(form.status) \(form.text)")
        }
        let reply = try await call(
            .post, "/sign-in", form: [("csrf", csrf), ("next", ""), ("token", token)], cookies: ["tl_signin": pre])
        guard reply.status == 303, let session = reply.cookie("tl_session")?.value else {
            throw TestFailure("sign-in: \(reply.status) \(reply.text)")
        }
        let page = try await call(.get, landing, cookies: extra.merging(["tl_session": session]) { $1 })
        guard page.status == 200, let sessionCSRF = page.csrf else {
            throw TestFailure("\(landing) after sign-in: \(page.status)")
        }
        return Browser(session: session, csrf: sessionCSRF)
    }

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
    func seed() async throws -> (ann: String, bob: String, thread: String) {
        try await admin(.post, "/v1/parties", #"{"id":"acme","name":"Acme","kind":"internal"}"#, expect: 201)
        try await admin(.post, "/v1/parties", #"{"id":"sup","name":"Supplier Ltd","kind":"external"}"#, expect: 201)
        func user(_ id: String, _ party: String, _ role: String) async throws -> String {
            let reply = try await admin(
                .post, "/v1/users",
                #"{"id":"\#(id)","name":"\#(id.capitalized) Person","email":"\#(id)@example.test","party":"\#(party)","roles":["\#(role)"]}"#,
                expect: 201)
            guard let token = reply.json["token"] as? String else { throw TestFailure("no token: \(reply.text)") }
            return token
        }
        let ann = try await user("ann", "acme", "handler")
        let bob = try await user("bob", "sup", "supplier")
        try await admin(.post, "/v1/subjects", #"{"kind":"contract","ref":"C-1","parties":["sup"]}"#, expect: 200)
        let opened = try await call(
            .post, "/v1/threads", token: bob,
            json: #"{"subject":{"kind":"contract","ref":"C-1"},"title":"Invoice question","body":"Hello"}"#)
        guard opened.status == 201, let thread = opened.json["id"] as? String else {
            throw TestFailure("open: \(opened.status) \(opened.text)")
        }
        let answered = try await call(
            .post, "/v1/threads/\(thread)/messages", token: ann, json: #"{"body":"We are looking into it"}"#)
        guard answered.status == 201 else { throw TestFailure("answer: \(answered.status) \(answered.text)") }
        return (ann, bob, thread)
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
    let harness = try await AdminHarness.start(smtp: smtp, linkLifetime: linkLifetime)
    do {
        let value = try await body(harness)
        await harness.stop()
        return value
    } catch {
        await harness.stop()
        throw error
    }
}

extension Reply {
    /// The text of the element with this id (up to its first `<`), HTML entities left as they are.
    func element(_ id: String) -> String? {
        guard let start = text.range(of: #"id="\#(id)">"#) else { return nil }
        return String(text[start.upperBound...].prefix { $0 != "<" })
    }
}

import Engine
import EventLog
import Foundation
import HTTPAPI
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import SMTP
import TestSupport
import WebConsole

/// An answer as the tests look at it.
struct Reply: Sendable {
    var status: Int
    var headers: HTTPFields
    var text: String

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// The value a `Set-Cookie` header of the answer gives `name`, with the whole header line.
    func cookie(_ name: String) -> (value: String, line: String)? {
        for line in headers[values: .setCookie] where line.hasPrefix(name + "=") {
            let value = line.dropFirst(name.count + 1).prefix { $0 != ";" }
            return (String(value), line)
        }
        return nil
    }

    /// The value of the first hidden `csrf` field of the page.
    var csrf: String? { hidden("csrf") }

    func hidden(_ name: String) -> String? {
        guard let range = text.range(of: #"name="\#(name)" value=""#) else { return nil }
        return String(text[range.upperBound...].prefix { $0 != "\"" })
    }

    var location: String? { headers[.location] }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A real server as `threadlog serve` runs it, on 127.0.0.1 (a free port) over a real LMDB log in a
/// temporary directory: the web console answering from the projected read models, the admin token
/// signing in to the administration and operations pages, the notification outbox and its SMTP sender
/// beside it (mailing to `smtp` when given, which also offers the sign-in link).
final class ConsoleHarness: Sendable {
    static let adminToken = "admin-token-for-console-tests"
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

    static func start(
        sessionLifetime: Duration = .seconds(3600), maxUploadBytes: Int = 11 << 20, smtp: SMTPTestServer? = nil,
        linkLifetime: Duration = .seconds(900)
    ) async throws -> ConsoleHarness {
        let directory = try TempDirectory()
        let data = try DataDirectory(directory.sub("data"), create: true)
        let store = try LMDBEventStore.open(directory: data.log)
        let handler = CommandHandler(store: store)
        var logger = Logger(label: "threadlog.console-test")
        logger.logLevel = .warning
        let views = try ViewStore.open(directory: data.views)
        let models = ReadModels(log: store, views: views, commitInterval: nil, logger: logger)
        let mail = NotificationConfiguration(
            smtp: try smtp.map { try SMTPConfiguration(url: $0.url, from: "Threadlog <noreply@console.example.test>") },
            publicURL: publicURL, pollInterval: .milliseconds(50), initialBackoff: .milliseconds(100),
            maxBackoff: .milliseconds(6400), commitInterval: .zero)
        let notifications = try NotificationServices(
            log: store, views: views, readModels: models, handler: handler, configuration: mail, logger: logger)
        let outbox = notifications.outbox
        let readSide = ReadSide.projected(models).adding(notifications.services)
            .reporting("notifications", lag: { try notifications.projector.lag() }).with(outbox)
        let links = mail.smtp.map { _ in
            SignInLinkConfiguration(
                publicURL: mail.publicURL, messageIDDomain: mail.messageIDDomain, lifetime: linkLifetime)
        }
        let blobs = try BlobAccess(directory: data.blobs, handler: handler)
        let console = WebConsole(
            handler: handler, queries: readSide.queries, blobs: blobs,
            configuration: WebConsoleConfiguration(
                sessionLifetime: sessionLifetime, heartbeat: .milliseconds(200), adminTokenHash: Tokens.hash(adminToken),
                signInLinks: links, maxUploadBytes: maxUploadBytes),
            operations: ConsoleOperations(outbox: outbox, lags: { readSide.lags() }), logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = try ThreadlogHTTPServer(
            configuration: APIConfiguration(
                host: "127.0.0.1", port: 0, adminTokenHash: Tokens.hash(adminToken), blobDirectory: data.blobs,
                headerTimeout: .seconds(30)),
            handler: handler, readSide: readSide, logger: logger, console: console, blobs: blobs,
            onListening: { port in continuation.yield(port) })
        let task = Task { try await server.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("the server did not start") }
        return ConsoleHarness(directory: directory, store: store, port: port, task: task)
    }

    func stop() async {
        task.cancel()
        _ = await task.result
        store.close()
    }

    /// One request on a fresh connection; `cookies` become a `Cookie` header, `form` an URL-encoded body.
    func call(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: String? = nil,
        form: [(String, String)]? = nil, raw: (contentType: String, body: ByteBuffer)? = nil,
        cookies: [String: String] = [:], headers: [String: String] = [:]
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
                string: form.map {
                    "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
                }.joined(separator: "&"))
        }
        if let raw {
            fields[.contentType] = raw.contentType
            body = raw.body
        }
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
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

    func lastPosition() throws -> UInt64 { try store.lastPosition() }

    /// Where the blob store keeps the bytes of a digest (`DIR/blobs/ab/cdef…`).
    func blobPath(_ sha256: String) -> String {
        directory.sub("data") + "/blobs/" + sha256.prefix(2) + "/" + sha256.dropFirst(2)
    }

    /// Signs in through the form with a token (a user's or the admin's), as a browser does; answers the
    /// session cookie and the CSRF token of its pages, read from `landing`.
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
}

/// A signed-in browser: its session cookie and the CSRF token of its forms.
struct Browser: Sendable {
    var session: String
    var csrf: String
    var cookies: [String: String] { ["tl_session": session] }
}

func withConsole<T>(
    sessionLifetime: Duration = .seconds(3600), maxUploadBytes: Int = 11 << 20, smtp: SMTPTestServer? = nil,
    linkLifetime: Duration = .seconds(900), _ body: (ConsoleHarness) async throws -> T
) async throws -> T {
    let harness = try await ConsoleHarness.start(
        sessionLifetime: sessionLifetime, maxUploadBytes: maxUploadBytes, smtp: smtp, linkLifetime: linkLifetime)
    do {
        let value = try await body(harness)
        await harness.stop()
        return value
    } catch {
        await harness.stop()
        throw error
    }
}

/// An internal handler (ann), a supplier (bob) with his contract chat, and an outsider (eve).
struct Cast: Sendable {
    var ann: String
    var bob: String
    var eve: String
    var thread: String
}

extension ConsoleHarness {
    /// `nameSuffix` follows each person's name ("Ann" + " Person"); `answer`, when given, is ann's
    /// answer in the chat.
    func seed(nameSuffix: String = "", answer: String? = nil) async throws -> Cast {
        let admin = Self.adminToken
        for party in [
            #"{"id":"acme","name":"Acme","kind":"internal"}"#, #"{"id":"sup","name":"Supplier Ltd","kind":"external"}"#,
            #"{"id":"other","name":"Other Co","kind":"external"}"#,
        ] {
            let reply = try await call(.post, "/v1/parties", token: admin, json: party)
            guard reply.status == 201 else { throw TestFailure("party: \(reply.status) \(reply.text)") }
        }
        func user(_ id: String, _ party: String, _ role: String) async throws -> String {
            let reply = try await call(
                .post, "/v1/users", token: admin,
                json:
                    #"{"id":"\#(id)","name":"\#(id.capitalized)\#(nameSuffix)","email":"\#(id)@example.test","party":"\#(party)","roles":["\#(role)"]}"#
            )
            guard reply.status == 201, let token = reply.json["token"] as? String else {
                throw TestFailure("user: \(reply.status) \(reply.text)")
            }
            return token
        }
        let ann = try await user("ann", "acme", "handler")
        let bob = try await user("bob", "sup", "supplier")
        let eve = try await user("eve", "other", "supplier")
        let declared = try await call(
            .post, "/v1/subjects", token: admin, json: #"{"kind":"contract","ref":"C-1","parties":["sup"]}"#)
        guard declared.status == 200 else { throw TestFailure("subject: \(declared.status) \(declared.text)") }
        let opened = try await call(
            .post, "/v1/threads", token: bob,
            json: #"{"subject":{"kind":"contract","ref":"C-1"},"title":"Invoice question","body":"Hello"}"#)
        guard opened.status == 201, let thread = opened.json["id"] as? String else {
            throw TestFailure("open: \(opened.status) \(opened.text)")
        }
        if let answer {
            let answered = try await call(
                .post, "/v1/threads/\(thread)/messages", token: ann, json: #"{"body":"\#(answer)"}"#)
            guard answered.status == 201 else { throw TestFailure("answer: \(answered.status) \(answered.text)") }
        }
        return Cast(ann: ann, bob: bob, eve: eve, thread: thread)
    }
}

import Engine
import EventLog
import Foundation
import HTTPAPI
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Subscriptions
import TestSupport

/// An answer as the tests look at it.
struct Reply: Sendable {
    var status: Int
    var headers: HTTPFields
    var bytes: [UInt8]

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The body as a JSON object (empty when it is not one).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
    }

    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }

    var position: UInt64? { headers[HTTPField.Name("X-Threadlog-Position")!].flatMap(UInt64.init) }
}

/// Sends one request on a fresh connection (so a server that closes after a refusal cannot
/// disturb the next request).
func send(
    port: Int, _ method: HTTPRequest.Method, _ path: String, token: String? = nil, body: String? = nil,
    bytes: [UInt8]? = nil, headers: [String: String] = [:]
) async throws -> Reply {
    var fields = HTTPFields()
    if let token { fields[.authorization] = "Bearer \(token)" }
    if body != nil { fields[.contentType] = "application/json" }
    for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
    let requestFields = fields
    let payload = bytes.map { ByteBuffer(bytes: $0) } ?? body.map { ByteBuffer(string: $0) }
    let response = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
        try await client.execute(TestClient.Request(path, method: method, headers: requestFields, body: payload))
    }
    var buffer = response.body ?? ByteBuffer()
    return Reply(
        status: response.status.code, headers: response.headers,
        bytes: buffer.readBytes(length: buffer.readableBytes) ?? [])
}

/// A real server on 127.0.0.1 (a free port) over a real LMDB log in a temporary directory.
final class Harness: Sendable {
    static let adminToken = "admin-token-for-tests"

    let directory: TempDirectory
    let store: LMDBEventStore
    let handler: CommandHandler
    /// The read models the server answers from, when it answers from them.
    let models: ReadModels?
    let port: Int
    private let task: Task<Void, any Error>

    private init(
        directory: TempDirectory, store: LMDBEventStore, handler: CommandHandler, models: ReadModels?, port: Int,
        task: Task<Void, any Error>
    ) {
        self.directory = directory
        self.store = store
        self.handler = handler
        self.models = models
        self.port = port
        self.task = task
    }

    static func start(
        maxBodyBytes: Int = 16 * 1024, maxBlobBytes: Int = 64 * 1024, heartbeat: Duration = .milliseconds(200),
        readKind: ReadKind = .projected, projectionInterval: Duration? = nil, headerTimeout: Duration = .seconds(30),
        idleTimeout: Duration = .seconds(60)
    ) async throws -> Harness {
        let directory = try TempDirectory()
        let data = try DataDirectory(directory.sub("data"), create: true)
        let store = try LMDBEventStore.open(directory: data.log)
        let handler = CommandHandler(store: store)
        var logger = Logger(label: "threadlog.test")
        logger.logLevel = .warning
        var models: ReadModels?
        var readSide: ReadSide
        // The views hold the consumer groups and webhooks, whichever side answers reads.
        let views = try ViewStore.open(directory: data.views)
        switch readKind {
        case .logFold: readSide = .logFold(handler: handler)
        case .projected:
            let projected = ReadModels(
                log: store, views: views, commitInterval: projectionInterval, logger: logger)
            models = projected
            readSide = .projected(projected)
        }
        let subscriptions = try Subscriptions(views: views, log: store)
        readSide = readSide.with(subscriptions).with(try Outbox(views: views)).adding([
            WebhookService(
                store: subscriptions.store, log: store,
                settings: WebhookSettings(backoff: .milliseconds(50), maxBackoff: .milliseconds(400), scanInterval: .milliseconds(50)),
                logger: logger)
        ])
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = try ThreadlogHTTPServer(
            configuration: APIConfiguration(
                host: "127.0.0.1", port: 0, adminTokenHash: Tokens.hash(adminToken), blobDirectory: data.blobs,
                maxBodyBytes: maxBodyBytes, maxBlobBytes: maxBlobBytes, heartbeat: heartbeat,
                headerTimeout: headerTimeout, idleTimeout: idleTimeout),
            handler: handler, readSide: readSide, logger: logger,
            onListening: { port in continuation.yield(port) })
        let task = Task { try await server.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("the server did not start") }
        return Harness(directory: directory, store: store, handler: handler, models: models, port: port, task: task)
    }

    func stop() async {
        task.cancel()
        _ = await task.result
        store.close()
    }

    func call(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, body: String? = nil, bytes: [UInt8]? = nil,
        headers: [String: String] = [:]
    ) async throws -> Reply {
        try await send(port: port, method, path, token: token, body: body, bytes: bytes, headers: headers)
    }

    func lastPosition() throws -> UInt64 { try store.lastPosition() }
}

/// Which read side a harness answers from.
enum ReadKind: Sendable, CustomStringConvertible {
    case logFold, projected
    var description: String { self == .logFold ? "log fold" : "read models" }
}

func withHarness<T>(
    maxBodyBytes: Int = 16 * 1024, heartbeat: Duration = .milliseconds(200), readKind: ReadKind = .projected,
    projectionInterval: Duration? = nil, headerTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(60),
    _ body: (Harness) async throws -> T
) async throws -> T {
    let harness = try await Harness.start(
        maxBodyBytes: maxBodyBytes, heartbeat: heartbeat, readKind: readKind, projectionInterval: projectionInterval,
        headerTimeout: headerTimeout, idleTimeout: idleTimeout)
    do {
        let value = try await body(harness)
        await harness.stop()
        return value
    } catch {
        await harness.stop()
        throw error
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The people of the scenarios: an internal handler and supervisor, a supplier on the thread, an
/// outsider of another party, and a service reader.
struct Cast: Sendable {
    var admin = Harness.adminToken
    var ann: String  // internal, handler
    var hal: String  // internal, supervisor (no handler role)
    var bob: String  // supplier, opens the thread
    var eve: String  // another outside party: sees nothing of bob's thread
    var service: String
    var thread: String
}

extension Harness {
    /// Creates the parties, users, a service token and one contract thread opened by bob.
    func seed() async throws -> Cast {
        let admin = Harness.adminToken
        for party in [
            #"{"id":"acme","name":"Acme","kind":"internal"}"#, #"{"id":"sup","name":"Supplier Ltd","kind":"external"}"#,
            #"{"id":"other","name":"Other Co","kind":"external"}"#,
        ] {
            let reply = try await call(.post, "/v1/parties", token: admin, body: party)
            guard reply.status == 201 else { throw TestFailure("party: \(reply.status) \(reply.text)") }
        }
        func user(_ id: String, _ party: String, _ role: String) async throws -> String {
            let reply = try await call(
                .post, "/v1/users", token: admin,
                body:
                    #"{"id":"\#(id)","name":"\#(id.capitalized)","email":"\#(id)@example.test","party":"\#(party)","roles":["\#(role)"]}"#
            )
            guard reply.status == 201, let token = reply.json["token"] as? String else {
                throw TestFailure("user: \(reply.status) \(reply.text)")
            }
            return token
        }
        let ann = try await user("ann", "acme", "handler")
        let hal = try await user("hal", "acme", "supervisor")
        let bob = try await user("bob", "sup", "supplier")
        let eve = try await user("eve", "other", "supplier")
        let serviceReply = try await call(.post, "/v1/service-tokens", token: admin, body: #"{"name":"indexer"}"#)
        guard serviceReply.status == 201, let service = serviceReply.json["token"] as? String else {
            throw TestFailure("service token: \(serviceReply.status) \(serviceReply.text)")
        }
        // Contract C-1 belongs to the supplier: its users may open and read its chat.
        let declared = try await call(
            .post, "/v1/subjects", token: admin, body: #"{"kind":"contract","ref":"C-1","parties":["sup"]}"#)
        guard declared.status == 200 else { throw TestFailure("subject: \(declared.status) \(declared.text)") }
        let opened = try await call(
            .post, "/v1/threads", token: bob,
            body: #"{"subject":{"kind":"contract","ref":"C-1"},"title":"Invoice question","body":"Hello"}"#)
        guard opened.status == 201, let thread = opened.json["id"] as? String else {
            throw TestFailure("open: \(opened.status) \(opened.text)")
        }
        return Cast(ann: ann, hal: hal, bob: bob, eve: eve, service: service, thread: thread)
    }
}


import Engine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import Messaging
import NIOCore
import ServiceLifecycle

/// What the HTTP service needs besides its collaborators.
public struct APIConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port; `onListening` reports the one bound.
    public var port: Int
    /// SHA-256 hex of the admin token.
    public var adminTokenHash: String
    /// `DIR/blobs`.
    public var blobDirectory: String
    /// Largest JSON request body (`THREADLOG_MAX_BODY`).
    public var maxBodyBytes: Int
    /// Largest attachment upload (`THREADLOG_MAX_BLOB`).
    public var maxBlobBytes: Int
    /// Comment lines keep an idle event stream open through proxies.
    public var heartbeat: Duration
    /// How long a request head may take to arrive, from the connection's start or the end of the
    /// previous response (`THREADLOG_HEADER_TIMEOUT_MS`).
    public var headerTimeout: Duration
    /// How long a connection may see no traffic while no response is being written
    /// (`THREADLOG_IDLE_TIMEOUT_MS`).
    public var idleTimeout: Duration
    /// Other nodes append to the log too (a PostgreSQL log): the directory is brought up to the log's
    /// head before a token is checked, so a token created, replaced or revoked on any node holds here
    /// from that node's answer on.
    public var sharedLog: Bool

    public init(
        host: String = "127.0.0.1", port: Int = 8080, adminTokenHash: String, blobDirectory: String,
        maxBodyBytes: Int = 1 << 20, maxBlobBytes: Int = 10 << 20, heartbeat: Duration = .seconds(15),
        headerTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(60), sharedLog: Bool = false
    ) {
        self.sharedLog = sharedLog
        self.host = host
        self.port = port
        self.adminTokenHash = adminTokenHash
        self.blobDirectory = blobDirectory
        self.maxBodyBytes = maxBodyBytes
        self.maxBlobBytes = maxBlobBytes
        self.heartbeat = heartbeat
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
    }
}

/// The HTTP service as a swift-service-lifecycle `Service`: run it in a `ServiceGroup` (or through
/// `runUntilSignalled`); graceful shutdown lets in-flight requests finish and ends event streams.
public struct ThreadlogHTTPServer: Service {
    private let application: Application<APIResponder>
    private let log: LogFeed

    public init(
        configuration: APIConfiguration, handler: CommandHandler, readSide: ReadSide,
        logger: Logger, console: (any HTTPResponder<BasicRequestContext>)? = nil, blobs: BlobAccess? = nil,
        onListening: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) throws {
        let api = try APIServer(
            configuration: configuration, handler: handler, readSide: readSide, logger: logger, blobs: blobs)
        let responder = APIResponder(api: api, routes: RouteMatcher.table, console: console)
        self.log = handler.log
        // Hummingbird's HTTP/1 channel, with a guard per connection for the header timeout and for
        // answering the parser's refusals in the error shape; its idle timeout spares a connection
        // whose response is still being written, such as an event stream. (The handler list is an
        // autoclosure: each connection gets a guard of its own.)
        let headerTimeout = TimeAmount(configuration.headerTimeout)
        let channel = HTTP1Channel.Configuration(
            additionalChannelHandlers: [ConnectionGuard(headerTimeout: headerTimeout, logger: logger)],
            idleTimeout: TimeAmount(configuration.idleTimeout))
        self.application = Application(
            responder: responder,
            server: .http1(configuration: channel),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            services: readSide.services,
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }

    public func run() async throws {
        try await application.run()
    }

    /// Runs until SIGTERM or SIGINT, lets in-flight requests finish, then closes the log (which
    /// finishes the appends still queued).
    public func runUntilSignalled(logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: .init(services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            log.close()
            throw error
        }
        log.close()
    }
}

/// Routes each request through the route table: answers unknown routes (404) and known paths with
/// another method (405) in the error shape, and counts every request by route and status. Paths
/// outside `/v1`, `/healthz` and `/metrics` go to the web console when one is mounted.
struct APIResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let api: APIServer
    let routes: RouteMatcher
    var console: (any HTTPResponder<BasicRequestContext>)? = nil

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let start = ContinuousClock.now
        let path = request.uri.path
        var response: Response
        let route: String
        if let console, !RouteMatcher.isAPIPath(path) {
            route = "console"
            response = try await console.respond(to: request, context: context)
        } else if let matched = routes.match(method: request.method.rawValue, path: path) {
            response = await api.respond(matched, request: request)
            if request.method == .head { response = response.createHeadResponse() }
            route = matched.spec.path
        } else {
            route = "unmatched"
            let methods = routes.methods(forPath: path)
            if methods.isEmpty {
                response = APIError.notFound.response()
            } else {
                var error = APIError(
                    status: .methodNotAllowed, code: "method_not_allowed",
                    message: "This path answers \(methods.joined(separator: ", ")).")
                error.headers[.allow] = methods.joined(separator: ", ")
                response = error.response()
            }
        }
        api.metrics.request(
            route: route, method: request.method.rawValue, status: response.status.code,
            duration: ContinuousClock.now - start)
        return response
    }
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let threadlogPosition = HTTPField.Name("X-Threadlog-Position")!
}

/// The routes' work: authentication, decoding, commands and queries, answers.
struct APIServer: Sendable {
    let configuration: APIConfiguration
    /// The log, for the event feeds, the head and `/metrics`.
    let log: LogFeed
    let handler: CommandHandler
    let readSide: ReadSide
    let logger: Logger
    let metrics = APIMetrics()
    let principals = PrincipalCache()
    /// The attachments, shared with the web console when it is given one.
    let blobs: BlobAccess

    init(
        configuration: APIConfiguration, handler: CommandHandler, readSide: ReadSide, logger: Logger,
        blobs: BlobAccess? = nil
    ) throws {
        self.configuration = configuration
        self.log = handler.log
        self.handler = handler
        self.readSide = readSide
        self.logger = logger
        self.blobs = try blobs ?? BlobAccess(directory: configuration.blobDirectory, handler: handler)
    }

    /// Never throws: every refusal becomes an error answer here, so the responder can tell routed
    /// requests from unrouted ones.
    func respond(_ route: MatchedRoute, request: Request) async -> Response {
        let spec = route.spec
        do {
            let caller = try await authenticate(request, for: spec)
            return try await dispatch(route, caller: caller, request: request)
        } catch {
            let answer = APIError.from(error)
            if answer.status == .internalServerError {
                logger.error(
                    "request failed", metadata: ["route": "\(spec.path)", "error": "\(String(describing: error))"])
            }
            return answer.response()
        }
    }

    func authenticate(_ request: Request, for spec: RouteSpec) async throws -> Caller {
        if spec.roles.contains(.anyone) { return .anonymous }
        guard let header = request.headers[.authorization] else { throw APIError.unauthorized }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.unauthorized }
        var trimmed = parts[1].drop { $0 == " " || $0 == "\t" }
        while let last = trimmed.last, last == " " || last == "\t" { trimmed = trimmed.dropLast() }
        let token = String(trimmed)
        guard !token.isEmpty, token.utf8.count <= 512 else { throw APIError.unauthorized }
        let hash = Tokens.hash(token)
        let caller: Caller
        if hash == configuration.adminTokenHash {
            caller = Caller(role: .admin, actor: .admin, tokenHash: hash)
        } else {
            if configuration.sharedLog { _ = try await handler.fetchDirectory() }
            switch try principals.principal(
                hash, revision: handler.tokenRevision,
                orLookUp: { try handler.currentDirectory().principal(withTokenHash: hash) })
            {
            case .user(let id): caller = Caller(role: .user, actor: .user(id), tokenHash: hash)
            case .service(let id): caller = Caller(role: .service, actor: .service(id), tokenHash: hash)
            case .admin: caller = Caller(role: .admin, actor: .admin, tokenHash: hash)
            case nil: throw APIError.unauthorized
            }
        }
        guard spec.roles.contains(caller.role) else { throw APIError.forbidden }
        return caller
    }

    // MARK: Helpers shared by the routes

    func body<T: Codable>(
        _ type: T.Type, _ request: Request, shortcut: (([String: JSONValue]) -> T?)? = nil
    ) async throws -> T {
        try StrictJSON.decode(type, from: try await collect(request, limit: configuration.maxBodyBytes), shortcut: shortcut)
    }

    func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError.bodyTooLarge(limit)
        }
        do {
            var buffer = try await request.body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.bodyTooLarge(limit)
        } catch {
            // A body the HTTP parser refuses (a bad chunk, say) is the client's fault.
            throw ConnectionGuard.refusal(for: error) ?? error
        }
    }

    /// Runs a command for the caller; the `Idempotency-Key` header becomes the command id, scoped to
    /// the caller and the route (method and path): two callers' keys never collide, and a key reused
    /// on another route is another command, not a replay of the first route's answer. The route and
    /// key enter as a digest, so the id stays within the log's 255 bytes whatever the key.
    func execute(_ command: Command, caller: Caller, request: Request) async throws -> CommandOutcome {
        guard let actor = caller.actor else { throw APIError.unauthorized }
        var commandID: String?
        if let key = request.headers[.idempotencyKey] {
            guard (1...200).contains(key.utf8.count) else {
                throw APIError.badRequest("invalid_idempotency_key", "An Idempotency-Key has 1 to 200 characters.")
            }
            let scope = request.method.rawValue + " " + request.uri.path + "\n" + key
            commandID = actor.recordedValue + " " + Tokens.hash(scope)
        }
        let start = ContinuousClock.now
        let outcome = try await handler.handle(command, actor: actor, commandID: commandID)
        metrics.append(duration: ContinuousClock.now - start)
        return outcome
    }

    /// The position a read must reflect: the log's head when the read arrived, so it sees every write
    /// acknowledged before it, by anyone (a client's own `minPosition`, from a write answered by
    /// another node or process, must not lie beyond that head: it could never be reached).
    func minPosition(_ request: Request, caller: Caller) async throws -> UInt64 {
        let head = try await log.lastPosition()
        if let text = request.uri.queryParameters.get("minPosition") {
            guard let value = UInt64(text) else {
                throw APIError.unprocessable("invalid_parameter", "minPosition must be a non-negative integer.")
            }
            guard value <= head else {
                throw APIError.unprocessable(
                    "invalid_parameter", "minPosition \(value) lies beyond the log's last position, \(head).")
            }
        }
        return head
    }

    var queries: any ReadQueries { readSide.queries }

    func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, position: UInt64? = nil) throws -> Response {
        bytes(try AnswerEncoder.encode(value), status: status, position: position)
    }

    func bytes(
        _ bytes: [UInt8], status: HTTPResponse.Status = .ok, contentType: String = "application/json",
        position: UInt64? = nil
    ) -> Response {
        var headers: HTTPFields = [.contentType: contentType]
        // Positions start at 1: a write on an empty log that appended nothing has none to name.
        if let position, position > 0 { headers[.threadlogPosition] = String(position) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    func parameter(_ name: String, _ route: MatchedRoute) throws -> String {
        guard let value = route.parameter(name) else { throw APIError.notFound }
        return value
    }

    func dispatch(
        _ route: MatchedRoute, caller: Caller, request: Request
    ) async throws -> Response {
        switch route.spec.name {
        case .createParty: try await createParty(caller, request)
        case .createUser: try await createUser(caller, request)
        case .updateUser: try await updateUser(caller, request, route)
        case .deactivateUser: try await deactivateUser(caller, request, route)
        case .replaceUserToken: try await replaceUserToken(caller, request, route)
        case .createServiceToken: try await createServiceToken(caller, request)
        case .revokeServiceToken: try await revokeServiceToken(caller, request, route)
        case .createStructure: try await createStructure(caller, request)
        case .addStructureMember: try await addStructureMember(caller, request, route)
        case .removeStructureMember: try await removeStructureMember(caller, request, route)
        case .createCategory: try await createCategory(caller, request)
        case .declareSubject: try await declareSubject(caller, request)
        case .putSettings: try await putSettings(caller, request)
        case .getSettings: try json(SettingsBody(try handler.currentDirectory().settings))
        case .listTemplates: try json(TemplatesBody(templates: try handler.currentDirectory().settings.messageTemplates))
        case .putTemplate: try await setTemplate(caller, request, route, remove: false)
        case .deleteTemplate: try await setTemplate(caller, request, route, remove: true)
        case .openThread: try await openThread(caller, request)
        case .getThread: try await getThread(caller, request, route)
        case .postMessage: try await postMessage(caller, request, route)
        case .postNote: try await postNote(caller, request, route)
        case .moveReadMarker: try await moveReadMarker(caller, request, route)
        case .assignHandler: try await assignHandler(caller, request, route)
        case .changeStatus: try await changeStatus(caller, request, route)
        case .blockThread: try await blockThread(caller, request, route, blocked: true)
        case .unblockThread: try await blockThread(caller, request, route, blocked: false)
        case .changeAttributes: try await changeAttributes(caller, request, route)
        case .changeMessageKind: try await changeMessageKind(caller, request, route)
        case .placeLegalHold: try await setLegalHold(caller, request, route, hold: true)
        case .releaseLegalHold: try await setLegalHold(caller, request, route, hold: false)
        case .setCategoryRetention: try await setCategoryRetention(caller, request, route)
        case .inbox: try await inbox(caller, request)
        case .unread: try await unread(caller, request)
        case .events: try await events(caller, request)
        case .feed: try await feed(caller, request)
        case .uploadBlob: try await uploadBlob(caller, request)
        case .getBlob: try getBlob(caller, route)
        case .createConsumerGroup: try await createGroup(caller, request)
        case .listConsumerGroups: try await listGroups(caller)
        case .getConsumerGroup: try await getGroup(caller, route)
        case .deleteConsumerGroup: try await deleteGroup(caller, route)
        case .consumerGroupEvents: try await groupEvents(caller, request, route)
        case .ackConsumerGroup: try await ackGroup(caller, request, route)
        case .createWebhook: try await createWebhook(caller, request)
        case .listWebhooks: try listWebhooks(caller)
        case .getWebhook: try getWebhook(caller, route)
        case .deleteWebhook: try await deleteWebhook(caller, route)
        case .webhookDeliveries: try webhookDeliveries(caller, request, route)
        case .pauseWebhook: try await setWebhookState(caller, route, active: false)
        case .resumeWebhook: try await setWebhookState(caller, route, active: true)
        case .listOutbox: try listOutbox(request)
        case .resendOutbox: try await resendOutbox(route)
        case .health: try json(HealthAnswer(status: "ok", position: try await log.lastPosition()))
        case .metrics:
            bytes(
                metrics.render(log: log, head: try? await log.lastPosition(), lag: readSide.lag()),
                contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }
}

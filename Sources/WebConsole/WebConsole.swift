import Crypto
import Engine
import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import Logging
import Messaging
import NIOCore

/// What the web console needs besides the engine.
public struct WebConsoleConfiguration: Sendable {
    /// A session ends after this long without a request.
    public var sessionLifetime: Duration
    /// Adds `Secure` to the cookies: for a console reached over HTTPS.
    public var secureCookies: Bool
    /// Largest form body.
    public var maxFormBytes: Int
    /// Comment lines keep an idle live feed open through proxies.
    public var heartbeat: Duration
    /// SHA-256 hex of the admin token: signing in with it opens the administration and operations
    /// pages (and no user's pages). `nil`: the administrator does not use the console.
    public var adminTokenHash: String?
    /// Signing in by a one-time link mailed to the user; `nil` when mail is not configured.
    public var signInLinks: SignInLinkConfiguration?
    /// Largest `multipart/form-data` body: a message with its attachments.
    public var maxUploadBytes: Int

    public init(
        sessionLifetime: Duration = .seconds(8 * 3600), secureCookies: Bool = false, maxFormBytes: Int = 1 << 20,
        heartbeat: Duration = .seconds(15), adminTokenHash: String? = nil, signInLinks: SignInLinkConfiguration? = nil,
        maxUploadBytes: Int = 11 << 20
    ) {
        self.sessionLifetime = sessionLifetime
        self.secureCookies = secureCookies
        self.maxFormBytes = maxFormBytes
        self.heartbeat = heartbeat
        self.adminTokenHash = adminTokenHash
        self.signInLinks = signInLinks
        self.maxUploadBytes = maxUploadBytes
    }
}

/// What the operations page reads besides the log: each view's lag and the notification outbox.
public struct ConsoleOperations: Sendable {
    public var outbox: Outbox?
    public var lags: @Sendable () -> [(view: String, lag: UInt64)]

    public init(outbox: Outbox?, lags: @escaping @Sendable () -> [(view: String, lag: UInt64)]) {
        self.outbox = outbox
        self.lags = lags
    }
}

/// The web console: server-rendered pages for the people of the threads, answered from the same
/// command handler and read queries as the API, a session acting as its user under the same rules.
/// Mounted by the HTTP server for every path outside `/v1`, `/healthz` and `/metrics`.
public struct WebConsole: HTTPResponder {
    public typealias Context = BasicRequestContext

    let handler: CommandHandler
    let queries: any ReadQueries
    /// The API's blob store and access check; without it the console lists attachments only.
    let blobs: BlobAccess?
    let configuration: WebConsoleConfiguration
    let sessions: SessionStore
    let logger: Logger
    let operations: ConsoleOperations?
    let links: SignInLinks

    public init(
        handler: CommandHandler, queries: any ReadQueries, blobs: BlobAccess? = nil,
        configuration: WebConsoleConfiguration = .init(), operations: ConsoleOperations? = nil, logger: Logger
    ) {
        self.handler = handler
        self.queries = queries
        self.blobs = blobs
        self.configuration = configuration
        self.operations = operations
        self.links = SignInLinks(configuration.signInLinks ?? SignInLinkConfiguration(publicURL: ""))
        let lifetime = configuration.sessionLifetime.components
        self.sessions = SessionStore(
            lifetime: TimeInterval(lifetime.seconds) + TimeInterval(lifetime.attoseconds) / 1e18)
        self.logger = logger
    }

    public func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let cookies = parseCookies(request.headers[values: .cookie])
        var visit = Visit(
            request: request, cookies: cookies, labels: Self.labels(request, cookies), session: nil)
        var response: Response
        do {
            visit.session = try currentSession(cookies)
            response = try await route(&visit)
        } catch {
            response = failure(error, visit)
        }
        Self.secure(&response.headers)
        return request.method == .head ? response.createHeadResponse() : response
    }

    /// The headers of every answer: no script, style, frame or form target from elsewhere, no
    /// content sniffing, no referrer to other sites.
    static func secure(_ headers: inout HTTPFields) {
        // A downloaded file brings a stricter policy of its own.
        if headers[.contentSecurityPolicy] == nil {
            headers[.contentSecurityPolicy] =
                "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
        }
        headers[.xContentTypeOptions] = "nosniff"
        headers[.xFrameOptions] = "DENY"
        headers[.referrerPolicy] = "same-origin"
        if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
    }

    /// The language: the switch's cookie, else the browser's `Accept-Language`.
    static func labels(_ request: Request, _ cookies: [String: String]) -> Labels {
        if let chosen = cookies[Cookies.language].flatMap(Labels.language) { return chosen }
        return Labels.negotiate(request.headers[.acceptLanguage])
    }

    /// The session of the cookie, while its user's token is the one it signed in with.
    func currentSession(_ cookies: [String: String]) throws -> ConsoleSession? {
        guard let session = sessions.session(cookies[Cookies.session]) else { return nil }
        if session.admin {
            // The admin session lasts while the admin token is the one it signed in with.
            guard let admin = configuration.adminTokenHash, SessionStore.same(admin, session.tokenHash) else {
                sessions.remove(session.id)
                return nil
            }
            return session
        }
        guard try handler.currentDirectory().users[session.user]?.tokenHash == session.tokenHash else {
            sessions.remove(session.id)
            return nil
        }
        return session
    }

    private func route(_ visit: inout Visit) async throws -> Response {
        let request = visit.request
        let parts = request.uri.path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        let get = request.method == .get || request.method == .head
        let post = request.method == .post
        switch parts.first ?? "" {
        case "" where get && parts.isEmpty:
            return Self.redirect(visit.session == nil ? "/sign-in" : visit.session?.admin == true ? "/admin" : "/inbox")
        case "sign-in" where parts.count == 1 && get: return signInPage(visit)
        case "sign-in" where parts.count == 1 && post: return try await signIn(visit)
        case "sign-in" where parts.count >= 2 && parts[1] == "link": return try await signInLinkRoute(parts, visit)
        case "sign-out" where parts.count == 1 && post: return try await signOut(visit)
        case "assets" where parts.count == 2 && get && parts[1] == "console.css":
            return Self.asset(Assets.css, contentType: "text/css; charset=utf-8")
        case "assets" where parts.count == 2 && get && parts[1] == "console.js":
            return Self.asset(Assets.js, contentType: "text/javascript; charset=utf-8")
        case "language" where parts.count == 2 && get: return switchLanguage(parts[1], visit)
        case "inbox", "threads", "feed", "admin", "operations": break
        default: throw ConsoleRefusal.notFound
        }
        // Everything else acts as a signed-in user.
        guard let session = visit.session else {
            if get {
                var target = request.uri.path
                if let query = request.uri.query, !query.isEmpty { target += "?" + query }
                return Self.redirect("/sign-in?next=" + FormData.encode(target))
            }
            throw ConsoleRefusal.csrf
        }
        // The administrator's session sees the administration and operations pages only; a user's
        // session never sees them.
        if session.admin { return try await adminRoute(parts, visit, session) }
        switch (parts.first ?? "", parts.count) {
        case ("inbox", 1) where get: return try await inboxPage(visit, session)
        case ("feed", 1) where get: return feed(visit, session)
        case ("threads", 2) where get && parts[1] == "new": return try newThreadPage(visit, session)
        case ("threads", 1) where post:
            let form = try await checkedForm(visit, session)
            return try await openThread(form, visit, session)
        case ("threads", 2) where get: return try await threadPage(ThreadID(parts[1]), visit, session)
        case ("threads", 3) where post:
            let form = try await checkedForm(visit, session)
            return try await threadAction(ThreadID(parts[1]), action: parts[2], form, visit, session)

        // Attachments (WebConsole+Attachments.swift).
        case ("threads", 4) where get && parts[2] == "files":
            return try download(ThreadID(parts[1]), parts[3], session)

        default: throw ConsoleRefusal.notFound
        }
    }

    /// The posted form, once its CSRF token is the session's; a form without it changes nothing.
    func checkedForm(_ visit: Visit, _ session: ConsoleSession) async throws -> FormData {
        let form = try await self.form(visit.request)
        guard SessionStore.same(form["csrf"] ?? "", session.csrf) else { throw ConsoleRefusal.csrf }
        return form
    }

    func form(_ request: Request) async throws -> FormData {
        if let boundary = MultipartForm.boundary(request.headers[.contentType]) {
            return try await multipartForm(request, boundary: boundary)
        }
        var buffer = try await Self.body(request, upTo: configuration.maxFormBytes)
        return FormData(buffer.readString(length: buffer.readableBytes) ?? "")
    }

    /// A request's body up to `limit` bytes; a larger one is refused (before it is read when its length
    /// is announced).
    static func body(_ request: Request, upTo limit: Int) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw ConsoleRefusal.tooLarge
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw ConsoleRefusal.tooLarge
        }
    }

    // MARK: Answers

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    static func asset(_ text: String, contentType: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: contentType, .cacheControl: "max-age=300"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// A page: the template rendered into the layout, with the words of the visit's language.
    func page(
        _ template: String, title: String, _ context: [String: Any], _ visit: Visit,
        status: HTTPResponse.Status = .ok, live: Bool = false, threadID: String = ""
    ) -> Response {
        var context = context
        let labels = visit.labels
        context["t"] = labels.words
        if context["csrf"] == nil { context["csrf"] = visit.session?.csrf ?? "" }
        let content = Templates.library.render(context, withTemplate: template) ?? ""
        var back = visit.request.uri.path
        if let query = visit.request.uri.query, !query.isEmpty { back += "?" + query }
        // A sign-in link's token stays in its own address, not in the language switch's links.
        if back.hasPrefix("/sign-in/link/") { back = "/sign-in" }
        let userName = visit.session.flatMap { session in
            session.admin
                ? labels["administrator"]
                : (try? handler.currentDirectory())?.users[session.user]?.name ?? session.user.rawValue
        }
        let layout: [String: Any] = [
            "t": labels.words, "lang": labels.code, "pageTitle": title, "content": content,
            "page": template, "threadID": threadID, "live": live,
            "signedIn": visit.session != nil, "userName": userName ?? "", "csrf": visit.session?.csrf ?? "",
            "isAdmin": visit.session?.admin == true,
            "languages": Labels.all.map { ["code": $0.code, "name": $0.name, "current": $0.code == labels.code] as [String: Any] },
            "back": FormData.encode(back),
        ]
        let html = Templates.library.render(layout, withTemplate: "layout") ?? ""
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    func problem(_ status: HTTPResponse.Status, heading: String, text: String, _ visit: Visit, back: String = "/")
        -> Response
    {
        page("problem", title: heading, ["heading": heading, "text": text, "backLink": back], visit, status: status)
    }

    /// Every refusal as a page: an unknown or hidden thread is the same 404, a domain refusal says
    /// why in the domain's words, anything unexpected is logged (without the request's body).
    func failure(_ error: any Error, _ visit: Visit) -> Response {
        let labels = visit.labels
        let back = visit.request.uri.path
        switch error {
        case ConsoleRefusal.notFound:
            return problem(.notFound, heading: labels["not_found"], text: labels["not_found_text"], visit, back: "/inbox")
        case ConsoleRefusal.csrf:
            return problem(.forbidden, heading: labels["refused"], text: labels["csrf_text"], visit, back: "/")
        case ConsoleRefusal.tooLarge:
            return problem(.contentTooLarge, heading: labels["failed"], text: labels["too_large"], visit, back: back)
        case let error as DomainError:
            switch error {
            case .threadNotFound, .subjectNotFound:
                return problem(
                    .notFound, heading: labels["not_found"], text: labels["not_found_text"], visit, back: "/inbox")
            case .notAllowed:
                return problem(.forbidden, heading: labels["refused"], text: error.message, visit, back: back)
            case .threadPurged:
                return problem(.gone, heading: labels["failed"], text: error.message, visit, back: "/inbox")
            default:
                return problem(.conflict, heading: labels["failed"], text: error.message, visit, back: back)
            }
        case is ContentionError:
            return problem(.serviceUnavailable, heading: labels["failed"], text: labels["busy"], visit, back: back)
        default:
            logger.error(
                "console request failed",
                metadata: ["path": "\(visit.request.uri.path)", "error": "\(String(describing: error))"])
            return problem(.internalServerError, heading: labels["failed"], text: labels["busy"], visit, back: back)
        }
    }

    /// The log's head: a read waits for it, so a page shows every write acknowledged before it.
    func fetchHead() async throws -> UInt64 { try await handler.log.lastPosition() }

    /// Lowercase hex SHA-256 of a token, as the directory keeps it.
    static func tokenHash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A `Set-Cookie` value: never readable by scripts, sent only with same-site navigations and
    /// top-level links.
    func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Lax" + (configuration.secureCookies ? "; Secure" : "")
    }
}

/// One request as the console sees it.
struct Visit {
    var request: Request
    var cookies: [String: String]
    var labels: Labels
    var session: ConsoleSession?
}

/// Refusals of the console itself (the domain's are `DomainError`s).
enum ConsoleRefusal: Error {
    case notFound
    /// A form without the session's CSRF token, or a post without a session.
    case csrf
    case tooLarge
}

enum Cookies {
    static let session = "tl_session"
    static let signIn = "tl_signin"
    static let language = "tl_lang"
}

extension HTTPField.Name {
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let lastEventIDHeader = HTTPField.Name("Last-Event-ID")!
}

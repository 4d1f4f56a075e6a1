import Crypto
import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Messaging
import Synchronization

/// Signing in by a link mailed to the user's address.
public struct SignInLinkConfiguration: Sendable {
    /// The base of the link (`THREADLOG_PUBLIC_URL`), e.g. `https://threads.example.com`.
    public var publicURL: String
    /// The right-hand side of the mail's Message-ID.
    public var messageIDDomain: String
    /// A link works once, within this time.
    public var lifetime: Duration
    /// At most this many links are mailed to one address within `rateWindow`.
    public var perAddressLimit: Int
    public var rateWindow: Duration

    public init(
        publicURL: String, messageIDDomain: String = "threadlog.invalid", lifetime: Duration = .seconds(15 * 60),
        perAddressLimit: Int = 3, rateWindow: Duration = .seconds(15 * 60)
    ) {
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.messageIDDomain = messageIDDomain
        self.lifetime = lifetime
        self.perAddressLimit = perAddressLimit
        self.rateWindow = rateWindow
    }

    var seconds: TimeInterval { Self.seconds(lifetime) }

    static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}

/// The links handed out, kept in memory by the SHA-256 of their token (a restart voids them all),
/// and the recent requests per address for the rate limit.
final class SignInLinks: Sendable {
    struct Link {
        var user: UserID
        var expires: Date
    }

    let configuration: SignInLinkConfiguration
    private let state = Mutex<(links: [String: Link], requests: [String: [Date]])>(([:], [:]))

    init(_ configuration: SignInLinkConfiguration) { self.configuration = configuration }

    var enabled: Bool { !configuration.publicURL.isEmpty }

    /// Whether one more link may go to this address now (the request is counted either way).
    func allow(_ address: String, now: Date = Date()) -> Bool {
        let window = SignInLinkConfiguration.seconds(configuration.rateWindow)
        return state.withLock { state in
            if state.requests.count >= 10_000 {
                state.requests = state.requests.filter { $0.value.contains { now.timeIntervalSince($0) < window } }
            }
            var recent = (state.requests[address] ?? []).filter { now.timeIntervalSince($0) < window }
            recent.append(now)
            state.requests[address] = recent
            return recent.count <= configuration.perAddressLimit
        }
    }

    /// A new link's token for the user; only its hash is kept.
    func issue(for user: UserID, now: Date = Date()) -> String {
        let token = SessionStore.randomToken()
        let link = Link(user: user, expires: now.addingTimeInterval(configuration.seconds))
        state.withLock { state in
            if state.links.count >= 10_000 { state.links = state.links.filter { $0.value.expires > now } }
            state.links[WebConsole.tokenHash(token)] = link
        }
        return token
    }

    /// The user of a live link, which is spent by this call; `nil` for an unknown, spent or expired one.
    func redeem(_ token: String, now: Date = Date()) -> UserID? {
        guard token.utf8.count == 64 else { return nil }
        let hash = WebConsole.tokenHash(token)
        return state.withLock { state in
            guard let link = state.links.removeValue(forKey: hash), link.expires > now else { return nil }
            return link.user
        }
    }
}

extension WebConsole {
    /// `/sign-in/link…`: the request form, the request, the confirmation page and the confirmation.
    func signInLinkRoute(_ parts: [String], _ visit: Visit) async throws -> Response {
        guard links.enabled, operations?.outbox != nil else { throw ConsoleRefusal.notFound }
        let get = visit.request.method == .get || visit.request.method == .head
        let post = visit.request.method == .post
        switch parts.count {
        case 2 where get: return linkRequestPage(visit)
        case 2 where post: return try await requestLink(visit)
        case 3 where post && parts[2] == "use": return try await useLink(visit)
        // Following the link only shows a button: a mail scanner that fetches it spends nothing.
        case 3 where get: return linkConfirmPage(visit, token: parts[2])
        default: throw ConsoleRefusal.notFound
        }
    }

    /// A page of the signed-out flow, with a fresh CSRF token in its own cookie (as the sign-in form).
    func signedOutPage(
        _ template: String, title: String, _ context: [String: Any], _ visit: Visit, status: HTTPResponse.Status = .ok
    ) -> Response {
        let csrf = SessionStore.randomToken()
        var context = context
        context["csrf"] = csrf
        var response = page(template, title: title, context, visit, status: status)
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Cookies.signIn, csrf, maxAge: 3600)))
        return response
    }

    func linkRequestPage(_ visit: Visit, error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        signedOutPage(
            "linkRequest", title: visit.labels["link_offer"], ["hasError": error != nil, "error": error ?? ""], visit,
            status: status)
    }

    func signedOutForm(_ visit: Visit) async throws -> FormData {
        let form = try await self.form(visit.request)
        guard let expected = visit.cookies[Cookies.signIn], SessionStore.same(form["csrf"] ?? "", expected) else {
            throw ConsoleRefusal.csrf
        }
        return form
    }

    /// The same answer whether or not a user has the address, and whether or not the rate limit let
    /// a mail go: the page tells nobody who has an account.
    func requestLink(_ visit: Visit) async throws -> Response {
        let form = try await signedOutForm(visit)
        let address = (form["email"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard address.contains("@"), address.utf8.count <= 320 else {
            return linkRequestPage(visit, error: visit.labels["link_bad_address"], status: .unprocessableContent)
        }
        if links.allow(address), let outbox = operations?.outbox,
            let user = try handler.currentDirectory().users.values.first(where: {
                $0.active && $0.email.lowercased() == address
            })
        {
            let token = links.issue(for: user.id)
            let configuration = links.configuration
            let link = configuration.publicURL + "/sign-in/link/" + token
            let minutes = String(Int(configuration.seconds / 60))
            let labels = visit.labels
            let body = labels["link_mail_body"].replacingOccurrences(of: "{link}", with: link)
                .replacingOccurrences(of: "{minutes}", with: minutes)
            _ = try await outbox.enqueue(
                to: [user.email], subject: labels["link_mail_subject"], body: body,
                trigger: Outbox.signInLinkTrigger, messageIDDomain: configuration.messageIDDomain)
            logger.info("console sign-in link queued", metadata: ["user": "\(user.id.rawValue)"])
        }
        return page("linkSent", title: visit.labels["link_offer"], [:], visit)
    }

    func linkConfirmPage(_ visit: Visit, token: String) -> Response {
        signedOutPage("linkConfirm", title: visit.labels["sign_in"], ["token": token], visit)
    }

    func useLink(_ visit: Visit) async throws -> Response {
        let form = try await signedOutForm(visit)
        let token = form["token"] ?? ""
        guard let id = links.redeem(token), let user = try handler.currentDirectory().users[id], user.active else {
            return signInPage(visit, error: visit.labels["link_invalid"], status: .gone)
        }
        return startSession(visit, user: id, tokenHash: user.tokenHash, next: "/inbox")
    }
}

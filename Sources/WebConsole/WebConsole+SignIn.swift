import Foundation
import HTTPTypes
import Hummingbird
import Messaging

// Signing in with the token the administrator handed out, signing out, and the language switch.
extension WebConsole {
    /// The sign-in form. Before a session exists, its CSRF token is a random value kept in a cookie
    /// of its own and repeated in the form (a site that cannot read the cookie cannot post the form).
    func signInPage(
        _ visit: Visit, next: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok
    ) -> Response {
        let token = SessionStore.randomToken()
        let next = localPath(next ?? visit.request.uri.queryParameters.get("next")) ?? ""
        var response = page(
            "signIn", title: visit.labels["sign_in"],
            [
                "csrf": token, "next": next, "hasError": error != nil, "error": error ?? "",
                "linksOffered": links.enabled && operations?.outbox != nil,
            ], visit, status: status)
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Cookies.signIn, token, maxAge: 3600)))
        return response
    }

    func signIn(_ visit: Visit) async throws -> Response {
        let form = try await self.form(visit.request)
        guard let expected = visit.cookies[Cookies.signIn], SessionStore.same(form["csrf"] ?? "", expected) else {
            throw ConsoleRefusal.csrf
        }
        let token = (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let hash = Self.tokenHash(token)
        if !token.isEmpty, token.utf8.count <= 512, let admin = configuration.adminTokenHash, SessionStore.same(hash, admin) {
            let next = localPath(form["next"]).flatMap { $0.hasPrefix("/admin") || $0.hasPrefix("/operations") ? $0 : nil }
            return startSession(visit, user: UserID("admin"), tokenHash: hash, admin: true, next: next ?? "/admin")
        }
        guard !token.isEmpty, token.utf8.count <= 512,
            case .user(let user)? = try handler.currentDirectory().principal(withTokenHash: hash)
        else {
            return signInPage(
                visit, next: localPath(form["next"]) ?? "", error: visit.labels["bad_token"], status: .unauthorized)
        }
        return startSession(visit, user: user, tokenHash: hash, next: localPath(form["next"]) ?? "/inbox")
    }

    /// A new session for a signed-in user (or the administrator), its cookie, and the way on.
    func startSession(_ visit: Visit, user: UserID, tokenHash hash: String, admin: Bool = false, next: String) -> Response {
        // A new id on every sign-in, so an id planted before it is worth nothing after.
        if let old = visit.session { sessions.remove(old.id) }
        let session = sessions.create(user: user, tokenHash: hash, admin: admin)
        var response = Self.redirect(next)
        let lifetime = Int(configuration.sessionLifetime.components.seconds)
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Cookies.session, session.id, maxAge: lifetime)))
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Cookies.signIn, "", maxAge: 0)))
        logger.info("console sign-in", metadata: ["user": "\(admin ? "(administrator)" : user.rawValue)"])
        return response
    }

    func signOut(_ visit: Visit) async throws -> Response {
        guard let session = visit.session else { throw ConsoleRefusal.csrf }
        _ = try await checkedForm(visit, session)
        sessions.remove(session.id)
        var response = Self.redirect("/sign-in")
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Cookies.session, "", maxAge: 0)))
        return response
    }

    /// Keeps the chosen language in a cookie for a year and goes back to the page.
    func switchLanguage(_ code: String, _ visit: Visit) -> Response {
        guard let labels = Labels.language(code) else {
            return problem(.notFound, heading: visit.labels["not_found"], text: visit.labels["not_found_text"], visit)
        }
        var response = Self.redirect(localPath(visit.request.uri.queryParameters.get("back")) ?? "/")
        response.headers.append(
            HTTPField(name: .setCookie, value: cookie(Cookies.language, labels.code, maxAge: 365 * 24 * 3600)))
        return response
    }
}

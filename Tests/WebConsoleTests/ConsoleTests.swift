import Foundation
import Testing

@testable import WebConsole

@Suite("The web console over a real server")
struct ConsoleTests {
    @Test("sign in with a token: a session cookie, the inbox, sign out; a wrong token is refused")
    func signInAndOut() async throws {
        try await withConsole { server in
            let cast = try await server.seed()
            let form = try await server.call(.get, "/sign-in")
            #expect(form.status == 200)
            #expect(form.headers[.init("Content-Security-Policy")!]?.hasPrefix("default-src 'self'") == true)
            #expect(form.headers[.init("X-Content-Type-Options")!] == "nosniff")
            let pre = try #require(form.cookie("tl_signin")?.value)
            let csrf = try #require(form.csrf)

            let wrong = try await server.call(
                .post, "/sign-in", form: [("csrf", csrf), ("token", "not-a-token")], cookies: ["tl_signin": pre])
            #expect(wrong.status == 401)
            #expect(wrong.cookie("tl_session") == nil)
            #expect(wrong.text.contains("This token is not valid."))
            #expect(!wrong.text.contains("not-a-token"))

            let noCSRF = try await server.call(.post, "/sign-in", form: [("token", cast.bob)], cookies: ["tl_signin": pre])
            #expect(noCSRF.status == 403)
            #expect(noCSRF.cookie("tl_session") == nil)

            let signedIn = try await server.call(
                .post, "/sign-in", form: [("csrf", csrf), ("next", "/threads/\(cast.thread)"), ("token", cast.bob)],
                cookies: ["tl_signin": pre])
            #expect(signedIn.status == 303)
            #expect(signedIn.location == "/threads/\(cast.thread)")
            let cookie = try #require(signedIn.cookie("tl_session"))
            #expect(cookie.value.count == 64)
            #expect(cookie.line.contains("HttpOnly") && cookie.line.contains("SameSite=Lax") && cookie.line.contains("Path=/"))
            #expect(!signedIn.headers.map(\.value).joined().contains(cast.bob))

            let inbox = try await server.call(.get, "/inbox", cookies: ["tl_session": cookie.value])
            #expect(inbox.status == 200)
            #expect(inbox.text.contains("Invoice question"))
            #expect(inbox.text.contains("href=\"/threads/\(cast.thread)\""))
            let sessionCSRF = try #require(inbox.csrf)

            let refused = try await server.call(.post, "/sign-out", form: [], cookies: ["tl_session": cookie.value])
            #expect(refused.status == 403)
            let out = try await server.call(
                .post, "/sign-out", form: [("csrf", sessionCSRF)], cookies: ["tl_session": cookie.value])
            #expect(out.status == 303)
            #expect(out.location == "/sign-in")
            let after = try await server.call(.get, "/inbox", cookies: ["tl_session": cookie.value])
            #expect(after.status == 303)
            #expect(after.location == "/sign-in?next=/inbox")
        }
    }

    @Test("a form posted without its CSRF token, or with another session's, is refused and changes nothing")
    func csrf() async throws {
        try await withConsole { server in
            let cast = try await server.seed()
            let bob = try await server.signIn(cast.bob)
            let ann = try await server.signIn(cast.ann)
            let before = try server.lastPosition()
            let path = "/threads/\(cast.thread)/messages"
            let missing = try await server.call(.post, path, form: [("body", "forged")], cookies: bob.cookies)
            #expect(missing.status == 403)
            let foreign = try await server.call(
                .post, path, form: [("csrf", ann.csrf), ("body", "forged")], cookies: bob.cookies)
            #expect(foreign.status == 403)
            let anonymous = try await server.call(.post, path, form: [("csrf", bob.csrf), ("body", "forged")])
            #expect(anonymous.status == 403)
            #expect(try server.lastPosition() == before)

            let posted = try await server.call(
                .post, path, form: [("csrf", bob.csrf), ("body", "Second line\r\nthird")], cookies: bob.cookies)
            #expect(posted.status == 303)
            #expect(posted.location == "/threads/\(cast.thread)#m2")
            #expect(try server.lastPosition() > before)
            let page = try await server.call(.get, "/threads/\(cast.thread)", cookies: bob.cookies)
            #expect(page.text.contains("Second line\nthird"))
            #expect(page.text.contains("id=\"m2\""))
        }
    }

    @Test("a message with markup is shown as text")
    func escaping() async throws {
        try await withConsole { server in
            let cast = try await server.seed()
            let posted = try await server.call(
                .post, "/v1/threads/\(cast.thread)/messages", token: cast.bob,
                json: #"{"body":"<script>alert(1)</script> & \"quotes\""}"#)
            #expect(posted.status == 201)
            let ann = try await server.signIn(cast.ann)
            let page = try await server.call(.get, "/threads/\(cast.thread)", cookies: ann.cookies)
            #expect(page.status == 200)
            #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"))
            #expect(!page.text.contains("<script>alert(1)"))
            #expect(!page.text.contains("<script>"))
        }
    }

    @Test("a hidden thread and a missing one answer the same 404 page")
    func hiddenThread() async throws {
        try await withConsole { server in
            let cast = try await server.seed()
            let eve = try await server.signIn(cast.eve)
            let hidden = try await server.call(.get, "/threads/\(cast.thread)", cookies: eve.cookies)
            let missing = try await server.call(.get, "/threads/no-such-thread", cookies: eve.cookies)
            #expect(hidden.status == 404)
            #expect(missing.status == 404)
            // The same page but for the language switch's links back to the path asked for.
            func main(_ text: String) -> Substring? {
                text.range(of: "<main>").map { text[$0.lowerBound...] }
            }
            #expect(main(hidden.text) != nil)
            #expect(main(hidden.text) == main(missing.text))
            #expect(!hidden.text.contains("Invoice question"))
            let before = try server.lastPosition()
            let post = try await server.call(
                .post, "/threads/\(cast.thread)/messages", form: [("csrf", eve.csrf), ("body", "hi")],
                cookies: eve.cookies)
            #expect(post.status == 404)
            #expect(try server.lastPosition() == before)
            let inbox = try await server.call(.get, "/inbox", cookies: eve.cookies)
            #expect(!inbox.text.contains("Invoice question"))
        }
    }

    @Test("viewing a thread moves the reader's marker; the handler takes it and changes its status")
    func handling() async throws {
        try await withConsole { server in
            let cast = try await server.seed()
            let ann = try await server.signIn(cast.ann)
            let unread = try await server.call(.get, "/v1/unread", token: cast.ann)
            #expect(unread.json["total"] as? Int == 1)
            let inbox = try await server.call(.get, "/inbox", cookies: ann.cookies)
            #expect(inbox.text.contains("class=\"badge unread\">1<"))
            let page = try await server.call(.get, "/threads/\(cast.thread)", cookies: ann.cookies)
            #expect(page.text.contains("Take ownership"))
            #expect(!page.text.contains("OK, resolved"))
            let read = try await server.call(.get, "/v1/unread", token: cast.ann)
            #expect(read.json["total"] as? Int == 0)

            let take = try await server.call(
                .post, "/threads/\(cast.thread)/take", form: [("csrf", ann.csrf)], cookies: ann.cookies)
            #expect(take.status == 303)
            let status = try await server.call(
                .post, "/threads/\(cast.thread)/status", form: [("csrf", ann.csrf), ("status", "waiting")],
                cookies: ann.cookies)
            #expect(status.status == 303)
            let thread = try await server.call(.get, "/v1/threads/\(cast.thread)", token: cast.ann)
            let summary = try #require(thread.json["thread"] as? [String: Any])
            #expect(summary["handler"] as? String == "ann")
            #expect(summary["status"] as? String == "waiting")

            // The supplier sees "OK, resolved" and no handling; his resolve is recorded.
            let bob = try await server.signIn(cast.bob)
            let bobPage = try await server.call(.get, "/threads/\(cast.thread)", cookies: bob.cookies)
            #expect(bobPage.text.contains("OK, resolved"))
            #expect(!bobPage.text.contains("Take ownership"))
            let block = try await server.call(
                .post, "/threads/\(cast.thread)/block", form: [("csrf", bob.csrf)], cookies: bob.cookies)
            #expect(block.status == 403)
            let resolve = try await server.call(
                .post, "/threads/\(cast.thread)/status", form: [("csrf", bob.csrf), ("status", "resolved")],
                cookies: bob.cookies)
            #expect(resolve.status == 303)
            let after = try await server.call(.get, "/v1/threads/\(cast.thread)", token: cast.bob)
            #expect((after.json["thread"] as? [String: Any])?["status"] as? String == "resolved")
        }
    }

    @Test("the new-thread form opens a ticket; a bad form comes back with the reason")
    func newThread() async throws {
        try await withConsole { server in
            let cast = try await server.seed()
            let bob = try await server.signIn(cast.bob)
            let form = try await server.call(.get, "/threads/new", cookies: bob.cookies)
            #expect(form.status == 200)
            let bad = try await server.call(
                .post, "/threads", form: [("csrf", bob.csrf), ("kind", "ticket"), ("title", ""), ("body", "kept")],
                cookies: bob.cookies)
            #expect(bad.status == 422)
            #expect(bad.text.contains(">kept</textarea>"))
            let opened = try await server.call(
                .post, "/threads",
                form: [
                    ("csrf", bob.csrf), ("kind", "ticket"), ("title", "Printer <b>jam</b>"), ("priority", "urgent"),
                    ("type", "task"), ("body", "It jams."),
                ], cookies: bob.cookies)
            #expect(opened.status == 303)
            let location = try #require(opened.location)
            let page = try await server.call(.get, location, cookies: bob.cookies)
            #expect(page.text.contains("TT1"))
            #expect(page.text.contains("Printer &lt;b&gt;jam&lt;/b&gt;"))
            #expect(page.text.contains("It jams."))
            let filtered = try await server.call(.get, "/inbox?priority=urgent&type=task", cookies: bob.cookies)
            #expect(filtered.text.contains("Printer &lt;b&gt;jam&lt;/b&gt;"))
            #expect(!filtered.text.contains("Invoice question"))
            let searched = try await server.call(.get, "/inbox?q=invoice", cookies: bob.cookies)
            #expect(searched.text.contains("Invoice question"))
            #expect(!searched.text.contains("Printer"))
        }
    }

    @Test("the API keeps its paths and answers; everything else is the console's")
    func mounting() async throws {
        try await withConsole { server in
            let api = try await server.call(.get, "/v1/inbox")
            #expect(api.status == 401)
            #expect((api.json["error"] as? [String: Any])?["code"] as? String == "unauthorized")
            let unknownAPI = try await server.call(.get, "/v1/nothing")
            #expect(unknownAPI.status == 404)
            #expect(unknownAPI.headers[.contentType] == "application/json")
            #expect(try await server.call(.get, "/healthz").status == 200)
            let root = try await server.call(.get, "/")
            #expect(root.status == 303)
            #expect(root.location == "/sign-in")
            let page = try await server.call(.get, "/no/such/page")
            #expect(page.status == 404)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            let css = try await server.call(.get, "/assets/console.css")
            #expect(css.status == 200)
            #expect(css.headers[.contentType] == "text/css; charset=utf-8")
        }
    }

    @Test("labels follow Accept-Language, and the switch's cookie wins")
    func languages() async throws {
        try await withConsole { server in
            let finnish = try await server.call(.get, "/sign-in", headers: ["Accept-Language": "fi-FI,fi;q=0.9,en;q=0.5"])
            #expect(finnish.text.contains("Kirjaudu sisään"))
            #expect(finnish.text.contains("<html lang=\"fi\">"))
            let preferred = try await server.call(.get, "/sign-in", headers: ["Accept-Language": "de, fr;q=0.8, it;q=0.9"])
            #expect(preferred.text.contains("Accedi"))
            let switched = try await server.call(.get, "/language/fr?back=/sign-in")
            #expect(switched.status == 303)
            #expect(switched.location == "/sign-in")
            let cookie = try #require(switched.cookie("tl_lang"))
            #expect(cookie.value == "fr")
            let french = try await server.call(
                .get, "/sign-in", cookies: ["tl_lang": "fr"], headers: ["Accept-Language": "fi"])
            #expect(french.text.contains("Se connecter"))
            let offsite = try await server.call(.get, "/language/it?back=//evil.example/")
            #expect(offsite.location == "/")
        }
    }

    @Test("every catalogue has the English catalogue's keys and no others")
    func catalogues() {
        let keys = Set(Labels.english.words.keys)
        for labels in Labels.all {
            #expect(Set(labels.words.keys) == keys, "\(labels.code)")
            #expect(labels.words.values.allSatisfy { !$0.isEmpty }, "\(labels.code)")
        }
    }

    @Test("sessions expire after their lifetime without a request")
    func expiry() {
        let clock = ClockBox()
        let store = SessionStore(lifetime: 60, now: { clock.now })
        let session = store.create(user: "bob", tokenHash: "h")
        clock.advance(59)
        #expect(store.session(session.id) != nil)
        clock.advance(59)
        #expect(store.session(session.id) != nil)
        clock.advance(61)
        #expect(store.session(session.id) == nil)
        #expect(store.session("guess") == nil)
        #expect(!SessionStore.same("", ""))
        #expect(SessionStore.same(session.csrf, session.csrf))
    }
}

/// A clock the expiry test moves by hand.
final class ClockBox: @unchecked Sendable {
    // `@unchecked Sendable`: read and moved by one test on one task.
    var now = Date(timeIntervalSince1970: 1_000_000)
    func advance(_ seconds: TimeInterval) { now += seconds }
}

@Suite("Console: internal notes")
struct ConsoleNoteTests {
    @Test("the internal side reads and adds notes on the thread page; an outside reader's page has no trace of them")
    func notesOnThePage() async throws {
        try await withConsole { h in
            let cast = try await h.seed()
            let ann = try await h.signIn(cast.ann)
            let bob = try await h.signIn(cast.bob)
            let page = try await h.call(.get, "/threads/\(cast.thread)", cookies: ann.cookies)
            #expect(page.text.contains(#"id="notes""#))
            let added = try await h.call(
                .post, "/threads/\(cast.thread)/notes",
                form: [("csrf", ann.csrf), ("body", "Call the supplier's accountant on Monday")], cookies: ann.cookies)
            #expect(added.status == 303, "\(added.text)")
            let after = try await h.call(.get, "/threads/\(cast.thread)", cookies: ann.cookies)
            #expect(after.text.contains("Call the supplier&#39;s accountant on Monday") || after.text.contains("Call the supplier's accountant on Monday"))
            let outside = try await h.call(.get, "/threads/\(cast.thread)", cookies: bob.cookies)
            #expect(outside.status == 200)
            #expect(!outside.text.contains("accountant"))
            #expect(!outside.text.contains(#"id="notes""#))
            // An outside reader posting to the notes form is refused and nothing is appended.
            let before = try h.lastPosition()
            let refused = try await h.call(
                .post, "/threads/\(cast.thread)/notes", form: [("csrf", bob.csrf), ("body", "mine")], cookies: bob.cookies)
            #expect(refused.status != 303)
            #expect(try h.lastPosition() == before)
        }
    }
}

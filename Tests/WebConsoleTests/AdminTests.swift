import Foundation
import TestSupport
import Testing

@testable import WebConsole

@Suite("The console's administration, operations and sign-in link over a real server")
struct AdminTests {
    @Test("the admin creates a party, a user, a structure and a category through forms; the API sees them")
    func adminCreatesThroughForms() async throws {
        try await withAdminConsole { server in
            let admin = try await server.signIn(AdminHarness.adminToken, landing: "/admin/parties")
            let party = try await server.post(
                "/admin/parties", admin, [("id", "sup"), ("name", "Supplier <Ltd>"), ("kind", "external")])
            #expect(party.status == 303)
            let parties = try await server.call(.get, "/admin/parties", cookies: admin.cookies)
            #expect(parties.text.contains("Supplier &lt;Ltd&gt;"))
            #expect(!parties.text.contains("Supplier <Ltd>"))

            // The new user's token is on the answer to the form, and nowhere after it.
            let created = try await server.post(
                "/admin/users", admin,
                [
                    ("id", "bob"), ("name", "Bob"), ("email", "bob@example.test"), ("party", "sup"),
                    ("roles", "supplier"),
                ])
            #expect(created.status == 201)
            let token = try #require(created.element("new-token"))
            #expect(token.count == 64)
            #expect(created.headers[.cacheControl] == "no-store")
            let users = try await server.call(.get, "/admin/users", cookies: admin.cookies)
            #expect(users.text.contains("bob@example.test"))
            #expect(!users.text.contains(token))
            let inbox = try await server.call(.get, "/v1/inbox", token: token)
            #expect(inbox.status == 200)

            // A replaced token: the new one is shown once, the old one stops working.
            let replaced = try await server.post("/admin/users/bob/token", admin, [])
            #expect(replaced.status == 200)
            let newToken = try #require(replaced.element("new-token"))
            #expect(newToken != token)
            #expect(try await server.call(.get, "/v1/inbox", token: token).status == 401)
            #expect(try await server.call(.get, "/v1/inbox", token: newToken).status == 200)

            let structure = try await server.post(
                "/admin/structures", admin, [("id", "circle"), ("name", "Circle"), ("party", "sup")])
            #expect(structure.status == 303)
            let member = try await server.post("/admin/structures/circle/members", admin, [("user", "bob")])
            #expect(member.status == 303)
            let structures = try await server.call(.get, "/admin/structures", cookies: admin.cookies)
            #expect(structures.text.contains("/admin/structures/circle/members/remove"))
            let category = try await server.post(
                "/admin/categories", admin,
                [
                    ("id", "billing"), ("name", "Billing"), ("handlerRoles", "handler, billing"),
                    ("structures", "circle"),
                ])
            #expect(category.status == 303)

            // The API works with what the forms made: a thread in the category, the structure's member.
            let opened = try await server.call(
                .post, "/v1/threads", token: newToken,
                json: #"{"subject":{"kind":"request","ref":"R-1"},"title":"Bill","category":"billing"}"#)
            #expect(opened.status == 201, "\(opened.text)")
            try await server.admin(.delete, "/v1/structures/circle/members/bob", expect: 200)
            let removedAgain = try await server.post(
                "/admin/structures/circle/members/remove", admin, [("user", "bob")])
            #expect(removedAgain.status == 422)

            // A refusal in the visitor's language, with what was typed, and nothing changed.
            let italian = admin.cookies.merging(["tl_lang": "it"]) { $1 }
            let duplicate = try await server.post(
                "/admin/parties", admin, [("id", "sup"), ("name", "Another"), ("kind", "internal")], cookies: italian)
            #expect(duplicate.status == 422)
            #expect(duplicate.element("admin-error")?.contains("è già in uso") == true)
            #expect(duplicate.text.contains(#"value="Another""#))
            let unknownParty = try await server.post(
                "/admin/users", admin,
                [("id", "carl"), ("name", "Carl"), ("email", "carl@example.test"), ("party", "nowhere")],
                cookies: italian)
            #expect(unknownParty.status == 422)
            #expect(unknownParty.element("admin-error")?.contains("Non esiste la parte") == true)
            #expect(!unknownParty.text.contains(#"id="new-token""#))
            let partiesAfter = try await server.call(.get, "/admin/parties", cookies: admin.cookies)
            #expect(!partiesAfter.text.contains("Another"))

            // A form without the session's CSRF token changes nothing.
            let forged = try await server.call(
                .post, "/admin/parties", form: [("id", "forged"), ("name", "Forged"), ("kind", "external")],
                cookies: admin.cookies)
            #expect(forged.status == 403)
            let afterForgery = try await server.call(.get, "/admin/parties", cookies: admin.cookies)
            #expect(!afterForgery.text.contains("Forged"))
        }
    }

    @Test("a user's session gets no administration page, and the admin's session no user page")
    func nonAdminRefused() async throws {
        try await withAdminConsole { server in
            let cast = try await server.seedAnswered()
            let bob = try await server.signIn(cast.bob)
            for path in ["/admin/users", "/admin/settings", "/operations", "/admin"] {
                let reply = try await server.call(.get, path, cookies: bob.cookies)
                #expect(reply.status == 404, "\(path)")
                #expect(!reply.text.contains("admin/parties"))
            }
            let posted = try await server.post(
                "/admin/parties", bob, [("id", "mine"), ("name", "Mine"), ("kind", "internal")])
            #expect(posted.status == 404)
            let resend = try await server.post("/operations/outbox/1.0/resend", bob, [])
            #expect(resend.status == 404)
            let anonymous = try await server.call(.get, "/admin/users")
            #expect(anonymous.status == 303)
            #expect(anonymous.location?.hasPrefix("/sign-in") == true)

            let admin = try await server.signIn(AdminHarness.adminToken, landing: "/admin/parties")
            let parties = try await server.call(.get, "/admin/parties", cookies: admin.cookies)
            #expect(!parties.text.contains(">Mine<"))
            #expect(try await server.call(.get, "/inbox", cookies: admin.cookies).status == 404)
            #expect(try await server.call(.get, "/threads/\(cast.thread)", cookies: admin.cookies).status == 404)
            let home = try await server.call(.get, "/", cookies: admin.cookies)
            #expect(home.location == "/admin")
        }
    }

    @Test("a change of the display policy shows on an outside reader's thread page; a bad one changes nothing")
    func displayPolicyTakesEffect() async throws {
        try await withAdminConsole { server in
            let cast = try await server.seedAnswered()
            let bob = try await server.signIn(cast.bob)
            let admin = try await server.signIn(AdminHarness.adminToken, landing: "/admin/settings")

            let custom = try await server.post(
                "/admin/settings/display", admin, [("mode", "custom"), ("text", "Customer service")])
            #expect(custom.status == 200)
            var page = try await server.call(.get, "/threads/\(cast.thread)", cookies: bob.cookies)
            #expect(page.text.contains(#"<strong class="author">Customer service</strong>"#))
            #expect(!page.text.contains("Ann Person"))
            let settings = try await server.admin(.get, "/v1/settings", expect: 200)
            #expect((settings.json["displayPolicy"] as? [String: Any])?["mode"] as? String == "custom")

            _ = try await server.post("/admin/settings/display", admin, [("mode", "fullName")])
            page = try await server.call(.get, "/threads/\(cast.thread)", cookies: bob.cookies)
            #expect(page.text.contains(#"<strong class="author">Ann Person</strong>"#))

            // A custom mention without a text is refused by the domain, shown in French; nothing changes.
            let refused = try await server.post(
                "/admin/settings/display", admin, [("mode", "custom"), ("text", "")],
                cookies: ["tl_lang": "fr"])
            #expect(refused.status == 422)
            #expect(refused.element("admin-error")?.contains("Rien n") == true)
            let badNumber = try await server.post("/admin/settings/retention", admin, [("days", "many")])
            #expect(badNumber.status == 422)
            let badJSON = try await server.post("/admin/settings/notifications", admin, [("notifications", "[{")])
            #expect(badJSON.status == 422)
            page = try await server.call(.get, "/threads/\(cast.thread)", cookies: bob.cookies)
            #expect(page.text.contains(#"<strong class="author">Ann Person</strong>"#))

            let digest = try await server.post(
                "/admin/settings/digest", admin,
                [
                    ("time", "06:30"), ("subjectTemplate", "News {{subject.ref}}"), ("enabled", "on"),
                    ("bodyTemplate", "{{unread}} new about {{subject.ref}}\r\n{{link}}"), ("audienceOutside", "on"),
                ])
            #expect(digest.status == 200)
            // Neither side ticked: refused by the domain, nothing changes.
            let nobody = try await server.post(
                "/admin/settings/digest", admin, [("time", "06:30"), ("subjectTemplate", "News"), ("enabled", "on")])
            #expect(nobody.status == 422)
            let retention = try await server.post("/admin/settings/retention", admin, [("days", "400")])
            #expect(retention.status == 200)
            let after = try await server.admin(.get, "/v1/settings", expect: 200)
            let digestAfter = after.json["digest"] as? [String: Any]
            #expect(digestAfter?["time"] as? String == "06:30")
            #expect(digestAfter?["subjectTemplate"] as? String == "News {{subject.ref}}")
            #expect(digestAfter?["bodyTemplate"] as? String == "{{unread}} new about {{subject.ref}}\n{{link}}")
            #expect(digestAfter?["audience"] as? [String] == ["outside"])
            #expect(digestAfter?["enabled"] as? Bool == true)
            #expect((after.json["retention"] as? [String: Any])?["days"] as? Int == 400)

            // Immediate mail off by its checkbox (the built-in rules stay: an empty list), and on again;
            // the page shows the switches as they stand.
            let off = try await server.post("/admin/settings/notifications", admin, [("notifications", "[]")])
            #expect(off.status == 200)
            var notifications = try await server.admin(.get, "/v1/settings", expect: 200).json["notifications"]
            #expect((notifications as? [String: Any])?["enabled"] as? Bool == false)
            page = try await server.call(.get, "/admin/settings", cookies: admin.cookies)
            #expect(page.text.contains(#"<input type="checkbox" name="notificationsEnabled"> "#))
            #expect(page.text.contains(#"<input type="checkbox" name="audienceOutside" checked>"#))
            #expect(page.text.contains(#"<input type="checkbox" name="audienceInternal"> "#))
            let on = try await server.post(
                "/admin/settings/notifications", admin, [("notifications", "[]"), ("notificationsEnabled", "on")])
            #expect(on.status == 200)
            notifications = try await server.admin(.get, "/v1/settings", expect: 200).json["notifications"]
            #expect((notifications as? [String: Any])?["enabled"] as? Bool == true)
        }
    }

    @Test("a mail the server refuses shows as failed; resend puts it back to pending and it goes out")
    func operationsResend() async throws {
        try await withSMTPServer(["--reject-5xx-data", "1"]) { smtp in
            try await withAdminConsole(smtp: smtp) { server in
                try await server.admin(
                    .put, "/v1/settings",
                    #"{"notifications":{"rules":[{"on":"threadOpened","to":["author"],"cc":[],"bcc":[],"subjectTemplate":"We got your request","bodyTemplate":"Thank you."}]}}"#,
                    expect: 200)
                let cast = try await server.seedAnswered()
                _ = cast
                let admin = try await server.signIn(AdminHarness.adminToken, landing: "/operations")
                var failedID = ""
                try await server.eventually("the refused mail") {
                    let list = try await server.admin(.get, "/v1/outbox?state=failed", expect: 200)
                    let items = list.json["items"] as? [[String: Any]] ?? []
                    failedID = items.first?["id"] as? String ?? ""
                    return !failedID.isEmpty
                }
                let page = try await server.call(.get, "/operations", cookies: admin.cookies)
                #expect(page.status == 200)
                #expect(page.element("outbox-failed") == "1")
                #expect(page.text.contains("bob@example.test"))
                #expect(page.text.contains("We got your request"))
                #expect(page.text.contains("554"))
                #expect(page.text.contains("/operations/outbox/\(failedID)/resend"))
                #expect(page.text.contains(#"data-view="inbox""#))
                #expect(page.element("log-position").flatMap(UInt64.init) == (try server.store.lastPosition()))

                let resent = try await server.post("/operations/outbox/\(failedID)/resend", admin, [])
                #expect(resent.status == 200)
                #expect(resent.element("ops-notice") != nil)
                try await server.eventually("the resent mail") { try smtp.messages().count == 1 }
                try await server.eventually("the delivery recorded") {
                    let list = try await server.admin(.get, "/v1/outbox?state=delivered", expect: 200)
                    return (list.json["items"] as? [[String: Any]])?.contains { $0["id"] as? String == failedID }
                        == true
                }
                let mail = try #require(try smtp.messages().first).parsed()
                #expect(mail.subject == "We got your request")
                let again = try await server.call(
                    .post, "/v1/outbox/\(failedID)/resend", token: AdminHarness.adminToken)
                #expect(again.status == 409)
                let unknown = try await server.call(.post, "/v1/outbox/9.9/resend", token: AdminHarness.adminToken)
                #expect(unknown.status == 404)
                let byUser = try await server.call(.get, "/v1/outbox", token: cast.bob)
                #expect(byUser.status == 403)
                let after = try await server.call(.get, "/operations", cookies: admin.cookies)
                #expect(after.element("outbox-failed") == "0")
            }
        }
    }

    @Test("a sign-in link is mailed, works once, and the page is the same for an unknown address")
    func signInLink() async throws {
        try await withSMTPServer { smtp in
            try await withAdminConsole(smtp: smtp) { server in
                let cast = try await server.seedAnswered()
                let signIn = try await server.call(.get, "/sign-in")
                #expect(signIn.text.contains(#"href="/sign-in/link""#))

                func request(_ address: String) async throws -> Reply {
                    let form = try await server.call(.get, "/sign-in/link")
                    let pre = try #require(form.cookie("tl_signin")?.value)
                    return try await server.call(
                        .post, "/sign-in/link", form: [("csrf", try #require(form.csrf)), ("email", address)],
                        cookies: ["tl_signin": pre])
                }
                let known = try await request("Bob@Example.test")
                let unknown = try await request("nobody@example.test")
                #expect(known.status == 200 && unknown.status == 200)
                #expect(known.text == unknown.text)
                #expect(known.element("link-sent") != nil)

                try await server.eventually("the link mail") { try linkMails(smtp).count == 1 }
                let received = try #require(try linkMails(smtp).first)
                #expect(received.envelope.recipients == ["bob@example.test"])
                let body = try received.parsed().body
                let prefix = AdminHarness.publicURL + "/sign-in/link/"
                let start = try #require(body.range(of: prefix))
                let token = String(body[start.upperBound...].prefix { $0.isHexDigit })
                #expect(token.count == 64)
                // Recorded as delivered (its text, the link, is not kept after that).
                try await server.eventually("the link dropped from the outbox") {
                    let list = try await server.admin(.get, "/v1/outbox?state=delivered", expect: 200)
                    return (list.json["items"] as? [[String: Any]])?.contains {
                        $0["trigger"] as? String == "signInLink"
                    } == true
                }

                // Fetching the link (as a mail scanner does) spends nothing; the button does.
                let path = "/sign-in/link/" + token
                _ = try await server.call(.get, path)
                let confirm = try await server.call(.get, path)
                #expect(confirm.status == 200)
                // The token is in the form only, not repeated in the page's other links.
                #expect(confirm.text.components(separatedBy: token).count == 2)
                let pre = try #require(confirm.cookie("tl_signin")?.value)
                let csrf = try #require(confirm.csrf)
                let used = try await server.call(
                    .post, "/sign-in/link/use", form: [("csrf", csrf), ("token", token)], cookies: ["tl_signin": pre])
                #expect(used.status == 303)
                let session = try #require(used.cookie("tl_session")?.value)
                let inbox = try await server.call(.get, "/inbox", cookies: ["tl_session": session])
                #expect(inbox.status == 200)
                #expect(inbox.text.contains("Bob Person"))

                let second = try await server.call(
                    .post, "/sign-in/link/use", form: [("csrf", csrf), ("token", token)], cookies: ["tl_signin": pre])
                #expect(second.status == 410)
                #expect(second.cookie("tl_session") == nil)
                let noCSRF = try await server.call(.post, "/sign-in/link/use", form: [("token", token)])
                #expect(noCSRF.status == 403)

                // The admin has no address: the admin token remains the admin's only way in.
                _ = cast
            }
        }
    }

    @Test("an expired sign-in link is refused; links are rate-limited per address")
    func expiredSignInLink() async throws {
        try await withSMTPServer { smtp in
            try await withAdminConsole(smtp: smtp, linkLifetime: .seconds(1)) { server in
                _ = try await server.seedAnswered()
                func request(_ address: String) async throws -> Reply {
                    let form = try await server.call(.get, "/sign-in/link")
                    let pre = try #require(form.cookie("tl_signin")?.value)
                    return try await server.call(
                        .post, "/sign-in/link", form: [("csrf", try #require(form.csrf)), ("email", address)],
                        cookies: ["tl_signin": pre])
                }
                #expect(try await request("bob@example.test").status == 200)
                try await server.eventually("the link mail") { try linkMails(smtp).count == 1 }
                let body = try #require(try linkMails(smtp).first).parsed().body
                let start = try #require(body.range(of: "/sign-in/link/"))
                let token = String(body[start.upperBound...].prefix { $0.isHexDigit })
                try await Task.sleep(for: .milliseconds(1200))
                let confirm = try await server.call(.get, "/sign-in/link/" + token)
                let used = try await server.call(
                    .post, "/sign-in/link/use", form: [("csrf", try #require(confirm.csrf)), ("token", token)],
                    cookies: ["tl_signin": try #require(confirm.cookie("tl_signin")?.value)])
                #expect(used.status == 410)
                #expect(used.cookie("tl_session") == nil)

                // Within one lifetime, at most three links go to one address; the page says the same.
                let address = "ann@example.test"
                var pages: Set<String> = []
                for _ in 0..<5 { pages.insert(try await request(address).text) }
                #expect(pages.count == 1)
                try await Task.sleep(for: .milliseconds(800))
                #expect(try linkMails(smtp).count <= 4)
            }
        }
    }

    /// The sign-in link mails received (the default notification rules mail the seed's thread too).
    func linkMails(_ smtp: SMTPTestServer) throws -> [ReceivedMail] {
        try smtp.messages().filter { $0.headerLines.contains("Subject: Your Threadlog sign-in link") }
    }

    @Test("without mail the sign-in link is neither offered nor answered")
    func noLinkWithoutMail() async throws {
        try await withAdminConsole { server in
            let signIn = try await server.call(.get, "/sign-in")
            #expect(!signIn.text.contains("/sign-in/link"))
            #expect(try await server.call(.get, "/sign-in/link").status == 404)
        }
    }
}

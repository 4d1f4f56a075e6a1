import Crypto
import Foundation
import NIOCore
import Testing

@testable import WebConsole

/// A `multipart/form-data` body as a browser sends it.
func multipart(
    _ fields: [(String, String)], files: [(field: String, name: String, type: String, bytes: [UInt8])] = []
) -> (contentType: String, body: ByteBuffer) {
    let boundary = "----ThreadlogTestBoundary7MA4YWxkTrZu0gW"
    var body = ByteBuffer()
    for (name, value) in fields {
        body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n")
    }
    for file in files {
        body.writeString(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.field)\"; filename=\"\(file.name)\"\r\n"
                + "Content-Type: \(file.type)\r\n\r\n")
        body.writeBytes(file.bytes)
        body.writeString("\r\n")
    }
    body.writeString("--\(boundary)--\r\n")
    return ("multipart/form-data; boundary=\(boundary)", body)
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

@Suite("Attachments, templates, assignment and the inbox's filters in the web console")
struct AttachmentTests {
    @Test("a file posted with a message is listed with a link that serves it by name to its readers only")
    func uploadAndDownload() async throws {
        try await withConsole { server in
            let cast = try await server.seed()
            let bob = try await server.signIn(cast.bob)
            let page = try await server.call(.get, "/threads/\(cast.thread)", cookies: bob.cookies)
            #expect(page.text.contains(#"enctype="multipart/form-data""#))
            #expect(page.text.contains(#"<input type="file" name="files" multiple>"#))

            let bytes = Array("Quarterly figures\n".utf8)
            let posted = try await server.call(
                .post, "/threads/\(cast.thread)/messages",
                raw: multipart(
                    [("csrf", bob.csrf), ("body", "The report"), ("kind", "message")],
                    files: [("files", "report %22Q3%22.txt", "text/plain", bytes)]),
                cookies: bob.cookies)
            #expect(posted.status == 303)
            #expect(posted.location == "/threads/\(cast.thread)#m2")

            let digest = sha256Hex(bytes)
            let link = "/threads/\(cast.thread)/files/\(digest)"
            let shown = try await server.call(.get, "/threads/\(cast.thread)", cookies: bob.cookies)
            #expect(shown.text.contains(#"<a href="\#(link)" download>report &quot;Q3&quot;.txt</a>"#))

            let download = try await server.call(.get, link, cookies: bob.cookies)
            #expect(download.status == 200)
            #expect(download.text == "Quarterly figures\n")
            #expect(download.headers[.contentType] == "text/plain")
            #expect(
                download.headers[.contentDisposition]
                    == #"attachment; filename="report _Q3_.txt"; filename*=UTF-8''report%20%22Q3%22.txt"#)
            #expect(download.headers[.contentSecurityPolicy] == "default-src 'none'; sandbox")

            // The handler reads the thread, so the file; the API serves the same blob.
            let ann = try await server.signIn(cast.ann)
            #expect(try await server.call(.get, link, cookies: ann.cookies).status == 200)
            let api = try await server.call(.get, "/v1/blobs/\(digest)", token: cast.ann)
            #expect(api.status == 200 && api.text == "Quarterly figures\n")

            // An outsider gets the not-found page, as for an unknown file.
            let eve = try await server.signIn(cast.eve)
            let hidden = try await server.call(.get, link, cookies: eve.cookies)
            let unknown = try await server.call(
                .get, "/threads/\(cast.thread)/files/\(String(repeating: "0", count: 64))", cookies: eve.cookies)
            #expect(hidden.status == 404 && unknown.status == 404)
            #expect(hidden.text.contains("Not found"))
            #expect(!hidden.text.contains("Quarterly"))
            // Not signed in: to the sign-in page.
            let anonymous = try await server.call(.get, link)
            #expect(anonymous.status == 303)
        }
    }

    @Test("a multipart form without its CSRF token is refused and stores nothing")
    func multipartCSRF() async throws {
        try await withConsole { server in
            let cast = try await server.seed()
            let bob = try await server.signIn(cast.bob)
            let ann = try await server.signIn(cast.ann)
            let before = try server.lastPosition()
            let bytes = Array("forged".utf8)
            for fields in [[("body", "forged")], [("csrf", ann.csrf), ("body", "forged")]] {
                let refused = try await server.call(
                    .post, "/threads/\(cast.thread)/messages",
                    raw: multipart(fields, files: [("files", "x.txt", "text/plain", bytes)]), cookies: bob.cookies)
                #expect(refused.status == 403)
            }
            let opened = try await server.call(
                .post, "/threads",
                raw: multipart(
                    [("kind", "ticket"), ("title", "forged")], files: [("files", "x.txt", "text/plain", bytes)]),
                cookies: bob.cookies)
            #expect(opened.status == 403)
            // A body that is not multipart at all, under a multipart content type.
            var garbage = ByteBuffer()
            garbage.writeString("csrf=\(bob.csrf)&body=x")
            let broken = try await server.call(
                .post, "/threads/\(cast.thread)/messages",
                raw: ("multipart/form-data; boundary=nothing-here", garbage), cookies: bob.cookies)
            #expect(broken.status == 403)
            #expect(try server.lastPosition() == before)
            let blob = try await server.call(.get, "/v1/blobs/\(sha256Hex(bytes))", token: cast.bob)
            #expect(blob.status == 404)
            #expect(!FileManager.default.fileExists(atPath: server.blobPath(sha256Hex(bytes))))
        }
    }

    @Test("a new ticket takes attachments with its first message")
    func newThreadWithAttachment() async throws {
        try await withConsole { server in
            let cast = try await server.seed()
            let bob = try await server.signIn(cast.bob)
            let form = try await server.call(.get, "/threads/new", cookies: bob.cookies)
            #expect(form.text.contains(#"enctype="multipart/form-data""#))
            let bytes: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 255]
            let opened = try await server.call(
                .post, "/threads",
                raw: multipart(
                    [
                        ("csrf", bob.csrf), ("kind", "ticket"), ("ref", ""), ("title", "Broken meter"),
                        ("priority", "high"), ("type", "message"), ("body", "See the photo"),
                    ],
                    files: [
                        ("files", "C:\\Users\\bob\\meter.png", "image/png", bytes),
                        ("files", "", "application/octet-stream", []),
                    ]),
                cookies: bob.cookies)
            #expect(opened.status == 303)
            let location = try #require(opened.location)
            let page = try await server.call(.get, location, cookies: bob.cookies)
            #expect(page.text.contains("Broken meter"))
            let link = "\(location)/files/\(sha256Hex(bytes))"
            #expect(page.text.contains(#"<a href="\#(link)" download>meter.png</a>"#))
            let download = try await server.call(.get, link, cookies: bob.cookies)
            #expect(download.status == 200)
            #expect(download.headers[.contentType] == "image/png")
            #expect(download.headers[.contentDisposition]?.hasPrefix(#"attachment; filename="meter.png""#) == true)
        }
    }

    @Test("a handler assigns the thread to another handler; the outside party may not")
    func assign() async throws {
        try await withConsole { server in
            let cast = try await server.seed()
            let hal = try await server.call(
                .post, "/v1/users", token: ConsoleHarness.adminToken,
                json: #"{"id":"hal","name":"Hal","email":"hal@example.test","party":"acme","roles":["handler"]}"#)
            #expect(hal.status == 201)
            let ann = try await server.signIn(cast.ann)
            let page = try await server.call(.get, "/threads/\(cast.thread)", cookies: ann.cookies)
            #expect(page.text.contains(#"<option value="hal">Hal</option>"#))
            #expect(!page.text.contains(#"<option value="bob">"#))
            let assigned = try await server.call(
                .post, "/threads/\(cast.thread)/assign", form: [("csrf", ann.csrf), ("handler", "hal")],
                cookies: ann.cookies)
            #expect(assigned.status == 303)
            let after = try await server.call(.get, "/threads/\(cast.thread)", cookies: ann.cookies)
            #expect(after.text.contains(#"<dd id="thread-handler">Hal</dd>"#))
            #expect(after.text.contains(#"<option value="hal" selected>Hal</option>"#))

            let bob = try await server.signIn(cast.bob)
            let bobPage = try await server.call(.get, "/threads/\(cast.thread)", cookies: bob.cookies)
            #expect(!bobPage.text.contains("/assign"))
            let before = try server.lastPosition()
            let refused = try await server.call(
                .post, "/threads/\(cast.thread)/assign", form: [("csrf", bob.csrf), ("handler", "bob")],
                cookies: bob.cookies)
            #expect(refused.status == 403)
            let noCSRF = try await server.call(
                .post, "/threads/\(cast.thread)/assign", form: [("handler", "ann")], cookies: ann.cookies)
            #expect(noCSRF.status == 403)
            #expect(try server.lastPosition() == before)
        }
    }

    @Test("message templates are offered in the post box and prefill it without script")
    func templates() async throws {
        try await withConsole { server in
            let cast = try await server.seed()
            let settings = try await server.call(
                .put, "/v1/settings", token: ConsoleHarness.adminToken,
                json: #"{"messageTemplates":{"Thanks":"Thank you <b>very</b> much","Ask":"More details, please?"}}"#)
            #expect(settings.status == 200)
            let ann = try await server.signIn(cast.ann)
            let page = try await server.call(.get, "/threads/\(cast.thread)", cookies: ann.cookies)
            #expect(
                page.text.contains(
                    #"<option value="Thanks" data-text="Thank you &lt;b&gt;very&lt;/b&gt; much">Thanks</option>"#))
            #expect(page.text.contains(#"<textarea id="body" name="body" rows="4"></textarea>"#))
            let prefilled = try await server.call(.get, "/threads/\(cast.thread)?template=Thanks", cookies: ann.cookies)
            #expect(
                prefilled.text.contains(
                    #"<textarea id="body" name="body" rows="4">Thank you &lt;b&gt;very&lt;/b&gt; much</textarea>"#))
            #expect(
                prefilled.text.contains(
                    #"<option value="Thanks" data-text="Thank you &lt;b&gt;very&lt;/b&gt; much" selected>"#))
            let unknown = try await server.call(.get, "/threads/\(cast.thread)?template=Nope", cookies: ann.cookies)
            #expect(unknown.status == 200)
            #expect(unknown.text.contains(#"rows="4"></textarea>"#))
        }
    }

    @Test("the inbox filters on every column, shows the opener as the display policy does, and pages with its filters")
    func inboxFilters() async throws {
        try await withConsole { server in
            let cast = try await server.seed()
            let admin = ConsoleHarness.adminToken
            let category = try await server.call(
                .post, "/v1/categories", token: admin,
                json:
                    #"{"id":"billing","name":"Billing","handlerRoles":["handler"],"structures":[],"defaultRecipients":[]}"#
            )
            #expect(category.status == 201)
            func open(_ json: String, _ token: String) async throws -> String {
                let reply = try await server.call(.post, "/v1/threads", token: token, json: json)
                #expect(reply.status == 201)
                return reply.json["id"] as? String ?? ""
            }
            let urgentTask = try await open(
                #"{"subject":{"kind":"request","ref":"R-1"},"title":"Urgent task","type":"task","priority":"urgent","category":"billing","body":"Do it"}"#,
                cast.bob)
            let lowTask = try await open(
                #"{"subject":{"kind":"request","ref":"R-2"},"title":"Low task","type":"task","priority":"low","body":"Later"}"#,
                cast.bob)
            let mine = try await open(
                #"{"subject":{"kind":"request","ref":"R-3"},"title":"Internal memo","participants":["bob"]}"#, cast.ann)
            _ = try await server.call(
                .post, "/v1/threads/\(lowTask)/assign", token: cast.ann, json: #"{"handler":"ann"}"#)

            let ann = try await server.signIn(cast.ann)
            func titles(_ query: String, _ browser: Browser) async throws -> [String] {
                let page = try await server.call(.get, "/inbox?" + query, cookies: browser.cookies)
                #expect(page.status == 200)
                return page.text.components(separatedBy: #"<td data-label="Title" class="title"><a href="/threads/"#)
                    .dropFirst().map { String($0.drop { $0 != ">" }.dropFirst().prefix { $0 != "<" }) }
            }
            #expect(try await titles("type=task&priority=urgent", ann) == ["Urgent task"])
            #expect(try await titles("type=task", ann).sorted() == ["Low task", "Urgent task"])
            #expect(try await titles("category=billing", ann) == ["Urgent task"])
            #expect(try await titles("handler=ann", ann) == ["Low task"])
            #expect(try await titles("party=acme", ann) == ["Internal memo"])
            #expect(try await titles("party=sup&q=task", ann).sorted() == ["Low task", "Urgent task"])
            #expect(try await titles("unread=1", ann).sorted() == ["Invoice question", "Low task", "Urgent task"])
            // A value no choice offers (a hand-edited link) is dropped.
            #expect(try await titles("category=nope&handler=nobody", ann).count == 4)

            let page = try await server.call(.get, "/inbox?type=task&unread=1", cookies: ann.cookies)
            #expect(page.text.contains(#"<option value="task" selected>"#))
            #expect(page.text.contains(#"<input type="checkbox" name="unread" value="1" checked>"#))
            #expect(page.text.contains(#"<option value="billing">Billing</option>"#))
            #expect(page.text.contains(#"<select name="handler">"#))
            #expect(page.text.contains(#"<td data-label="Opened by" class="opened-by">Bob</td>"#))

            // The outside party: no handler filter, parties limited to its own and the operator's.
            let bob = try await server.signIn(cast.bob)
            let bobPage = try await server.call(.get, "/inbox", cookies: bob.cookies)
            #expect(!bobPage.text.contains(#"<select name="handler">"#))
            #expect(bobPage.text.contains(#"<option value="sup">Supplier Ltd</option>"#))
            #expect(!bobPage.text.contains("Other Co"))
            #expect(try await titles("party=acme", bob) == ["Internal memo"])
            _ = urgentTask
            _ = mine

            // Paging keeps the filters.
            for index in 0..<26 {
                _ = try await open(
                    #"{"subject":{"kind":"request","ref":"P-\#(index)"},"title":"Page \#(index)","type":"task","priority":"high"}"#,
                    cast.ann)
            }
            let first = try await server.call(.get, "/inbox?type=task&priority=high", cookies: ann.cookies)
            let next = try #require(
                first.text.range(of: #"<a href=""#).flatMap { _ -> String? in
                    guard let start = first.text.range(of: #"rel="next""#) else { return nil }
                    let before = first.text[..<start.lowerBound]
                    guard let href = before.range(of: #"href=""#, options: .backwards) else { return nil }
                    return String(before[href.upperBound...].prefix { $0 != "\"" })
                })
            #expect(next.hasPrefix("/inbox?priority=high&amp;type=task&amp;cursor=") || next.contains("type=task"))
            let second = try await server.call(
                .get, next.replacingOccurrences(of: "&amp;", with: "&"), cookies: ann.cookies)
            #expect(second.status == 200)
            #expect(second.text.components(separatedBy: #"class="title"><a"#).count - 1 == 1)
        }
    }
}

@Suite("Attachments in the web console: refusals and the multipart parser")
struct AttachmentRefusalTests {
    @Test("no file is stored for a hidden or blocked thread, nor when the settings allow no attachments")
    func refusals() async throws {
        try await withConsole { server in
            let cast = try await server.seed()
            let bytes = Array("secret plan".utf8)
            let digest = sha256Hex(bytes)
            let eve = try await server.signIn(cast.eve)
            let hidden = try await server.call(
                .post, "/threads/\(cast.thread)/messages",
                raw: multipart(
                    [("csrf", eve.csrf), ("body", "hi")], files: [("files", "plan.txt", "text/plain", bytes)]),
                cookies: eve.cookies)
            #expect(hidden.status == 404)
            #expect(!FileManager.default.fileExists(atPath: server.blobPath(digest)))

            let blocked = try await server.call(.post, "/v1/threads/\(cast.thread)/block", token: cast.ann, json: "{}")
            #expect(blocked.status == 200)
            let bob = try await server.signIn(cast.bob)
            let refused = try await server.call(
                .post, "/threads/\(cast.thread)/messages",
                raw: multipart(
                    [("csrf", bob.csrf), ("body", "hi")], files: [("files", "plan.txt", "text/plain", bytes)]),
                cookies: bob.cookies)
            #expect(refused.status == 409)
            #expect(refused.text.contains("is blocked"))
            #expect(!FileManager.default.fileExists(atPath: server.blobPath(digest)))
            _ = try await server.call(.post, "/v1/threads/\(cast.thread)/unblock", token: cast.ann, json: "{}")

            let off = try await server.call(
                .put, "/v1/settings", token: ConsoleHarness.adminToken, json: #"{"attachmentsAllowed":false}"#)
            #expect(off.status == 200)
            let page = try await server.call(.get, "/threads/\(cast.thread)", cookies: bob.cookies)
            #expect(!page.text.contains(#"type="file""#))
            #expect(!page.text.contains("multipart/form-data"))
            let notAllowed = try await server.call(
                .post, "/threads/\(cast.thread)/messages",
                raw: multipart(
                    [("csrf", bob.csrf), ("body", "hi")], files: [("files", "plan.txt", "text/plain", bytes)]),
                cookies: bob.cookies)
            #expect(notAllowed.status == 409)
            #expect(!FileManager.default.fileExists(atPath: server.blobPath(digest)))
            let newThread = try await server.call(.get, "/threads/new", cookies: bob.cookies)
            #expect(!newThread.text.contains(#"type="file""#))
        }
    }

    @Test("a file larger than a plain form is taken; a body over the upload limit is refused with 413")
    func sizes() async throws {
        try await withConsole(maxUploadBytes: 2 << 20) { server in
            let cast = try await server.seed()
            let bob = try await server.signIn(cast.bob)
            var large = [UInt8](repeating: 0, count: 3 << 19)
            for index in stride(from: 0, to: large.count, by: 4096) {
                large[index] = UInt8(truncatingIfNeeded: index >> 12)
            }
            let posted = try await server.call(
                .post, "/threads/\(cast.thread)/messages",
                raw: multipart(
                    [("csrf", bob.csrf), ("body", "big")],
                    files: [("files", "big.bin", "application/octet-stream", large)]),
                cookies: bob.cookies)
            #expect(posted.status == 303)
            let download = try await server.call(
                .get, "/threads/\(cast.thread)/files/\(sha256Hex(large))", cookies: bob.cookies)
            #expect(download.status == 200)
            #expect(download.headers[.contentLength] == String(large.count))
            let before = try server.lastPosition()
            let tooLarge = [UInt8](repeating: 7, count: 3 << 20)
            let refused = try await server.call(
                .post, "/threads/\(cast.thread)/messages",
                raw: multipart(
                    [("csrf", bob.csrf), ("body", "too big")],
                    files: [("files", "huge.bin", "application/octet-stream", tooLarge)]),
                cookies: bob.cookies)
            #expect(refused.status == 413)
            #expect(refused.text.contains("larger than this service accepts"))
            #expect(try server.lastPosition() == before)
        }
    }

    @Test("the multipart parser: quoted boundaries and names, empty file boxes, bytes kept as sent")
    func parser() throws {
        #expect(MultipartForm.boundary(#"multipart/form-data; boundary="a b;c""#) == "a b;c")
        #expect(MultipartForm.boundary("multipart/form-data;boundary=xyz") == "xyz")
        #expect(MultipartForm.boundary("application/x-www-form-urlencoded") == nil)
        #expect(MultipartForm.boundary("multipart/form-data") == nil)
        let body =
            Array(
                ("--xyz\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nline one\r\nline two\r\n"
                    + "--xyz\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a;b %22c%22.bin\"\r\n"
                    + "Content-Type: application/octet-stream\r\n\r\n").utf8) + [0, 13, 10, 45, 45, 255]
            + Array(
                ("\r\n--xyz\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\"\r\n"
                    + "Content-Type: application/octet-stream\r\n\r\n\r\n--xyz--\r\n").utf8)
        let form = try #require(MultipartForm(body, boundary: "xyz"))
        #expect(form.fields["body"] == "line one\r\nline two")
        #expect(form.files.count == 1)
        #expect(form.files.first?.name == "a;b \"c\".bin")
        #expect(form.files.first?.bytes == [0, 13, 10, 45, 45, 255])
        #expect(MultipartForm(Array("--xyz\r\nno end".utf8), boundary: "xyz") == nil)
        #expect(MultipartForm(Array("nothing".utf8), boundary: "xyz") == nil)
        #expect(WebConsole.mediaType("text/html; charset=utf-8") == "text/html")
        #expect(WebConsole.mediaType("evil\r\nheader: x") == "application/octet-stream")
        #expect(WebConsole.fileName(String(repeating: "é", count: 200)).utf8.count <= 255)
    }
}

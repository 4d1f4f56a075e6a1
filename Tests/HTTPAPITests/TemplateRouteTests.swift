import Foundation
import Testing

@Suite("Message templates for every caller")
struct TemplateRouteTests {
    @Test("users read the settings' message templates without the admin token; the settings stay the admin's")
    func usersReadTemplates() async throws {
        try await withHarness { h in
            let cast = try await h.seed()
            let empty = try await h.call(.get, "/v1/templates", token: cast.bob)
            #expect(empty.status == 200, "\(empty.text)")
            #expect(empty.text == #"{"templates":{}}"#)
            let put = try await h.call(
                .put, "/v1/settings", token: Harness.adminToken,
                body: #"{"messageTemplates":{"thanks":"Thank you, we will check it.","delay":"We need two more days."}}"#)
            #expect(put.status == 200, "\(put.text)")
            // Read right after the write, by another caller: the templates are there.
            for token in [cast.bob, cast.ann, cast.eve] {
                let reply = try await h.call(.get, "/v1/templates", token: token)
                #expect(reply.status == 200)
                #expect(
                    reply.text
                        == #"{"templates":{"delay":"We need two more days.","thanks":"Thank you, we will check it."}}"#)
            }
            #expect(try await h.call(.get, "/v1/templates").status == 401)
            #expect(try await h.call(.get, "/v1/settings", token: cast.bob).status == 403)
        }
    }

    @Test("a supervisor adds, replaces and removes templates; handlers, outside users and services may not")
    func supervisorsManageTemplates() async throws {
        try await withHarness { h in
            let cast = try await h.seed()
            let added = try await h.call(
                .put, "/v1/templates/Thanks%20again", token: cast.hal, body: #"{"text":"Thank you, we will check it."}"#)
            #expect(added.status == 200, "\(added.text)")
            #expect(added.json["name"] as? String == "Thanks again")
            #expect(added.position == (try h.lastPosition()))
            let read = try await h.call(.get, "/v1/templates", token: cast.bob)
            #expect(read.text == #"{"templates":{"Thanks again":"Thank you, we will check it."}}"#)

            // Handlers, outside users and services are refused, and nothing is appended.
            let head = try h.lastPosition()
            for token in [cast.ann, cast.bob] {
                let put = try await h.call(.put, "/v1/templates/Thanks%20again", token: token, body: #"{"text":"Changed"}"#)
                #expect(put.status == 403, "\(put.text)")
                #expect(put.errorCode == "not_allowed")
                let delete = try await h.call(.delete, "/v1/templates/Thanks%20again", token: token)
                #expect(delete.status == 403, "\(delete.text)")
            }
            #expect(try await h.call(.put, "/v1/templates/x", token: cast.service, body: #"{"text":"x"}"#).status == 403)
            let blank = try await h.call(.put, "/v1/templates/blank", token: cast.hal, body: #"{"text":"  "}"#)
            #expect(blank.status == 422)
            #expect(blank.errorCode == "invalid_setting")
            let missing = try await h.call(.delete, "/v1/templates/never", token: cast.hal)
            #expect(missing.status == 404)
            #expect(missing.errorCode == "template_not_found")
            #expect(try h.lastPosition() == head)
            #expect(try await h.call(.get, "/v1/templates", token: cast.bob).text == read.text)

            // The administrator's and the supervisor's changes add to the set; removing takes one out.
            let admin = try await h.call(.put, "/v1/templates/delay", token: Harness.adminToken, body: #"{"text":"Two more days."}"#)
            #expect(admin.status == 200, "\(admin.text)")
            let removed = try await h.call(.delete, "/v1/templates/Thanks%20again", token: cast.hal)
            #expect(removed.status == 200, "\(removed.text)")
            #expect(removed.json["text"] == nil)
            #expect(try await h.call(.get, "/v1/templates", token: cast.ann).text == #"{"templates":{"delay":"Two more days."}}"#)
        }
    }
}

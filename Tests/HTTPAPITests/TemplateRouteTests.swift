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
}

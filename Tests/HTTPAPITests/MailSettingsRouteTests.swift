import Foundation
import Testing

@Suite("Mail settings over the settings route")
struct MailSettingsRouteTests {
    @Test("immediate mail and digests switch off; the digest changes field by field; bad values are refused")
    func mailSwitches() async throws {
        try await withHarness { h in
            let admin = Harness.adminToken
            var reply = try await h.call(.get, "/v1/settings", token: admin)
            var notifications = reply.json["notifications"] as? [String: Any]
            var digest = reply.json["digest"] as? [String: Any]
            // The defaults: built-in rules (an empty list), both switches on, both sides get digests.
            #expect(notifications?["enabled"] as? Bool == true)
            #expect((notifications?["rules"] as? [Any])?.isEmpty == true)
            #expect(digest?["enabled"] as? Bool == true)
            #expect(digest?["audience"] as? [String] == ["internal", "outside"])
            #expect((digest?["bodyTemplate"] as? String)?.contains("Please log in to Threadlog") == true)

            reply = try await h.call(
                .put, "/v1/settings", token: admin,
                body:
                    #"{"notifications":{"enabled":false},"digest":{"audience":["outside"],"bodyTemplate":"{{unread}} new"}}"#
            )
            #expect(reply.status == 200, "\(reply.text)")
            notifications = reply.json["notifications"] as? [String: Any]
            digest = reply.json["digest"] as? [String: Any]
            #expect(notifications?["enabled"] as? Bool == false)
            #expect(digest?["audience"] as? [String] == ["outside"])
            #expect(digest?["bodyTemplate"] as? String == "{{unread}} new")
            // Fields not named keep their value.
            #expect(digest?["time"] as? String == "07:00")
            #expect(digest?["enabled"] as? Bool == true)

            for (body, field) in [
                (#"{"digest":{"audience":["suppliers"]}}"#, "digest.audience"),
                (#"{"digest":{"audience":[]}}"#, "digest.audience"),
                (#"{"digest":{"audience":["outside","outside"]}}"#, "digest.audience"),
                (#"{"digest":{"bodyTemplate":"  "}}"#, "digest.bodyTemplate"),
            ] {
                reply = try await h.call(.put, "/v1/settings", token: admin, body: body)
                #expect(reply.status == 422, "\(body)")
                let error = reply.json["error"] as? [String: Any]
                #expect(error?["code"] as? String == "invalid_setting", "\(body)")
                #expect((error?["message"] as? String)?.contains(field) == true, "\(body)")
            }
            reply = try await h.call(.put, "/v1/settings", token: admin, body: #"{"digest":{"enabled":"no"}}"#)
            #expect(reply.status == 422)
            // Nothing refused changed anything.
            reply = try await h.call(.get, "/v1/settings", token: admin)
            digest = reply.json["digest"] as? [String: Any]
            #expect(digest?["audience"] as? [String] == ["outside"])
            #expect(digest?["bodyTemplate"] as? String == "{{unread}} new")

            reply = try await h.call(.put, "/v1/settings", token: admin, body: #"{"digest":{"enabled":false}}"#)
            #expect((reply.json["digest"] as? [String: Any])?["enabled"] as? Bool == false)
            #expect((reply.json["digest"] as? [String: Any])?["audience"] as? [String] == ["outside"])
        }
    }
}

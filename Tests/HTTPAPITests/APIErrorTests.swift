import Hummingbird
import HummingbirdTesting
import Testing

@testable import HTTPAPI

@Suite("API errors on Hummingbird's own error path")
struct APIErrorTests {
    @Test("an API error thrown past the routes answers with its status, headers and error body")
    func thrownThroughTheFramework() async throws {
        let router = Router()
        router.get("/full") { _, _ -> String in throw APIError.storageFull }
        router.get("/refused") { _, _ -> String in throw APIError.unprocessable("invalid_parameter", "Say \"why\".") }
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/full", method: .get) { response in
                #expect(response.status.code == 507)
                #expect(response.headers[.retryAfter] == "30")
                #expect(response.headers[.contentType] == "application/json")
                #expect(
                    String(buffer: response.body)
                        == #"{"error":{"code":"storage_full","message":"The service's disk is full; nothing was written. Retry once space is freed."}}"#
                )
            }
            try await client.execute(uri: "/refused", method: .get) { response in
                #expect(response.status == .unprocessableContent)
                #expect(
                    String(buffer: response.body) == #"{"error":{"code":"invalid_parameter","message":"Say \"why\"."}}"#
                )
            }
        }
    }
}

import EventLog
import Foundation
import PostgresEventLog

/// The test cluster's URL. Missing, the PostgreSQL tests fail: run them through `make test` or
/// `Tests/with-postgres.sh swift test …`.
func testPostgresURL() throws -> PostgresURL {
    guard let text = ProcessInfo.processInfo.environment["THREADLOG_TEST_PG_URL"], !text.isEmpty else {
        throw EventLogError(
            .missing, "THREADLOG_TEST_PG_URL is not set: run the tests with make test or Tests/with-postgres.sh swift test")
    }
    return try PostgresURL(text)
}

/// A database of its own on the test cluster.
func freshPostgresURL() throws -> PostgresURL {
    let server = try testPostgresURL()
    let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    try server.createDatabase(name)
    return server.with(database: name)
}

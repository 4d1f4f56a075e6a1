import EventLog
import Foundation
import PostgresEventLog
import TestSupport
import Testing

/// The backends the conformance suite runs against.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case lmdb
    case postgres

    var testDescription: String { rawValue }

    /// A new, empty store; the directory lives as long as the returned handle.
    func make() throws -> (store: any EventStore, keepAlive: TempDirectory) {
        switch self {
        case .lmdb:
            let dir = try TempDirectory()
            return (try LMDBEventStore.open(directory: dir.sub("log")), dir)
        case .postgres:
            // A database of its own per test on the cluster `make test` starts (Tests/with-postgres.sh).
            let server = try testPostgresURL()
            let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            try server.createDatabase(name)
            return (try PostgresEventStore(url: server.with(database: name)), try TempDirectory())
        }
    }
}

/// The test cluster's URL. Missing, the PostgreSQL tests fail: run them through `make test` or
/// `Tests/with-postgres.sh swift test …`.
func testPostgresURL() throws -> PostgresURL {
    guard let text = ProcessInfo.processInfo.environment["THREADLOG_TEST_PG_URL"], !text.isEmpty else {
        throw EventLogError(
            .missing, "THREADLOG_TEST_PG_URL is not set: run the tests with make test or Tests/with-postgres.sh swift test")
    }
    return try PostgresURL(text)
}

func event(_ type: String = "test.happened", _ text: String = "hello", actor: String = "user-1") -> ProposedEvent {
    ProposedEvent(type: type, actor: actor, correlationID: "corr-1", data: Array(#"{"text":"\#(text)"}"#.utf8))
}


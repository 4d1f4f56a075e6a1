import EventLog
import Foundation
import PostgresNIO

/// Where a PostgreSQL log lives: `postgresql://user[:password]@host[:port]/database`.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String

    /// Parses a store URL; a malformed one throws `EventLogError.invalidArgument` naming what is wrong.
    public init(_ text: String) throws {
        func bad(_ why: String) -> EventLogError {
            EventLogError(.invalidArgument, "bad store URL '\(Self.redacted(text))': \(why)")
        }
        guard let components = URLComponents(string: text) else { throw bad("not a URL") }
        guard let scheme = components.scheme, ["postgresql", "postgres"].contains(scheme.lowercased()) else {
            throw bad("the scheme must be postgresql://")
        }
        guard let host = components.host, !host.isEmpty else { throw bad("no host") }
        guard let user = components.user, !user.isEmpty else { throw bad("no user (postgresql://user@host/db)") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw bad("no database name (postgresql://user@host/db)") }
        if let port = components.port, !(1...65535).contains(port) { throw bad("port out of range") }
        self.host = host
        self.port = components.port ?? 5432
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
    }

    /// The same server and user, another database.
    public func with(database: String) -> PostgresURL {
        var copy = self
        copy.database = database
        return copy
    }

    /// The URL without its password, for messages and logs.
    public var description: String { "postgresql://\(username)@\(host):\(port)/\(database)" }

    static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? text
    }

    var configuration: PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}

extension PostgresURL {
    /// Creates the database `name` on this URL's server (connecting to this URL's database to do it);
    /// an existing one is left as it is.
    public func createDatabase(_ name: String, logger: Logger = Logger(label: "threadlog.eventlog")) throws {
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }), !name.isEmpty else {
            throw EventLogError(.invalidArgument, "a database name of letters, digits and '_' only: '\(name)'")
        }
        let pool = ConnectionPool(url: self, logger: logger, maxIdle: 0)
        defer { pool.close() }
        try pool.with { conn in
            let exists = try conn.run("SELECT 1 FROM pg_database WHERE datname = \(name)", logger: logger).count > 0
            if !exists { try conn.run(PostgresQuery(unsafeSQL: "CREATE DATABASE \"\(name)\""), logger: logger) }
        }
    }
}

import EventLog
import Logging
import PostgresNIO
import Synchronization

/// Connections for the synchronous reads of `EventStore`: a caller takes an idle connection (or opens
/// one), runs its queries by waiting for their futures on its own thread, and gives it back.
///
/// The waits happen on the caller's thread, never on an event-loop thread: the connections run on
/// PostgresNIO's own event loops, so a blocked caller holds up only itself.
final class ConnectionPool: Sendable {
    let url: PostgresURL
    let logger: Logger
    private let maxIdle: Int
    private let state = Mutex<(idle: [PostgresConnection], closed: Bool)>(([], false))
    private let nextID = Atomic<Int>(1)

    init(url: PostgresURL, logger: Logger, maxIdle: Int = 8) {
        self.url = url
        self.logger = logger
        self.maxIdle = maxIdle
    }

    /// A new connection of its own (the writer and the listener keep theirs).
    func connect() throws -> PostgresConnection {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        do {
            return try PostgresConnection.connect(
                on: PostgresConnection.defaultEventLoopGroup.next(), configuration: url.configuration, id: id,
                logger: logger
            ).wait()
        } catch {
            throw PostgresFailure.wrap(error, "cannot connect to PostgreSQL at \(url)")
        }
    }

    /// Runs `body` on a pooled connection. A connection that failed other than by a refused statement
    /// is closed rather than given back.
    func with<R>(_ body: (PostgresConnection) throws -> R) throws -> R {
        let taken: PostgresConnection? = try state.withLock { state in
            if state.closed { throw EventLogError(.closed, "the event log is closed") }
            return state.idle.popLast()
        }
        let connection = try taken ?? connect()
        do {
            let result = try body(connection)
            giveBack(connection)
            return result
        } catch {
            // A refused statement leaves the connection usable; a broken one is closed by now.
            if connection.isClosed { connection.closeAndWait() } else { giveBack(connection) }
            throw error
        }
    }

    /// `with(_:)` for async callers: connecting and every statement are awaited, never waited for on
    /// the calling thread.
    func withConnection<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        let taken: PostgresConnection? = try state.withLock { state in
            if state.closed { throw EventLogError(.closed, "the event log is closed") }
            return state.idle.popLast()
        }
        let connection: PostgresConnection
        if let taken {
            connection = taken
        } else {
            let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
            do {
                connection = try await PostgresConnection.connect(
                    on: PostgresConnection.defaultEventLoopGroup.next(), configuration: url.configuration, id: id,
                    logger: logger
                ).get()
            } catch {
                throw PostgresFailure.wrap(error, "cannot connect to PostgreSQL at \(url)")
            }
        }
        do {
            let result = try await body(connection)
            await giveBack(connection)
            return result
        } catch {
            if connection.isClosed { try? await connection.close().get() } else { await giveBack(connection) }
            throw error
        }
    }

    private func giveBack(_ connection: PostgresConnection) async {
        if !keep(connection) { try? await connection.close().get() }
    }

    /// Whether `connection` went back among the idle ones (else the caller closes it).
    private func keep(_ connection: PostgresConnection) -> Bool {
        state.withLock { state in
            guard !state.closed, !connection.isClosed, state.idle.count < maxIdle else { return false }
            state.idle.append(connection)
            return true
        }
    }

    private func giveBack(_ connection: PostgresConnection) {
        if !keep(connection) { connection.closeAndWait() }
    }

    func close() {
        let idle = state.withLock { state in
            state.closed = true
            defer { state.idle.removeAll() }
            return state.idle
        }
        for connection in idle { connection.closeAndWait() }
    }
}

extension PostgresConnection {
    /// Closes, waiting on the calling thread (a connection must be closed before it is released).
    func closeAndWait() {
        let closing: EventLoopFuture<Void> = close()
        try? closing.wait()
    }

    /// Runs one statement and collects its rows, awaiting them.
    @discardableResult
    func fetch(_ query: PostgresQuery, logger: Logger) async throws -> PostgresQueryResult {
        do {
            return try await self.query(query, logger: logger).get()
        } catch {
            throw PostgresFailure.wrap(error, "PostgreSQL refused a statement of the event log")
        }
    }

    /// Runs one statement and collects its rows, waiting on the calling thread.
    @discardableResult
    func run(_ query: PostgresQuery, logger: Logger) throws -> PostgresQueryResult {
        do {
            return try self.query(query, logger: logger).wait()
        } catch {
            throw PostgresFailure.wrap(error, "PostgreSQL refused a statement of the event log")
        }
    }
}

/// Converts PostgresNIO's errors, whose descriptions hide the server's message, into `EventLogError`.
enum PostgresFailure {
    static func wrap(_ error: any Error, _ context: String) -> any Error {
        if error is EventLogError || error is VersionConflict || error is CancellationError { return error }
        return EventLogError(.storage, "\(context): \(describe(error))")
    }

    static func describe(_ error: any Error) -> String {
        guard let psql = error as? PSQLError else { return "\(error)" }
        if let message = psql.serverInfo?[.message] { return message }
        if let underlying = psql.underlying { return "\(underlying)" }
        return "\(psql.code)"
    }
}

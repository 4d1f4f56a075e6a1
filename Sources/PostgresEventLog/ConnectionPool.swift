import EventLog
import Logging
import PostgresNIO
import Synchronization

/// Connections for the reads of `EventStore`: a caller takes an idle connection (or opens one), runs
/// its queries and gives it back. Synchronous callers wait for the futures on their own thread, never
/// on an event-loop thread: the connections run on PostgresNIO's own event loops, so a blocked caller
/// holds up only itself. Async callers await them.
///
/// At most `maxOpen` connections are open for async callers at once; one that finds none idle and the
/// limit reached waits for the next connection given back (a synchronous caller, which cannot wait,
/// opens one beyond the limit). Up to `maxIdle` stay open between uses.
final class ConnectionPool: Sendable {
    let url: PostgresURL
    let logger: Logger
    private let maxIdle: Int
    private let maxOpen: Int

    private struct State {
        var idle: [PostgresConnection] = []
        var closed = false
        /// Connections taken out or idle, and those being opened.
        var open = 0
        /// Async callers waiting for a connection; `nil` handed to one means "open one yourself".
        var waiting: [CheckedContinuation<PostgresConnection?, any Error>] = []
    }

    private let state = Mutex(State())
    private let nextID = Atomic<Int>(1)

    init(url: PostgresURL, logger: Logger, maxIdle: Int = 16, maxOpen: Int = 16) {
        self.url = url
        self.logger = logger
        self.maxIdle = maxIdle
        self.maxOpen = max(1, maxOpen)
    }

    private var configuration: PostgresConnection.Configuration { url.configuration }

    private func nextConnectionID() -> Int { nextID.wrappingAdd(1, ordering: .relaxed).oldValue }

    /// A new connection of its own (the writer and the listener keep theirs).
    func connect() throws -> PostgresConnection {
        do {
            return try PostgresConnection.connect(
                on: PostgresConnection.defaultEventLoopGroup.next(), configuration: configuration, id: nextConnectionID(),
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
            if let idle = state.idle.popLast() { return idle }
            state.open += 1
            return nil
        }
        let connection: PostgresConnection
        do {
            connection = try taken ?? connect()
        } catch {
            release()?.resume(returning: nil)
            throw error
        }
        do {
            let result = try body(connection)
            giveBack(connection)?.closeAndWait()
            return result
        } catch {
            giveBack(connection)?.closeAndWait()
            throw error
        }
    }

    /// `with(_:)` for async callers: connecting and every statement are awaited, never waited for on
    /// the calling thread.
    func withConnection<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        let taken = try await acquire()
        let connection: PostgresConnection
        if let taken {
            connection = taken
        } else {
            do {
                connection = try await PostgresConnection.connect(
                    on: PostgresConnection.defaultEventLoopGroup.next(), configuration: configuration,
                    id: nextConnectionID(), logger: logger
                ).get()
            } catch {
                release()?.resume(returning: nil)
                throw PostgresFailure.wrap(error, "cannot connect to PostgreSQL at \(url)")
            }
        }
        do {
            let result = try await body(connection)
            if let closing = giveBack(connection) { try? await closing.close().get() }
            return result
        } catch {
            if let closing = giveBack(connection) { try? await closing.close().get() }
            throw error
        }
    }

    private enum Acquisition { case take(PostgresConnection), open, fail, wait }

    /// An idle connection, or `nil` when the caller is to open one; waits while `maxOpen` are in use.
    private func acquire() async throws -> PostgresConnection? {
        try await withCheckedThrowingContinuation { continuation in
            let step = state.withLock { state -> Acquisition in
                if state.closed { return .fail }
                if let idle = state.idle.popLast() { return .take(idle) }
                if state.open < maxOpen {
                    state.open += 1
                    return .open
                }
                state.waiting.append(continuation)
                return .wait
            }
            switch step {
            case .take(let connection): continuation.resume(returning: connection)
            case .open: continuation.resume(returning: nil)
            case .fail: continuation.resume(throwing: EventLogError(.closed, "the event log is closed"))
            case .wait: break
            }
        }
    }

    /// Hands `connection` to a waiting caller, or keeps it idle; returns it when the caller must close
    /// it instead (the pool is closed or full, or the connection broke).
    private func giveBack(_ connection: PostgresConnection) -> PostgresConnection? {
        let (waiter, close): (CheckedContinuation<PostgresConnection?, any Error>?, Bool) = state.withLock { state in
            if !state.closed && !connection.isClosed {
                if !state.waiting.isEmpty { return (state.waiting.removeFirst(), false) }
                if state.idle.count < maxIdle {
                    state.idle.append(connection)
                    return (nil, false)
                }
            }
            return (nil, true)
        }
        if let waiter { waiter.resume(returning: connection) }
        guard close else { return nil }
        release()?.resume(returning: nil)
        return connection
    }

    /// Counts a connection as gone (or never opened); returns a waiting caller that may open one in
    /// its place.
    private func release() -> CheckedContinuation<PostgresConnection?, any Error>? {
        state.withLock { state in
            guard state.closed || state.waiting.isEmpty else { return state.waiting.removeFirst() }
            state.open -= 1
            return nil
        }
    }

    func close() {
        let (idle, waiting) = state.withLock { state in
            state.closed = true
            defer {
                state.idle.removeAll()
                state.waiting.removeAll()
            }
            return (state.idle, state.waiting)
        }
        for waiter in waiting { waiter.resume(throwing: EventLogError(.closed, "the event log is closed")) }
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

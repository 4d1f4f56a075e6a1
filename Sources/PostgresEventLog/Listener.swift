import EventLog
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// LISTENs for the commits of every node on a connection of its own and wakes the waiting tails;
/// reconnects after a second when the connection breaks (the writer's poll covers the gap).
final class Listener: Sendable {
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)
    private let connection: Mutex<(PostgresConnection?, closed: Bool)> = Mutex((nil, false))

    init(url: PostgresURL, logger: Logger, waiters: CommitNotifier) {
        task.withLock { $0 = Task { [self] in await run(url: url, logger: logger, waiters: waiters) } }
    }

    private func run(url: PostgresURL, logger: Logger, waiters: CommitNotifier) async {
        while !Task.isCancelled {
            do {
                let conn = try await PostgresConnection.connect(configuration: url.configuration, id: 0, logger: logger)
                let keep = connection.withLock { state in
                    if state.closed { return false }
                    state.0 = conn
                    return true
                }
                guard keep else {
                    try? await conn.close()
                    return
                }
                try await conn.listen(on: PostgresEventStore.channel) { notifications in
                    for try await notification in notifications {
                        if let position = UInt64(notification.payload) { waiters.publish(position, groupSize: 0) }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("event log listener reconnects", metadata: ["error": "\(error)"])
            }
            let stale = connection.withLock { state in
                defer { state.0 = nil }
                return state.0
            }
            if let stale { try? await stale.close() }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    func close() {
        let conn = connection.withLock { state in
            state.closed = true
            defer { state.0 = nil }
            return state.0
        }
        task.withLock { $0?.cancel() }
        conn?.closeAndWait()
    }
}

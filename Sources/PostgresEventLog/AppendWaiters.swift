import EventLog
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Tails waiting for the log to grow; woken by this store's commits, by notifications of other nodes'
/// commits and by the writer's poll of the head.
final class AppendWaiters: Sendable {
    private struct State {
        var head: UInt64
        var closed = false
        var nextID = 0
        var waiters: [Int: (UInt64, CheckedContinuation<Void, any Error>)] = [:]
        var cancelled: Set<Int> = []
        var commits: UInt64 = 0
        var appends: UInt64 = 0
    }

    private let state: Mutex<State>

    init(head: UInt64) {
        state = Mutex(State(head: head))
    }

    var head: UInt64 { state.withLock { $0.head } }
    var hasWaiters: Bool { state.withLock { !$0.waiters.isEmpty } }
    var groupStatistics: (commits: UInt64, appends: UInt64) { state.withLock { ($0.commits, $0.appends) } }

    /// Announces that the log reaches `head`; `groupSize` appends of this store's writer made it (0 for
    /// what another node appended).
    func publish(_ head: UInt64, groupSize: Int) {
        let ready: [CheckedContinuation<Void, any Error>] = state.withLock { state in
            state.head = max(state.head, head)
            if groupSize > 0 {
                state.commits += 1
                state.appends += UInt64(groupSize)
            }
            let due = state.waiters.filter { $0.value.0 < state.head }
            for id in due.keys { state.waiters.removeValue(forKey: id) }
            return due.values.map(\.1)
        }
        for continuation in ready { continuation.resume() }
    }

    func close() {
        let all: [CheckedContinuation<Void, any Error>] = state.withLock { state in
            state.closed = true
            defer { state.waiters.removeAll() }
            return state.waiters.values.map(\.1)
        }
        for continuation in all { continuation.resume(throwing: EventLogError(.closed, "the event log is closed")) }
    }

    /// Returns once the log is known to reach beyond `position`; throws `CancellationError` when the
    /// task is cancelled and `EventLogError.closed` when the store closes.
    func wait(beyond position: UInt64) async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Action { case wait, resume, cancel, closed }
                let action: Action = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return .cancel }
                    if state.head > position { return .resume }
                    if state.closed { return .closed }
                    state.waiters[id] = (position, continuation)
                    return .wait
                }
                switch action {
                case .wait: break
                case .resume: continuation.resume()
                case .cancel: continuation.resume(throwing: CancellationError())
                case .closed: continuation.resume(throwing: EventLogError(.closed, "the event log is closed"))
                }
            }
        } onCancel: {
            let waiting = state.withLock { state in
                if let entry = state.waiters.removeValue(forKey: id) { return entry.1 as CheckedContinuation<Void, any Error>? }
                state.cancelled.insert(id)
                return nil
            }
            waiting?.resume(throwing: CancellationError())
        }
    }
}

/// LISTENs for the commits of every node on a connection of its own and wakes the waiting tails;
/// reconnects after a second when the connection breaks (the writer's poll covers the gap).
final class Listener: Sendable {
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)
    private let connection: Mutex<(PostgresConnection?, closed: Bool)> = Mutex((nil, false))

    init(url: PostgresURL, logger: Logger, waiters: AppendWaiters) {
        task.withLock { $0 = Task { [self] in await run(url: url, logger: logger, waiters: waiters) } }
    }

    private func run(url: PostgresURL, logger: Logger, waiters: AppendWaiters) async {
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

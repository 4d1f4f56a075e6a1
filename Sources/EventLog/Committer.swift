import Foundation
import Synchronization

/// What a `Committer` commits through: a log that writes a group of appends in one transaction.
package protocol GroupCommitTarget: Sendable {
    /// Commits one group (on the committer's thread); returns one outcome per request, in order, and
    /// the log's last position after the commit.
    func commitGroup(_ requests: [AppendRequest]) -> (outcomes: [Result<AppendResult, any Error>], head: UInt64)
    /// Tells waiting tails that a commit of `groupSize` appends reached `head`.
    func publish(head: UInt64, groupSize: Int)
    /// Called on the committer's thread when no append came for the idle interval: a chance to notice
    /// what other processes appended.
    func writerIdle()
}

/// The writer: takes every append queued since its last commit and commits them together, in one
/// transaction (group commit), on a thread of its own. LMDB binds a write transaction to the thread
/// that began it, so all writes happen there and nothing awaits inside a transaction; PostgreSQL's
/// writer blocks only that thread while it waits for the server.
package final class Committer: Sendable {
    package struct Pending: Sendable {
        let request: AppendRequest
        let continuation: CheckedContinuation<AppendResult, any Error>

        package init(request: AppendRequest, continuation: CheckedContinuation<AppendResult, any Error>) {
            self.request = request
            self.continuation = continuation
        }

        var eventCount: Int { request.writes.reduce(0) { $0 + $1.events.count } }
    }

    private struct Queue {
        var pending: [Pending] = []
        var closed = false
        var enqueued = 0
        /// Whether a job that takes from the queue is submitted to the thread or running.
        var draining = false
        /// The thread, and the job that commits what is queued; set by `start`.
        var writer: (thread: SerialThread, drain: @Sendable () -> Void)?
    }

    /// Appends queued so far, and those not yet taken into a commit (for tests and diagnostics).
    var counts: (enqueued: Int, waiting: Int) { queue.withLock { ($0.enqueued, $0.pending.count) } }

    private let queue = Mutex(Queue())
    private let maxGroupEvents: Int
    /// Seconds; `nil` commits at once.
    private let gatherDelay: TimeInterval?

    package init(maxGroupEvents: Int, gatherDelay: Duration = .zero) {
        self.maxGroupEvents = max(1, maxGroupEvents)
        let seconds = gatherDelay / .seconds(1)
        self.gatherDelay = seconds > 0 ? seconds : nil
    }

    /// Appends that must have queued up during a commit for the writer to gather more before the next:
    /// fewer mean a quiet log, whose appends are committed at once.
    static let busyAppends = 4

    /// How often an idle writer of the LMDB log looks for appends made by other processes while tails wait.
    package static let foreignPollInterval = Duration.milliseconds(200)

    /// Starts the writer thread, named `name`; it commits into `target` and, idle for `pollInterval`,
    /// calls its `writerIdle()`. A store starts its committer before it takes its first append.
    package func start(name: String, pollInterval: Duration = foreignPollInterval, target: some GroupCommitTarget) {
        let thread = SerialThread(name: name, idle: (interval: pollInterval, body: { target.writerIdle() }))
        let drain: @Sendable () -> Void = { [self] in self.drain(into: target) }
        queue.withLock { queue in
            queue.writer = (thread, drain)
            if !queue.pending.isEmpty && !queue.draining {
                queue.draining = true
                thread.submit(drain)
            }
        }
    }

    package func enqueue(_ pending: Pending) {
        let accepted = queue.withLock { queue in
            guard !queue.closed else { return false }
            queue.pending.append(pending)
            queue.enqueued += 1
            // Submitted under the lock: `close` cannot end the thread between the append and the submit.
            if !queue.draining, let writer = queue.writer {
                queue.draining = true
                writer.thread.submit(writer.drain)
            }
            return true
        }
        if !accepted {
            pending.continuation.resume(throwing: EventLogError(.closed, "the event log is closed"))
        }
    }

    /// Commits what is queued, then stops the thread.
    package func close() {
        let thread: SerialThread? = queue.withLock { queue in
            guard !queue.closed else { return nil }
            queue.closed = true
            return queue.writer?.thread
        }
        thread?.finish()
        // The drain job held the committer and its target; the thread is gone now.
        queue.withLock { $0.writer = nil }
    }

    /// Commits groups until the queue is empty.
    private func drain(into target: some GroupCommitTarget) {
        while let (group, closed) = takeGroup() {
            let (outcomes, head) = target.commitGroup(group.map(\.request))
            // Publish before resuming callers: a caller that reads right after its append sees it.
            target.publish(head: head, groupSize: group.count)
            for (pending, outcome) in zip(group, outcomes) {
                pending.continuation.resume(with: outcome)
            }
            if !closed { gatherWhileBusy() }
        }
    }

    /// After a commit during which at least `busyAppends` appends queued up, sleeps `gatherDelay` so
    /// that the next commit carries those and whatever else arrives meanwhile. Under load a commit then
    /// takes several times as many appends for the same page writes and flushes; each waiting append is
    /// answered at most `gatherDelay` later. (Sleeping through, rather than waking for every arrival,
    /// keeps the gathering itself from costing CPU.)
    private func gatherWhileBusy() {
        guard let gatherDelay, queue.withLock({ $0.pending.count >= Self.busyAppends && !$0.closed }) else { return }
        Thread.sleep(forTimeInterval: gatherDelay)
    }

    /// Everything queued, up to `maxGroupEvents` events (but always at least one append), and whether
    /// the committer is closing; `nil`, ending the drain, when nothing is queued.
    private func takeGroup() -> ([Pending], Bool)? {
        queue.withLock { queue in
            guard !queue.pending.isEmpty else {
                queue.draining = false
                return nil
            }
            var count = 0
            var taken = 0
            for pending in queue.pending {
                let events = pending.eventCount
                if taken > 0 && count + events > maxGroupEvents { break }
                count += events
                taken += 1
            }
            let group = Array(queue.pending.prefix(taken))
            queue.pending.removeFirst(taken)
            return (group, queue.closed)
        }
    }
}

/// Wakes subscribers when commits land; the committer publishes, tails wait. Both logs use it: the
/// PostgreSQL log also publishes what other nodes committed (with a group size of 0).
///
/// `@unchecked Sendable` is not needed: all state is inside a `Mutex`.
package final class CommitNotifier: Sendable {
    private struct State {
        var head: UInt64
        var closed = false
        var nextID = 0
        var waiters: [Int: (UInt64, CheckedContinuation<Void, any Error>)] = [:]
        var cancelled: Set<Int> = []
        var commits: UInt64 = 0
        var groupedAppends: UInt64 = 0
        var lastPublish = ContinuousClock.now
    }

    private let state: Mutex<State>

    package init(head: UInt64) {
        state = Mutex(State(head: head))
    }

    package var head: UInt64 { state.withLock { $0.head } }

    /// Commits so far and the appends they carried (the mean group size is their ratio).
    package var groupStatistics: (commits: UInt64, appends: UInt64) {
        state.withLock { ($0.commits, $0.groupedAppends) }
    }

    /// When the last commit became visible to readers.
    var lastPublish: ContinuousClock.Instant { state.withLock { $0.lastPublish } }

    /// Whether a tail waits for a commit.
    package var hasWaiters: Bool { state.withLock { !$0.waiters.isEmpty } }

    /// Announces a commit of `groupSize` appends up to `head`; a `groupSize` of 0 announces appends
    /// another process made, which count in no statistics.
    package func publish(_ head: UInt64, groupSize: Int) {
        let ready: [CheckedContinuation<Void, any Error>] = state.withLock { state in
            state.head = max(state.head, head)
            if groupSize > 0 {
                state.lastPublish = ContinuousClock.now
                state.commits += 1
                state.groupedAppends += UInt64(groupSize)
            }
            let due = state.waiters.filter { $0.value.0 < state.head }
            for id in due.keys { state.waiters.removeValue(forKey: id) }
            return due.values.map(\.1)
        }
        for continuation in ready { continuation.resume() }
    }

    package func close() {
        let all: [CheckedContinuation<Void, any Error>] = state.withLock { state in
            state.closed = true
            defer { state.waiters.removeAll() }
            return state.waiters.values.map(\.1)
        }
        for continuation in all { continuation.resume(throwing: EventLogError(.closed, "the event log is closed")) }
    }

    /// Returns once a commit beyond `position` has landed; throws `CancellationError` when the task is
    /// cancelled and `EventLogError.closed` when the log closes.
    package func wait(beyond position: UInt64) async throws {
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

/// Everything after a position, then each new commit as it lands. Ends (returns `nil`) when the
/// consuming task is cancelled; throws when the log fails or closes.
public struct EventSubscription: AsyncSequence, Sendable {
    public typealias Element = RecordedEvent

    let after: UInt64
    let batchSize: Int
    let fetch: @Sendable (_ from: UInt64, _ limit: Int) throws -> [RecordedEvent]
    let waitBeyond: @Sendable (_ position: UInt64) async throws -> Void

    /// A subscription over any backend: `fetch` reads a batch from a position, `waitBeyond` returns once
    /// the log holds something after the given position.
    public init(
        after: UInt64, batchSize: Int = 512,
        fetch: @escaping @Sendable (_ from: UInt64, _ limit: Int) throws -> [RecordedEvent],
        waitBeyond: @escaping @Sendable (_ position: UInt64) async throws -> Void
    ) {
        self.after = after
        self.batchSize = batchSize
        self.fetch = fetch
        self.waitBeyond = waitBeyond
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(subscription: self, last: after)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let subscription: EventSubscription
        var last: UInt64
        var buffer: [RecordedEvent] = []
        var index = 0

        public mutating func next() async throws -> RecordedEvent? {
            while index == buffer.count {
                if Task.isCancelled { return nil }
                buffer = try subscription.fetch(last + 1, subscription.batchSize)
                index = 0
                if buffer.isEmpty {
                    do {
                        try await subscription.waitBeyond(last)
                    } catch is CancellationError {
                        return nil
                    }
                }
            }
            let event = buffer[index]
            index += 1
            last = event.position
            return event
        }
    }
}

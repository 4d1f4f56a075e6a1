import Synchronization

/// Spaces a projector's commits while the log is busy.
///
/// A projector's commit writes every page its batch dirtied and flushes them. Under a steady stream of
/// appends, a projector that commits as soon as anything new is there commits many small batches,
/// each writing the same pages again (a thread's newest message rows, the inboxes at their newest
/// end). Starting a catch-up at most once per `interval` turns those into fewer, larger batches that
/// write each page once, for far less work per event. After a quiet `interval` the next event is
/// applied at once, and `wake()` (a read waiting for a position, such as a caller's own last write)
/// ends a pause early, so pacing never delays a read that asked for a position.
public final class CommitPacer: Sendable {
    /// The default shortest time between the starts of two catch-ups.
    public static let defaultInterval: Duration = .milliseconds(500)

    let interval: Duration

    private struct State {
        var sleeper: (ticket: Int, continuation: CheckedContinuation<Void, Never>)?
        var lastTicket = 0
        /// The pause whose timer fired before it began waiting.
        var firedTicket = 0
        /// A wake with nobody pausing: the next pause ends at once.
        var woken = false
    }

    private let state = Mutex(State())

    init(interval: Duration) {
        self.interval = max(.zero, interval)
    }

    /// Returns `interval` after `start` (the start of the previous catch-up), or at once when that has
    /// passed; earlier on `wake()` or cancellation.
    func pause(since start: ContinuousClock.Instant) async {
        let deadline = start.advanced(by: interval)
        guard deadline > .now else {
            state.withLock { $0.woken = false }
            return
        }
        let ticket = state.withLock { state in
            state.lastTicket += 1
            return state.lastTicket
        }
        let timer = Task { [self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            end(ticket)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.woken || state.firedTicket == ticket {
                        state.woken = false
                        return true
                    }
                    state.sleeper = (ticket, continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            wake()
        }
        timer.cancel()
    }

    /// Whether a pause is under way (for tests and diagnostics).
    var isPausing: Bool { state.withLock { $0.sleeper != nil } }

    /// Ends the current pause, or the next one if none is under way.
    func wake() { end(nil) }

    /// Ends the pause of `ticket` (the timer's own), or any pause when `ticket` is `nil`.
    private func end(_ ticket: Int?) {
        let continuation: CheckedContinuation<Void, Never>? = state.withLock { state in
            if let sleeper = state.sleeper, ticket == nil || ticket == sleeper.ticket {
                state.sleeper = nil
                return sleeper.continuation
            }
            if let ticket { state.firedTicket = ticket } else { state.woken = true }
            return nil
        }
        continuation?.resume()
    }
}

/// A setting that cannot be used.
public struct InvalidSetting: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

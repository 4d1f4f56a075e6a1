import EventLog
import Foundation
import Logging
import Messaging
import Projections
import Synchronization

/// The views did not reach a requested log position in time.
public struct ViewsLagging: Error, Sendable, CustomStringConvertible {
    public var wanted: UInt64
    public var reached: UInt64
    public var description: String { "the read models reached position \(reached), not yet \(wanted); try again" }
}

extension ReadModels {
    func publish(_ directory: Directory, _ position: UInt64) {
        let ready: [CheckedContinuation<Bool, Never>] = published.withLock { state in
            state.directory = directory
            state.position = position
            state.ready = true
            let due = state.waiters.filter { $0.value.0 <= position }
            for id in due.keys { state.waiters.removeValue(forKey: id) }
            return due.values.map(\.1)
        }
        for continuation in ready { continuation.resume(returning: true) }
    }

    /// Waits until the views have reached `target`, at most `timeout`; throws `ViewsLagging` after that.
    public func wait(for target: UInt64, timeout: Duration = .seconds(5)) async throws {
        if published.withLock({ $0.ready && $0.position >= target }) { return }
        let id = published.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            let waiting: CheckedContinuation<Bool, Never>? = published.withLock { state in
                if let entry = state.waiters.removeValue(forKey: id) { return entry.1 }
                state.timedOut.insert(id)
                return nil
            }
            waiting?.resume(returning: false)
        }
        let reached = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answer: Bool? = published.withLock { state in
                if state.ready && state.position >= target { return true }
                if state.timedOut.remove(id) != nil { return false }
                state.waiters[id] = (target, continuation)
                return nil
            }
            if let answer { continuation.resume(returning: answer) } else { pacer.wake() }
        }
        timer.cancel()
        if !reached { throw ViewsLagging(wanted: target, reached: position) }
    }
}

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A thread of its own that runs jobs one at a time, in the order they were submitted: the serial
/// executor of the log's writer (LMDB binds a write transaction to the thread that began it, so nothing
/// may await inside one) and of the projectors' catch-ups (blocking work that would otherwise hold one
/// of the few threads that serve requests).
///
/// The thread ends once the jobs submitted before `finish()` (or before the last reference went) have
/// run.
package final class SerialThread: Sendable {
    private typealias Job = @Sendable () -> Void

    /// The state the thread shares with its owner; the thread holds only this, so that dropping the
    /// last reference to the `SerialThread` ends it.
    private final class Jobs: Sendable {
        struct State {
            var pending: [Job] = []
            var ending = false
        }

        let state = Mutex(State())
        /// Signalled once per submitted job and once for the end.
        let ready = DispatchSemaphore(value: 0)
        let ended = DispatchSemaphore(value: 0)

        func add(_ job: @escaping Job) -> Bool {
            let accepted = state.withLock { state in
                guard !state.ending else { return false }
                state.pending.append(job)
                return true
            }
            if accepted { ready.signal() }
            return accepted
        }

        /// Returns false when the thread was already told to end.
        func end() -> Bool {
            let first = state.withLock { state in
                defer { state.ending = true }
                return !state.ending
            }
            if first { ready.signal() }
            return first
        }

        /// The next job; `nil` once the thread is to end and every job has run.
        func next(idle: (interval: DispatchTimeInterval, body: @Sendable () -> Void)?) -> Job? {
            while true {
                if let idle {
                    if ready.wait(timeout: .now() + idle.interval) == .timedOut {
                        idle.body()
                        continue
                    }
                } else {
                    ready.wait()
                }
                let (job, ending): (Job?, Bool) = state.withLock { state in
                    (state.pending.isEmpty ? nil : state.pending.removeFirst(), state.ending)
                }
                if let job { return job }
                if ending { return nil }
            }
        }
    }

    private let jobs = Jobs()

    /// Starts the thread, named `name` for `top -H` and profilers (the kernel keeps its first 15 bytes).
    /// A positive `niceness` lowers its priority below the process's other threads. `idle`, when given,
    /// runs on the thread whenever no job came for `interval`.
    package init(name: String, niceness: Int32 = 0, idle: (interval: Duration, body: @Sendable () -> Void)? = nil) {
        let jobs = self.jobs
        let name = String(name.utf8.prefix(15))!
        let idle = idle.map { idle in
            (interval: DispatchTimeInterval.microseconds(Int(idle.interval / .microseconds(1))), body: idle.body)
        }
        let thread = Thread {
            // Foundation's Thread.name does not reach the kernel here.
            try? name.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
            if niceness != 0 { Self.renice(by: niceness) }
            while let job = jobs.next(idle: idle) { job() }
            jobs.ended.signal()
        }
        thread.start()
    }

    deinit {
        // Ends the thread once the jobs before this point have run.
        _ = jobs.end()
    }

    /// Queues `job`; returns false, dropping it, once `finish()` was called.
    @discardableResult
    package func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        jobs.add(job)
    }

    /// Runs `body` on the thread and returns its result.
    package func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = jobs.add { continuation.resume(with: Result { try body() }) }
            if !accepted { continuation.resume(throwing: CancellationError()) }
        }
    }

    /// Runs the jobs already queued, then ends the thread; returns once it has ended. Not to be called
    /// from a job of this thread.
    package func finish() {
        if jobs.end() { jobs.ended.wait() }
    }

    /// Adds `niceness` to the calling thread's nice value.
    private static func renice(by niceness: Int32) {
        #if os(Linux)
            // On Linux a nice value belongs to one thread (named by its id, which /proc/thread-self links
            // to); raising it needs no privilege.
            let which = __priority_which_t(PRIO_PROCESS.rawValue)
            if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"),
                let tid = link.split(separator: "/").last.flatMap({ id_t($0) })
            {
                _ = setpriority(which, tid, getpriority(which, tid) + niceness)
            }
        #endif
    }
}

import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A thread of its own for a projector's catch-up. A catch-up runs LMDB transactions and folds for as
/// long as the log grows, which would hold one of the few threads that serve requests; on its own
/// thread it takes turns with them through the kernel's scheduler instead.
///
/// The thread runs at a lower priority (a higher nice value) than the request threads: when the
/// machine is saturated, answering writes comes first and the projector catches up in larger batches,
/// which cost less per event. When there is spare CPU the priority changes nothing.
final class BlockingLane: Sendable {
    /// Jobs in order; `nil` ends the thread.
    private final class Jobs: Sendable {
        let queue = Mutex<[(@Sendable () -> Void)?]>([])
        let ready = DispatchSemaphore(value: 0)

        func add(_ job: (@Sendable () -> Void)?) {
            queue.withLock { $0.append(job) }
            ready.signal()
        }

        func next() -> (@Sendable () -> Void)? {
            ready.wait()
            return queue.withLock { $0.removeFirst() }
        }
    }

    private let jobs = Jobs()

    /// The nice value the lane's thread adds to the process's own.
    static let niceness: Int32 = 10

    init(label: String) {
        let jobs = self.jobs
        let name = String(label.utf8.prefix(15))!  // the kernel keeps 15 bytes of a thread's name
        let thread = Thread {
            try? name.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
            #if os(Linux)
            // On Linux a nice value belongs to one thread (named by its id, which /proc/thread-self
            // links to); raising it needs no privilege.
            let which = __priority_which_t(PRIO_PROCESS.rawValue)
            if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"),
                let tid = link.split(separator: "/").last.flatMap({ id_t($0) })
            {
                _ = setpriority(which, tid, getpriority(which, tid) + Self.niceness)
            }
            #endif
            while let job = jobs.next() { job() }
        }
        thread.start()
    }

    deinit {
        // Ends the thread once the jobs before this one have run.
        jobs.add(nil)
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            jobs.add { continuation.resume(with: Result { try body() }) }
        }
    }
}

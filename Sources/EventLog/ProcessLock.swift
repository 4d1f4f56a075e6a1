import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Tells whether other processes have an environment open: every open holds a shared `flock` on a
/// file beside it, and replacing the environment's files (compaction) needs the lock alone, since a
/// process that had the old files open would go on using them.
///
/// `@unchecked Sendable`: the descriptor is only touched under `lock`.
final class ProcessLock: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()

    init(path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw EventLogError(.storage, "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_SH) == 0 else {
            close(fd)
            throw EventLogError(.storage, "cannot lock \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    /// Runs `body` when no other process holds the lock; returns false (and runs nothing) otherwise.
    func whileAlone(_ body: () throws -> Void) throws -> Bool {
        lock.lock()
        defer { lock.unlock() }
        // Converting a shared lock to an exclusive one is not atomic in flock: release, try, retake.
        flock(fd, LOCK_UN)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            flock(fd, LOCK_SH)
            return false
        }
        defer { flock(fd, LOCK_SH) }
        try body()
        return true
    }
}

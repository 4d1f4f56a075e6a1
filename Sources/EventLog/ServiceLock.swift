import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Held by the one service of a data directory for as long as it runs: an exclusive `flock` on
/// `DIR/serve.lock`. Two services on one directory would each send every mail and digest; the other
/// tools (digest, retention, tail, replay, backup) do not take it and still run beside the service.
/// The kernel drops the lock with the process, so a service killed with SIGKILL leaves nothing to clean.
public final class ServiceLock: Sendable {
    private let fd: Int32

    public static func fileName(in root: String) -> String { root + "/serve.lock" }

    /// Takes the lock or throws at once (never waits) naming the directory.
    public init(dataDirectory root: String) throws {
        let path = Self.fileName(in: root)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw EventLogError(.storage, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            close(fd)
            if busy { throw EventLogError(.locked, "another threadlog serve is running on \(root)") }
            throw EventLogError(.storage, "cannot lock \(path): \(reason)")
        }
        self.fd = fd
    }

    deinit { close(fd) }
}

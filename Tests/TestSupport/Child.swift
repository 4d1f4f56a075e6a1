import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn`, for the tests that run the tools, the service, Python
/// servers and probes.
///
/// Foundation's `Process.run()` lists `/proc/self/fd` to close the parent's descriptors in the child and
/// copies each directory entry's whole 256-byte name field; with more than about 1,350 descriptors open
/// (many suites running at once) that copy reads past glibc's directory buffer and can crash the test
/// process. Here the child closes every descriptor above 2 with one `closefrom` action instead, after
/// its standard streams are in place, so no pipe end leaks into another test's child.
///
/// A child's standard streams are `/dev/null` unless a test asks for a pipe or a file: an orphaned child
/// never holds the test runner's own output open.
///
/// `@unchecked Sendable`: `termination` is read and written under `lock`.
public final class Child: @unchecked Sendable {
    /// Where one of the child's standard streams goes.
    public enum Stream: Sendable {
        /// `/dev/null`.
        case null
        /// A pipe; the parent's end is `input`, `output` or `errors`.
        case pipe
        /// The file at a path, created if missing and emptied.
        case file(String)
        /// The same destination as the child's standard output (standard error only).
        case output
    }

    /// How a child ended.
    public enum Termination: Equatable, Sendable {
        case exited(Int32)
        case signalled(Int32)

        /// The exit status, or -1 for a child that a signal ended.
        public var status: Int32 {
            if case .exited(let status) = self { return status }
            return -1
        }
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    public let pid: pid_t
    /// The parent's ends of the pipes that were asked for.
    public let input: FileHandle?
    public let output: FileHandle?
    public let errors: FileHandle?

    private let lock = NSLock()
    private var termination: Termination?

    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        directory: String? = nil, stdin: Stream = .null, stdout: Stream = .null, stderr: Stream = .null
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Both ends of every pipe are close-on-exec; the child gets its end through `dup2`.
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        func pipeEnd(childReads: Bool) throws -> (child: Int32, parent: Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw SpawnError(description: "pipe: errno \(errno)") }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            let ends = childReads ? (child: fds[0], parent: fds[1]) : (child: fds[1], parent: fds[0])
            parentEnds.append(ends.parent)
            childEnds.append(ends.child)
            return ends
        }
        func place(_ stream: Stream, on target: Int32) throws -> FileHandle? {
            switch stream {
            case .null:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
                return nil
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                return nil
            case .output:
                posix_spawn_file_actions_adddup2(&actions, 1, target)
                return nil
            case .pipe:
                let ends = try pipeEnd(childReads: target == 0)
                posix_spawn_file_actions_adddup2(&actions, ends.child, target)
                return FileHandle(fileDescriptor: ends.parent, closeOnDealloc: true)
            }
        }
        do {
            input = try place(stdin, on: 0)
            output = try place(stdout, on: 1)
            errors = try place(stderr, on: 2)
        } catch {
            for fd in parentEnds + childEnds { close(fd) }
            throw error
        }
        defer { for fd in childEnds { close(fd) } }
        let closing = Self.closeFrom(&actions, 3)
        guard closing == 0 else {
            throw SpawnError(description: "posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later): \(String(cString: strerror(closing)))")
        }
        if let directory {
            let changing = Self.changeDirectory(&actions, directory)
            guard changing == 0 else {
                throw SpawnError(description: "posix_spawn_file_actions_addchdir_np (glibc 2.29 or later): \(String(cString: strerror(changing)))")
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A process group of its own, as Foundation's `Process` does: a terminal's ^C reaches the runner only.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in env { free(pointer) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, env)
        guard result == 0 else {
            throw SpawnError(description: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    /// A child still running when its last owner lets go is killed and reaped: no test leaves a process
    /// or a zombie behind.
    deinit {
        if termination == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// Whether the child has not ended yet; reaps it once it has.
    public var isRunning: Bool { poll() == nil }

    /// The child's end, once it has ended (without waiting).
    public func poll() -> Termination? {
        lock.lock()
        defer { lock.unlock() }
        if let termination { return termination }
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        guard reaped == pid else { return nil }
        // The wait-status macros are not imported: the low seven bits are the signal, 0 for an exit.
        let signal = status & 0x7f
        termination = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
        return termination
    }

    /// Blocks the calling thread until the child ends.
    @discardableResult
    public func wait() -> Termination { wait(seconds: .infinity)! }

    /// Blocks the calling thread at most `seconds` for the child's end (one already signalled, say).
    @discardableResult
    public func wait(seconds: Double) -> Termination? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let termination = poll() { return termination }
            usleep(5_000)
        }
        return poll()
    }

    /// Waits, without blocking a thread, until the child ends.
    @discardableResult
    public func exit() async -> Termination {
        while true {
            if let termination = poll() { return termination }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Sends `signal` to a child still running.
    public func send(_ signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if termination == nil { kill(pid, signal) }
    }

    /// SIGTERM.
    public func terminate() { send(SIGTERM) }

    // glibc declares these two only for `_GNU_SOURCE` / `_DEFAULT_SOURCE`, which Swift's Glibc module
    // does not import; they are looked up once at run time.
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias ChangeDirectory =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let closeFromFunction = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: CloseFrom.self) }
    private static let changeDirectoryFunction = dlsym(nil, "posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: ChangeDirectory.self) }

    private static func closeFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ low: Int32) -> Int32 {
        closeFromFunction?(actions, low) ?? ENOSYS
    }

    private static func changeDirectory(
        _ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String
    ) -> Int32 {
        guard let function = changeDirectoryFunction else { return ENOSYS }
        return path.withCString { function(actions, $0) }
    }
}

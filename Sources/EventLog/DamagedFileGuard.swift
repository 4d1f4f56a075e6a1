import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The last line of defence against a damaged file: LMDB itself follows a page's record pointers
/// before any value reaches `ValueBounds`, and a pointer past the end of the file makes that read
/// fault (SIGBUS, or SIGSEGV past the map); a damaged node's flags can even send it through a null
/// pointer. LMDB never faults on a whole file, so with the guard installed a fault inside a mapped
/// environment, or in LMDB's own code, ends the process with one line on stderr and exit code 1
/// instead of a signal; a fault anywhere else goes on to the handler that was there before (a crash
/// report, or the default).
public enum DamagedFileGuard {
    private static let slots = 64
    /// Start and end of each registered map, 0/0 when free. Written under `lock`, read by the handler
    /// without it: a fault during a registration at worst misses the newest map.
    nonisolated(unsafe) private static let ranges: UnsafeMutablePointer<UInt> = {
        let pointer = UnsafeMutablePointer<UInt>.allocate(capacity: 2 * slots)
        pointer.initialize(repeating: 0, count: 2 * slots)
        return pointer
    }()
    private static let lock = NSLock()
    nonisolated(unsafe) private static let message: UnsafeMutableBufferPointer<UInt8> = {
        let text = Array(
            "threadlog: the log's file is damaged (a page points outside the file); check a copy with threadlog replay --verify or restore a backup\n"
                .utf8)
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: text.count)
        _ = buffer.initialize(from: text)
        return buffer
    }()
    /// LMDB's machine code (start, end), found once at installation.
    nonisolated(unsafe) private static var lmdbCode: (UInt, UInt) = (0, 0)
    nonisolated(unsafe) private static var previous = (bus: sigaction(), segv: sigaction())
    nonisolated(unsafe) private static var installed = false

    /// Installs the handler for SIGBUS and SIGSEGV (once; later calls do nothing).
    public static func install() {
        lock.lock()
        defer { lock.unlock() }
        guard !installed else { return }
        installed = true
        _ = ranges
        _ = message
        lmdbCode = Self.codeRange(library: "liblmdb")
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = { signal, info, context in
            DamagedFileGuard.handle(signal, info, context)
        }
        action.sa_flags = SA_SIGINFO
        sigemptyset(&action.sa_mask)
        sigaction(SIGBUS, &action, &previous.bus)
        sigaction(SIGSEGV, &action, &previous.segv)
    }

    private static func handle(
        _ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _ context: UnsafeMutableRawPointer?
    ) {
        let address = UInt(bitPattern: info?.pointee._sifields._sigfault.si_addr)
        let pc = programCounter(context)
        if pc >= lmdbCode.0 && pc < lmdbCode.1 {
            _ = Glibc.write(STDERR_FILENO, message.baseAddress, message.count)
            _exit(1)
        }
        for slot in 0..<slots {
            let start = ranges[2 * slot]
            let end = ranges[2 * slot + 1]
            if start < end && address >= start && address < end {
                _ = Glibc.write(STDERR_FILENO, message.baseAddress, message.count)
                _exit(1)
            }
        }
        // Not ours: put back what was there and return, so the fault repeats and reaches it.
        if signal == SIGBUS {
            sigaction(SIGBUS, &previous.bus, nil)
        } else {
            sigaction(SIGSEGV, &previous.segv, nil)
        }
    }

    /// Where the faulting instruction was; 0 when this architecture is not known here.
    private static func programCounter(_ context: UnsafeMutableRawPointer?) -> UInt {
        guard let context else { return 0 }
        let ucontext = context.assumingMemoryBound(to: ucontext_t.self)
        #if arch(x86_64)
            return UInt(bitPattern: Int(ucontext.pointee.uc_mcontext.gregs.16))  // REG_RIP
        #elseif arch(arm64)
            return UInt(ucontext.pointee.uc_mcontext.pc)
        #else
            return 0
        #endif
    }

    /// The executable mapping of a loaded library whose file name starts with `library`.
    private static func codeRange(library: String) -> (UInt, UInt) {
        guard let maps = readProcFile("/proc/self/maps") else { return (0, 0) }
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, fields[1].contains("x"),
                fields[5].split(separator: "/").last?.hasPrefix(library) == true
            else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16) else {
                continue
            }
            return (start, end)
        }
        return (0, 0)
    }

    static func register(_ range: MapRange) {
        guard range.end > range.start else { return }
        lock.lock()
        defer { lock.unlock() }
        for slot in 0..<slots where ranges[2 * slot] == 0 && ranges[2 * slot + 1] == 0 {
            ranges[2 * slot + 1] = range.end
            ranges[2 * slot] = range.start
            return
        }
    }

    static func unregister(_ range: MapRange) {
        guard range.end > range.start else { return }
        lock.lock()
        defer { lock.unlock() }
        for slot in 0..<slots where ranges[2 * slot] == range.start && ranges[2 * slot + 1] == range.end {
            ranges[2 * slot] = 0
            ranges[2 * slot + 1] = 0
            return
        }
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A plain TCP connection to 127.0.0.1 for tests that write raw requests and read raw answers (event
/// streams, malformed requests, timeouts), with deadlines.
///
/// `@unchecked Sendable`: used by one thread at a time (a test hands it from call to call).
public final class LoopbackSocket: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private let fd: Int32
    /// What has arrived and was not taken yet.
    public var buffer: [UInt8] = []

    public init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw Failure(description: "connect: errno \(errno)")
        }
    }

    deinit { Glibc.close(fd) }

    /// What has arrived so far.
    public var bufferText: String { String(decoding: buffer, as: UTF8.self) }

    /// False once the server has closed the connection.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += sent
        }
        return true
    }

    public func send(_ text: String) { send(Array(text.utf8)) }

    /// Waits up to `timeout` for bytes or the end: `nil` when nothing happened in time, else whether
    /// the connection is still open (the bytes go into the buffer).
    public func wait(_ timeout: Duration) -> Bool? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(
            timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let ready = poll(&poller, 1, milliseconds)
        if ready == 0 { return nil }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
        return false
    }

    /// Everything the server sends until it closes the connection.
    public func readToEnd(within limit: Duration = .seconds(10)) throws -> [UInt8] {
        let deadline = ContinuousClock.now + limit
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                throw Failure(description: "the server did not close the connection within \(limit)")
            }
            if wait(left) == false { return buffer }
        }
    }

    /// Everything received until `marker` arrives (within 10 s), from the start of the stream.
    public func read(until marker: String) throws -> String {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let text = bufferText
            if text.contains(marker) { return text }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw Failure(description: "no \(marker) within 10 s: \(text)") }
            guard wait(left) != false else { throw Failure(description: "the stream closed: \(bufferText)") }
        }
    }
}

/// Runs blocking work (a socket) on a thread of its own, off the cooperative pool.
public func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}

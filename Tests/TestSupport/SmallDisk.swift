import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A small tmpfs mounted on a fresh directory while the value lives: a disk a test can fill. Mounting
/// needs root (as `make test` runs in CI); without it the test fails and says so.
public final class SmallDisk: Sendable {
    public let path: String
    private let directory: TempDirectory

    public init(megabytes: Int) throws {
        directory = try TempDirectory()
        path = directory.sub("disk")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard getuid() == 0 else {
            throw SmallDiskError("the full-disk tests mount a tmpfs and must run as root (uid \(getuid()))")
        }
        let mounted = try run("/usr/bin/env", ["mount", "-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path])
        guard mounted.status == 0 else {
            throw SmallDiskError("cannot mount a \(megabytes) MB tmpfs on \(path): \(mounted.stderr)")
        }
    }

    deinit {
        // Lazily: a child process that still holds a file open must not keep the mount.
        _ = try? run("/usr/bin/env", ["umount", "-l", path])
    }

    /// Bytes still free.
    public var available: Int {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return 0 }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    /// Writes a file of `bytes` zeros (pages of a tmpfs are really taken) and answers its path.
    @discardableResult
    public func fill(_ name: String, bytes: Int) throws -> String {
        let file = path + "/" + name
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw SmallDiskError("cannot create \(file)") }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0, count: 1 << 16)
        var left = bytes
        while left > 0 {
            let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, min(left, $0.count)) }
            if written <= 0 { break }
            left -= written
        }
        return file
    }
}

public struct SmallDiskError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

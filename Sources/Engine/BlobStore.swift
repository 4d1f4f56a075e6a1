import Crypto
import Foundation
import Messaging

#if canImport(Glibc)
    import Glibc
#endif

/// Attachment bytes, content-addressed under `DIR/blobs/ab/cdef…`: written to a temporary file,
/// synced, then renamed into place, so a crash never leaves a partial blob under its digest.
public struct BlobStore: Sendable {
    public let root: String

    public init(root: String) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
    }

    public func path(of sha256: String) -> String {
        let bytes = Array(sha256)
        return root + "/" + String(bytes[0..<2]) + "/" + String(bytes[2...])
    }

    /// The size of a stored blob, `nil` when there is none.
    public func size(of sha256: String) -> Int64? {
        guard isSHA256Hex(sha256),
            let attributes = try? FileManager.default.attributesOfItem(atPath: path(of: sha256)),
            let size = attributes[.size] as? NSNumber
        else { return nil }
        return size.int64Value
    }

    public func read(_ sha256: String) -> [UInt8]? {
        guard isSHA256Hex(sha256), let data = FileManager.default.contents(atPath: path(of: sha256)) else {
            return nil
        }
        return Array(data)
    }

    /// Stores the bytes and answers their digest; storing the same bytes twice keeps one copy.
    public func put(_ bytes: [UInt8]) throws -> String {
        let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        let final = path(of: digest)
        if FileManager.default.fileExists(atPath: final) { return digest }
        let directory = (final as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = root + "/tmp/" + UUID().uuidString
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw BlobError("cannot create \(temporary): errno \(errno)", errno: errno) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                unlink(temporary)
                throw BlobError("cannot write \(temporary): errno \(code)", errno: code)
            }
            offset += written
        }
        guard fsync(fd) == 0 else {
            let code = errno
            close(fd)
            unlink(temporary)
            throw BlobError("cannot sync \(temporary): errno \(code)", errno: code)
        }
        close(fd)
        guard rename(temporary, final) == 0 else {
            let code = errno
            unlink(temporary)
            throw BlobError("cannot move \(temporary) into place: errno \(code)")
        }
        // The rename itself is durable once the directory is synced.
        let dirFD = open(directory, O_RDONLY)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
        return digest
    }
}

public struct BlobError: Error, CustomStringConvertible {
    public var description: String
    /// The write failed for want of space (answered 507 `storage_full`).
    public var isDiskFull = false
    init(_ description: String) { self.description = description }
    init(_ description: String, errno code: Int32) {
        self.description = description
        isDiskFull = code == ENOSPC || code == EDQUOT
    }
}

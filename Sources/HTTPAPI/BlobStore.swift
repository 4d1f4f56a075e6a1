import Crypto
import Engine
import EventLog
import Foundation
import Messaging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Attachment bytes, content-addressed under `DIR/blobs/ab/cdef…`: written to a temporary file,
/// synced, then renamed into place, so a crash never leaves a partial blob under its digest.
struct BlobStore: Sendable {
    let root: String

    init(root: String) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
    }

    func path(of sha256: String) -> String {
        let bytes = Array(sha256)
        return root + "/" + String(bytes[0..<2]) + "/" + String(bytes[2...])
    }

    /// The size of a stored blob, `nil` when there is none.
    func size(of sha256: String) -> Int64? {
        guard isSHA256Hex(sha256),
            let attributes = try? FileManager.default.attributesOfItem(atPath: path(of: sha256)),
            let size = attributes[.size] as? NSNumber
        else { return nil }
        return size.int64Value
    }

    func read(_ sha256: String) -> [UInt8]? {
        guard isSHA256Hex(sha256), let data = FileManager.default.contents(atPath: path(of: sha256)) else {
            return nil
        }
        return Array(data)
    }

    /// Stores the bytes and answers their digest; storing the same bytes twice keeps one copy.
    func put(_ bytes: [UInt8]) throws -> String {
        let digest = Tokens.hex(SHA256.hash(data: bytes))
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

struct BlobError: Error, CustomStringConvertible {
    var description: String
    /// The write failed for want of space (answered 507 `storage_full`).
    var isDiskFull = false
    init(_ description: String) { self.description = description }
    init(_ description: String, errno code: Int32) {
        self.description = description
        isDiskFull = code == ENOSPC || code == EDQUOT
    }
}

/// Who may use each blob, folded from the log on demand (every look first reads what the log gained
/// since the last one): its uploaders (`blob.uploaded`) and the threads whose messages reference it
/// (`message.posted`), with the content type each message gave it.
final class BlobIndex: Sendable {
    struct Reference: Sendable, Hashable {
        var thread: ThreadID
        var position: UInt64
        var contentType: String
        var name: String
    }

    struct Entry: Sendable {
        var uploaders: [UserID] = []
        var references: [Reference] = []
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var position: UInt64 = 0
    }

    private let store: any EventStore
    private let state = Mutex(State())

    init(store: any EventStore) {
        self.store = store
    }

    /// Only messages and uploads are built; other events pass as their position.
    private static let types = [EventType.messagePosted, .blobUploaded].map { Array($0.rawValue.utf8) }

    func entry(for sha256: String) throws -> Entry {
        try state.withLock { state in
            var full = true
            while full {
                var seen = 0
                try store.forEach(from: state.position + 1, ofTypes: Self.types) { at, recorded in
                    seen += 1
                    state.position = at
                    guard let recorded, !recorded.isPurged else { return seen < 4096 }
                    switch try recorded.decoded().event {
                    case .messagePosted(let posted):
                        for attachment in posted.attachments {
                            state.entries[attachment.sha256, default: Entry()].references.append(
                                Reference(
                                    thread: posted.thread, position: at, contentType: attachment.contentType,
                                    name: attachment.name))
                        }
                    case .blobUploaded(let uploaded):
                        state.entries[uploaded.sha256, default: Entry()].uploaders.append(uploaded.uploader)
                    default: break
                    }
                    return seen < 4096
                }
                full = seen == 4096
            }
            return state.entries[sha256] ?? Entry()
        }
    }
}

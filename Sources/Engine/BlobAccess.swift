import Foundation
import Messaging

/// The attachments' bytes and who may fetch them, for the API's blob routes and the web console
/// alike: one store, one index and one access check.
public struct BlobAccess: Sendable {
    /// How a user may fetch a blob: with the content type and file name a message gave it.
    public struct Usable: Sendable, Hashable {
        public var contentType: String
        /// `nil` for an uploader's own blob that no message they can read names.
        public var name: String?
    }

    let store: BlobStore
    let index: BlobIndex
    let handler: CommandHandler

    /// The blobs under `directory` (`DIR/blobs`), their uses folded from the log `handler` appends to.
    public init(directory: String, handler: CommandHandler) throws {
        self.store = try BlobStore(root: directory)
        self.index = BlobIndex(store: handler.store)
        self.handler = handler
    }

    /// How `user` may fetch the blob, `nil` when they may not: a reader of a message that references
    /// it may, as long as that thread is not purged, and so may its uploader (as
    /// `application/octet-stream` until a message names a type). `thread` narrows the references to
    /// that thread's, for the name its message gave the file.
    public func usable(_ sha256: String, by user: UserID, on thread: ThreadID? = nil) throws -> Usable? {
        guard isSHA256Hex(sha256) else { return nil }
        let entry = try index.entry(for: sha256)
        var directory: Directory?
        for reference in entry.references where thread == nil || reference.thread == thread {
            guard let state = try handler.threadState(reference.thread), !state.isPurged else { continue }
            let current = try directory ?? handler.currentDirectory()
            directory = current
            if Access.canRead(user, state, current, atPosition: reference.position) {
                return Usable(contentType: reference.contentType, name: reference.name)
            }
        }
        return entry.uploaders.contains(user) ? Usable(contentType: "application/octet-stream", name: nil) : nil
    }

    /// The bytes of a stored blob; callers ask `usable` first.
    public func read(_ sha256: String) -> [UInt8]? { store.read(sha256) }

    public func size(of sha256: String) -> Int64? { store.size(of: sha256) }

    /// Stores the bytes and answers their digest. The uploader is recorded by the `recordUpload`
    /// command, which the caller runs as the user.
    public func put(_ bytes: [UInt8]) throws -> String { try store.put(bytes) }

    /// `attachment; filename="…"` with the name made safe for a quoted string (ASCII, no quotes or
    /// backslashes), and the exact name in RFC 5987's `filename*` form.
    public static func contentDisposition(_ name: String?) -> String {
        guard let name, !name.isEmpty else { return "attachment" }
        let plain = String(
            name.unicodeScalars.map {
                $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" && $0.value != 0x7f ? Character($0) : "_"
            })
        var encoded = ""
        for byte in name.utf8 {
            let safe =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == 0x2d || byte == 0x2e || byte == 0x5f
            encoded += safe ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }
        return "attachment; filename=\"\(plain)\"; filename*=UTF-8''\(encoded)"
    }
}

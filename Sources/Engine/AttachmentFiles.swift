import EventLog
import Foundation
import Messaging

/// A node's attachment files (`DIR/blobs`) of purged threads: which ones still serve a live thread, and
/// deleting the others. Retention (on the elected node) and `NodePurges` (on every node) share it.
enum AttachmentFiles {
    /// The digests the messages of the live (not purged) threads among `threads` reference.
    static func live(in threads: [ThreadState]) -> Set<String> {
        Set(threads.filter { !$0.isPurged }.flatMap { $0.messages.flatMap { $0.attachments.map(\.sha256) } })
    }

    /// Deletes the files of `digests` that `live` does not name; returns how many it deleted. A digest
    /// that is not 64 lowercase hex digits names no file of the blob store and is skipped. Repeatable:
    /// a file already gone counts nothing.
    static func delete(_ digests: some Sequence<String>, keeping live: Set<String>, data: DataDirectory) throws -> Int {
        var deleted = 0
        for digest in Set(digests) where !live.contains(digest) && isDigest(digest) {
            let path = data.blobPath(sha256: digest)
            if FileManager.default.fileExists(atPath: path) {
                try FileManager.default.removeItem(atPath: path)
                deleted += 1
            }
        }
        return deleted
    }

    static func isDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

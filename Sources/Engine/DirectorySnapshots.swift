import EventLog
import Foundation
import Messaging

/// The directory a projection folded, kept in the view store with that projection's checkpoint, so a
/// start reads only the log after it rather than every event for the few directory ones among them.
/// Each projection (the views, the outbox) keeps its own under its name: `<name>` → the directory
/// (JSON), rewritten by a batch that had directory events; `<name>.through` → the position it stands
/// for (8 bytes BE), moved by every batch in the transaction of the projection's checkpoint. A cache of
/// the log: without one (a new or older view store) the directory is folded from the log as before.
enum DirectorySnapshots {
    static let table = "directory.v1"

    /// The stored directory of `owner` and the position it stands for; `nil` when there is none.
    static func stored(_ owner: String, _ txn: borrowing ViewTransaction) throws -> (Directory, UInt64)? {
        let through = try txn.withValue(table, Array((owner + ".through").utf8)) { bytes -> UInt64? in
            guard let bytes, bytes.count == 8 else { return nil }
            return bytes.reduce(0) { $0 << 8 | UInt64($1) }
        }
        // A copy written by a build whose directory had other fields is not used: the log is folded.
        guard let through, let bytes = try txn.get(table, Array(owner.utf8)),
            let directory = try? JSONDecoder().decode(Directory.self, from: Data(bytes))
        else { return nil }
        return (directory, through)
    }

    /// Records that `owner`'s directory stands for `through`: `directory` when it changed (or was not
    /// stored), `nil` when it is the stored one.
    static func record(_ owner: String, _ directory: Directory?, through: UInt64, _ txn: borrowing ViewTransaction) throws {
        if let directory { try txn.put(table, Array(owner.utf8), Array(try encoder.encode(directory))) }
        try txn.put(table, Array((owner + ".through").utf8), withUnsafeBytes(of: through.bigEndian, Array.init))
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    /// The directory as of `position` from `owner`'s stored one when it stands for `position` or
    /// earlier (folding only the directory events between), else from the whole log; true when the
    /// stored one stood for `position` itself.
    static func directory(
        asOf position: UInt64, owner: String, log: any EventStore, _ txn: borrowing ViewTransaction
    ) throws -> (Directory, Bool) {
        guard let (base, through) = try stored(owner, txn), through <= position else {
            return (try DirectoryFold.directory(log, upTo: position), false)
        }
        return (try DirectoryFold.directory(log, from: base, after: through, upTo: position), through == position)
    }
}

import Foundation
import Messaging
import Projections

/// The stored form of an outbox entry: binary fields in a fixed order after a format byte. Entries
/// written as JSON by earlier versions (their first byte is `{`) are still read.
extension OutboxEntry {
    static let binaryFormat: UInt8 = 3
    /// Format 2 is format 3 without the reply address at the end.
    static let readableFormats: Set<UInt8> = [2, 3]

    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.byte(Self.binaryFormat)
        w.string(id)
        w.uint(position)
        w.uint(UInt64(index))
        w.string(trigger)
        w.optional(thread?.rawValue)
        w.strings(threads.map(\.rawValue))
        if let digest {
            w.byte(1)
            w.string(digest.user.rawValue)
            w.string(digest.subject.kind)
            w.string(digest.subject.ref)
            w.string(digest.day)
        } else {
            w.byte(0)
        }
        w.strings(to)
        w.strings(cc)
        w.strings(bcc)
        w.string(subject)
        w.string(body)
        w.string(messageID)
        w.string(status.rawValue)
        w.uint(UInt64(attempts))
        w.int(nextAttemptMillis)
        Self.write(claimedUntilMillis, &w)
        w.optional(lastError)
        Self.write(deliveredAtMillis, &w)
        w.int(eventMillis)
        w.optional(replyTo)
        return w.bytes
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> OutboxEntry {
        if bytes.first == UInt8(ascii: "{") {
            return try JSONDecoder().decode(OutboxEntry.self, from: Data(bytes))
        }
        var r = ByteReader(bytes)
        let format = try r.byte()
        guard readableFormats.contains(format) else { throw UnknownOutboxFormat(format: bytes.first) }
        let id = try r.string()
        let position = try r.uint()
        let index = Int(try r.uint())
        let trigger = try r.string()
        let thread = try r.optional().map(ThreadID.init)
        let threads = try r.strings().map(ThreadID.init)
        let digest: DigestKey? =
            try r.byte() == 1
            ? DigestKey(
                user: UserID(try r.string()), subject: Subject(kind: try r.string(), ref: try r.string()),
                day: try r.string())
            : nil
        var entry = OutboxEntry(
            id: id, position: position, index: index, trigger: trigger, thread: thread, threads: threads,
            digest: digest, to: try r.strings(), cc: try r.strings(), bcc: try r.strings(), subject: try r.string(),
            body: try r.string(), messageID: try r.string(), status: try r.enumeration(Status.self),
            attempts: Int(try r.uint()), nextAttemptMillis: try r.int(), claimedUntilMillis: try readMillis(&r),
            lastError: try r.optional(), deliveredAtMillis: try readMillis(&r), eventMillis: try r.int())
        if format >= 3 { entry.replyTo = try r.optional() }
        return entry
    }

    private static func write(_ millis: Int64?, _ w: inout ByteWriter) {
        if let millis {
            w.byte(1)
            w.int(millis)
        } else {
            w.byte(0)
        }
    }

    private static func readMillis(_ r: inout ByteReader) throws(ViewCodecError) -> Int64? {
        try r.byte() == 1 ? try r.int() : nil
    }
}

/// An outbox row in a format this version does not know (written by a newer version).
struct UnknownOutboxFormat: Error, CustomStringConvertible {
    var format: UInt8?
    var description: String { "an outbox entry has an unknown format (\(format.map(String.init) ?? "empty")); upgrade threadlog" }
}

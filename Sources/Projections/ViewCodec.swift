import Messaging

/// The binary form of view rows. The projectors write thread states and inbox rows on every batch,
/// where JSON encoding would cost more than everything else together; this is length-prefixed fields
/// in a fixed order, version byte first, decoded by the same code that encodes.
public enum ViewCodec {
    static let version: UInt8 = 1

    public static func encode(_ state: ThreadState) -> [UInt8] {
        var w = ByteWriter()
        w.byte(version)
        w.string(state.id.rawValue)
        w.string(state.subject.kind)
        w.string(state.subject.ref)
        w.string(state.title)
        w.optional(state.category?.rawValue)
        w.string(state.priority.rawValue)
        w.string(state.type.rawValue)
        w.string(state.importance.rawValue)
        w.string(state.openedBy.rawValue)
        w.int(state.openedAtMillis)
        w.uint(state.openedAtPosition)
        w.strings(state.participants.map(\.rawValue))
        w.strings(state.structures.map(\.rawValue))
        w.string(state.status.rawValue)
        w.optional(state.handler?.rawValue)
        w.byte(state.blocked ? 1 : 0)
        w.uint(UInt64(state.messages.count))
        for message in state.messages { write(message, to: &w) }
        let markers = state.readMarkers.sorted { $0.key < $1.key }
        w.uint(UInt64(markers.count))
        for (user, upTo) in markers {
            w.string(user.rawValue)
            w.uint(UInt64(upTo))
        }
        w.int(state.lastActivityMillis)
        w.uint(state.lastPosition)
        w.uint(state.version)
        w.byte(state.legalHold ? 1 : 0)
        if let purged = state.purgedAtMillis {
            w.byte(1)
            w.int(purged)
        } else {
            w.byte(0)
        }
        if let answered = state.answeredAtPosition {
            w.byte(1)
            w.uint(answered)
        } else {
            w.byte(0)
        }
        // Since threads view v4: the roles added at opening.
        w.strings(state.roles.map(\.rawValue))
        // The internal side's notes; rows written before notes existed end here.
        if !state.notes.isEmpty {
            w.uint(UInt64(state.notes.count))
            for note in state.notes {
                w.uint(UInt64(note.number))
                w.string(note.author.rawValue)
                w.string(note.text)
                w.int(note.timeMillis)
                w.uint(note.position)
            }
        }
        return w.bytes
    }

    public static func decodeThread(_ bytes: UnsafeRawBufferPointer) throws(ViewCodecError) -> ThreadState {
        var r = ByteReader(bytes)
        guard try r.byte() == version else { throw ViewCodecError() }
        let id = ThreadID(try r.string())
        let subject = Subject(kind: try r.string(), ref: try r.string())
        let title = try r.string()
        let category = try r.optional().map(CategoryID.init)
        let priority = try r.enumeration(Priority.self)
        let type = try r.enumeration(ThreadType.self)
        let importance = try r.enumeration(Importance.self)
        let openedBy = UserID(try r.string())
        let openedAtMillis = try r.int()
        let openedAtPosition = try r.uint()
        let participants = try r.strings().map(UserID.init)
        let structures = try r.strings().map(StructureID.init)
        let status = try r.enumeration(ThreadStatus.self)
        let handler = try r.optional().map(UserID.init)
        let blocked = try r.byte() == 1
        var messages: [PostedMessage] = []
        let messageCount = try r.count()
        messages.reserveCapacity(messageCount)
        for _ in 0..<messageCount { messages.append(try readMessage(&r)) }
        var markers: [UserID: Int] = [:]
        for _ in 0..<(try r.count()) {
            markers[UserID(try r.string())] = Int(try r.uint())
        }
        var state = ThreadState(
            id: id, subject: subject, title: title, category: category, priority: priority, type: type,
            importance: importance, openedBy: openedBy, openedAtMillis: openedAtMillis, openedAtPosition: openedAtPosition,
            participants: participants, structures: structures, status: status, handler: handler, blocked: blocked,
            messages: messages, readMarkers: markers, lastActivityMillis: try r.int(), lastPosition: try r.uint(),
            version: try r.uint(), legalHold: try r.byte() == 1, purgedAtMillis: try r.byte() == 1 ? try r.int() : nil,
            answeredAtPosition: try r.byte() == 1 ? try r.uint() : nil, memberwise: ())
        state.roles = try r.strings().map(Role.init)
        if r.index < bytes.count {
            for _ in 0..<(try r.count()) {
                state.notes.append(
                    PostedNote(
                        number: Int(try r.uint()), author: UserID(try r.string()), text: try r.string(),
                        timeMillis: try r.int(), position: try r.uint()))
            }
        }
        return state
    }

    /// The thread's row: everything but its messages, which have rows of their own.
    public static func encodeHeader(_ state: ThreadState) -> [UInt8] {
        var header = state
        header.messages = []
        return encode(header)
    }

    public static func encode(_ message: PostedMessage) -> [UInt8] {
        var w = ByteWriter()
        w.byte(version)
        write(message, to: &w)
        return w.bytes
    }

    public static func decodeMessage(_ bytes: UnsafeRawBufferPointer) throws(ViewCodecError) -> PostedMessage {
        var r = ByteReader(bytes)
        guard try r.byte() == version else { throw ViewCodecError() }
        return try readMessage(&r)
    }

    static func write(_ message: PostedMessage, to w: inout ByteWriter) {
        w.uint(UInt64(message.number))
        w.string(message.author.rawValue)
        w.string(message.kind.rawValue)
        w.string(message.format.rawValue)
        w.string(message.text)
        w.uint(UInt64(message.attachments.count))
        for attachment in message.attachments {
            w.string(attachment.name)
            w.string(attachment.contentType)
            w.int(attachment.size)
            w.string(attachment.sha256)
        }
        w.int(message.timeMillis)
        w.uint(message.position)
        // Since threads view v4: who the message concerns and its template, each behind a presence byte.
        if let concerning = message.concerning {
            w.byte(1)
            w.string(concerning.kind.rawValue)
            w.string(concerning.name)
            w.optional(concerning.ref)
        } else {
            w.byte(0)
        }
        w.optional(message.template)
    }

    static func readMessage(_ r: inout ByteReader) throws(ViewCodecError) -> PostedMessage {
        let number = Int(try r.uint())
        let author = UserID(try r.string())
        let kind = try r.enumeration(MessageKind.self)
        let format = try r.enumeration(MessageFormat.self)
        let text = try r.string()
        var attachments: [Attachment] = []
        for _ in 0..<(try r.count()) {
            attachments.append(
                Attachment(name: try r.string(), contentType: try r.string(), size: try r.int(), sha256: try r.string()))
        }
        let timeMillis = try r.int()
        let position = try r.uint()
        var concerning: Concerning?
        if try r.byte() == 1 {
            concerning = Concerning(kind: try r.enumeration(Concerning.Kind.self), name: try r.string(), ref: try r.optional())
        }
        return PostedMessage(
            number: number, author: author, kind: kind, format: format, text: text, attachments: attachments,
            timeMillis: timeMillis, position: position, concerning: concerning, template: try r.optional(),
            memberwise: ())
    }

    public static func encode(_ row: InboxRow) -> [UInt8] {
        var w = ByteWriter()
        w.byte(version)
        w.string(row.thread.rawValue)
        w.optional(row.number)
        w.string(row.subject.kind)
        w.string(row.subject.ref)
        w.string(row.title)
        w.string(row.status.rawValue)
        w.string(row.priority.rawValue)
        w.string(row.type.rawValue)
        w.string(row.importance.rawValue)
        w.optional(row.category?.rawValue)
        w.optional(row.handler?.rawValue)
        w.string(row.openedBy.rawValue)
        w.strings(row.structures.map(\.rawValue))
        w.optional(row.party?.rawValue)
        w.uint(UInt64(row.messageCount))
        w.byte(row.answeredByCustomer ? 1 : 0)
        w.uint(UInt64(row.unread))
        w.int(row.lastActivityMillis)
        return w.bytes
    }

    public static func decodeInboxRow(_ bytes: UnsafeRawBufferPointer) throws(ViewCodecError) -> InboxRow {
        var r = ByteReader(bytes)
        guard try r.byte() == version else { throw ViewCodecError() }
        return InboxRow(
            thread: ThreadID(try r.string()), number: try r.optional(),
            subject: Subject(kind: try r.string(), ref: try r.string()), title: try r.string(),
            status: try r.enumeration(ThreadStatus.self), priority: try r.enumeration(Priority.self),
            type: try r.enumeration(ThreadType.self), importance: try r.enumeration(Importance.self),
            category: try r.optional().map(CategoryID.init), handler: try r.optional().map(UserID.init),
            openedBy: UserID(try r.string()), structures: try r.strings().map(StructureID.init), party: try r.optional().map(PartyID.init),
            messageCount: Int(try r.uint()), answeredByCustomer: try r.byte() == 1,
            unread: Int(try r.uint()), lastActivityMillis: try r.int())
    }

    public static func encode(_ row: AudienceRow) -> [UInt8] {
        var w = ByteWriter()
        w.byte(version)
        w.int(row.activityMillis)
        w.strings(row.users.map(\.rawValue))
        return w.bytes
    }

    public static func decodeAudience(_ bytes: UnsafeRawBufferPointer) throws(ViewCodecError) -> AudienceRow {
        var r = ByteReader(bytes)
        guard try r.byte() == version else { throw ViewCodecError() }
        return AudienceRow(activityMillis: try r.int(), users: try r.strings().map(UserID.init))
    }
}

/// A view row that does not decode: the views are damaged or from another build; rebuild them.
public struct ViewCodecError: Error, Sendable, CustomStringConvertible {
    public var description: String { "a view row does not decode; rebuild the views (threadlog project rebuild --all)" }
}

/// Writes the length-prefixed binary fields of view rows (and of other stored rows built the same way).
public struct ByteWriter {
    public var bytes: [UInt8] = []

    public init() { bytes.reserveCapacity(256) }

    public mutating func byte(_ value: UInt8) { bytes.append(value) }

    /// LEB128: small numbers take one byte.
    public mutating func uint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func int(_ value: Int64) { uint(UInt64(bitPattern: (value << 1) ^ (value >> 63))) }

    public mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            uint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func optional(_ value: String?) {
        if let value {
            byte(1)
            string(value)
        } else {
            byte(0)
        }
    }

    public mutating func strings(_ values: [String]) {
        uint(UInt64(values.count))
        for value in values { string(value) }
    }
}

/// Reads what `ByteWriter` wrote, throwing on anything short or malformed.
public struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    public var index = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public mutating func byte() throws(ViewCodecError) -> UInt8 {
        guard index < bytes.count else { throw ViewCodecError() }
        defer { index += 1 }
        return bytes[index]
    }

    public mutating func uint() throws(ViewCodecError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            guard shift < 64 else { throw ViewCodecError() }
            value |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return value }
            shift += 7
        }
    }

    public mutating func int() throws(ViewCodecError) -> Int64 {
        let raw = try uint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    public mutating func count() throws(ViewCodecError) -> Int {
        let value = try uint()
        guard value <= UInt64(bytes.count) else { throw ViewCodecError() }
        return Int(value)
    }

    public mutating func string() throws(ViewCodecError) -> String {
        let length = try count()
        guard index + length <= bytes.count else { throw ViewCodecError() }
        defer { index += length }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[index..<index + length]), as: UTF8.self)
    }

    public mutating func optional() throws(ViewCodecError) -> String? {
        try byte() == 1 ? try string() : nil
    }

    public mutating func strings() throws(ViewCodecError) -> [String] {
        var out: [String] = []
        for _ in 0..<(try count()) { out.append(try string()) }
        return out
    }

    public mutating func enumeration<T: RawRepresentable<String>>(_: T.Type) throws(ViewCodecError) -> T {
        guard let value = T(rawValue: try string()) else { throw ViewCodecError() }
        return value
    }
}

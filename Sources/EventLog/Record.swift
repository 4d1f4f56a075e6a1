import Crypto

/// The stored form of one event: a fixed binary header, the envelope strings, then the payload as given.
///
/// ```
///  0  u8   record format (1)          16  u64  version in stream
///  1  u8   flags (bit 0: purged)      24  u64  position of previous event in stream (0: none)
///  2  u16  schemaVersion              32  i64  time, ms since 1970 UTC
///  4  u16  stream length              40  u32  payload length
///  6  u16  type length                44  [32] SHA-256 of the payload
///  8  u16  actor length               76  [32] chain hash
/// 10  u16  correlation id length     108  stream, type, actor, correlation id, command id (UTF-8)
/// 12  u16  command id length               then the payload
/// 14  u16  reserved (0)
/// ```
/// All integers are big-endian. The chain hash is SHA-256 over: the previous event's chain hash, the
/// 8-byte position, byte 0, bytes 2..<40, the strings and the payload digest. The flags and the payload
/// length are outside the chain, so a purge can erase the payload while the chain still verifies.
enum Record {
    static let format: UInt8 = 1
    static let headerSize = 108
    static let purgedFlag: UInt8 = 1
    static let digestSize = 32
    static let genesis = [UInt8](repeating: 0, count: 32)

    /// Largest stream / type / actor / id string accepted (an LMDB key holds at most 511 bytes).
    static let maxStringBytes = 255

    /// Appends the record for one event to `buffer` (which is cleared first) and returns its chain hash.
    static func encode(
        into buffer: inout [UInt8], position: UInt64, stream: String, version: UInt64, previousInStream: UInt64,
        event: ProposedEvent, timeMillis: Int64, commandID: String, previousChain: [UInt8]
    ) -> [UInt8] {
        buffer.removeAll(keepingCapacity: true)
        let strings = [stream, event.type, event.actor, event.correlationID, commandID]
        buffer.append(format)
        buffer.append(0)
        appendBE(&buffer, event.schemaVersion)
        for s in strings { appendBE(&buffer, UInt16(s.utf8.count)) }
        appendBE(&buffer, UInt16(0))
        appendBE(&buffer, version)
        appendBE(&buffer, previousInStream)
        appendBE(&buffer, UInt64(bitPattern: timeMillis))
        appendBE(&buffer, UInt32(event.data.count))
        let digest = event.data.withUnsafeBytes { sha256($0) }
        buffer.append(contentsOf: digest)
        buffer.append(contentsOf: genesis)  // chain hash, filled in below
        for s in strings { buffer.append(contentsOf: s.utf8) }
        let stringsEnd = buffer.count
        buffer.append(contentsOf: event.data)
        let chain = buffer.withUnsafeBytes { raw in
            chainHash(previous: previousChain, position: position, record: raw, stringsEnd: stringsEnd, digest: digest)
        }
        buffer.replaceSubrange(76..<108, with: chain)
        return chain
    }

    static func chainHash(
        previous: [UInt8], position: UInt64, record: UnsafeRawBufferPointer, stringsEnd: Int, digest: some Sequence<UInt8>
    ) -> [UInt8] {
        var hasher = SHA256()
        previous.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        withUnsafeBytes(of: position.bigEndian) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: record[0..<1]))
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: record[2..<40]))
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: record[headerSize..<stringsEnd]))
        hasher.update(data: Array(digest))
        return Array(hasher.finalize())
    }

    static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }

    @inline(__always)
    static func appendBE<T: FixedWidthInteger>(_ buffer: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.bigEndian) { buffer.append(contentsOf: $0) }
    }

    @inline(__always)
    static func loadBE<T: FixedWidthInteger>(_ raw: UnsafeRawBufferPointer, _ offset: Int, as: T.Type) -> T {
        T(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    static func key(_ position: UInt64) -> [UInt8] {
        withUnsafeBytes(of: position.bigEndian) { Array($0) }
    }

    static func position(ofKey key: UnsafeRawBufferPointer) -> UInt64? {
        key.count == 8 ? loadBE(key, 0, as: UInt64.self) : nil
    }
}

/// A parsed view of a stored record; the bytes belong to the transaction that produced them.
struct RecordView {
    let raw: UnsafeRawBufferPointer
    let flags: UInt8
    let schemaVersion: UInt16
    let lengths: (Int, Int, Int, Int, Int)
    let version: UInt64
    let previousInStream: UInt64
    let timeMillis: Int64
    let payloadLength: Int
    let stringsEnd: Int

    /// Parses the header and checks that the lengths add up; `nil` when they do not.
    init?(_ raw: UnsafeRawBufferPointer) {
        guard raw.count >= Record.headerSize, raw[0] == Record.format else { return nil }
        self.raw = raw
        flags = raw[1]
        schemaVersion = Record.loadBE(raw, 2, as: UInt16.self)
        lengths = (
            Int(Record.loadBE(raw, 4, as: UInt16.self)), Int(Record.loadBE(raw, 6, as: UInt16.self)),
            Int(Record.loadBE(raw, 8, as: UInt16.self)), Int(Record.loadBE(raw, 10, as: UInt16.self)),
            Int(Record.loadBE(raw, 12, as: UInt16.self))
        )
        version = Record.loadBE(raw, 16, as: UInt64.self)
        previousInStream = Record.loadBE(raw, 24, as: UInt64.self)
        timeMillis = Int64(bitPattern: Record.loadBE(raw, 32, as: UInt64.self))
        payloadLength = Int(Record.loadBE(raw, 40, as: UInt32.self))
        stringsEnd = Record.headerSize + lengths.0 + lengths.1 + lengths.2 + lengths.3 + lengths.4
        guard stringsEnd + payloadLength == raw.count else { return nil }
    }

    var isPurged: Bool { flags & Record.purgedFlag != 0 }
    var reservedIsZero: Bool { raw[14] == 0 && raw[15] == 0 }
    var digest: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: raw[44..<76]) }
    var chain: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: raw[76..<108]) }
    var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: raw[stringsEnd..<raw.count]) }

    private func string(at start: Int, _ count: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: raw[start..<start + count]), as: UTF8.self)
    }

    var stream: String { string(at: Record.headerSize, lengths.0) }
    var typeBytes: UnsafeRawBufferPointer {
        let start = Record.headerSize + lengths.0
        return UnsafeRawBufferPointer(rebasing: raw[start..<start + lengths.1])
    }
    var streamBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: raw[Record.headerSize..<Record.headerSize + lengths.0])
    }

    func recorded(position: UInt64) -> RecordedEvent {
        var offset = Record.headerSize
        func next(_ count: Int) -> String {
            defer { offset += count }
            return string(at: offset, count)
        }
        let stream = next(lengths.0)
        let type = next(lengths.1)
        let actor = next(lengths.2)
        let correlation = next(lengths.3)
        let command = next(lengths.4)
        return RecordedEvent(
            position: position, stream: stream, version: version, type: type, schemaVersion: schemaVersion,
            timeMillis: timeMillis, actor: actor, correlationID: correlation, commandID: command,
            data: Array(payload), isPurged: isPurged, payloadDigest: Array(digest), chainHash: Array(chain),
            previousInStream: previousInStream
        )
    }
}

/// A view borrows bytes that are valid only inside the transaction's closure that lent them.
@available(*, unavailable)
extension RecordView: Sendable {}

import Foundation
import Synchronization

/// Encodes answers as `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` does, byte for byte,
/// at a fraction of its cost: it writes into one buffer as the value encodes itself, instead of building
/// a tree of boxed values first. Objects are written member by member and put in key order when they
/// close, in the order Foundation sorts keys (remembered per sequence of keys, so each shape is sorted
/// once).
///
/// What it does not write itself (floating-point numbers, `Data`, `Date`, `URL`, `Decimal`, nested or
/// super encoders) makes it hand the whole value to `JSONEncoder`, so the output never differs.
enum AnswerEncoder {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let writer = Writer()
        do {
            // One cast per answer, not per nested value: the answers read most write themselves.
            if let direct = value as? any DirectAnswer {
                try direct.write(to: writer)
            } else {
                try writer.encodeValue(value)
            }
            if writer.refused { throw Unsupported() }
            return writer.bytes.array
        } catch {
            return Array(try foundation.encode(value))
        }
    }

    static var foundation: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A value the fast path leaves to `JSONEncoder`.
    struct Unsupported: Error {}

    /// Key orders per coding-key type (of an object's first container): each sequence of keys met, with
    /// its positions in sorted order.
    static let orders = Mutex<[ObjectIdentifier: [(keys: [String], order: [Int])]]>([:])
    /// Sequences kept per coding-key type (a dictionary's keys vary with its content).
    static let maxOrdersPerType = 8

    static func sortedOrder(_ keys: [String], keyType: ObjectIdentifier) -> [Int] {
        var isSorted = true
        for index in keys.indices.dropFirst() where !ascending(keys[index - 1], keys[index]) {
            isSorted = false
            break
        }
        if isSorted { return Array(keys.indices) }
        if let known = orders.withLock({ $0[keyType]?.first(where: { $0.keys == keys })?.order }) { return known }
        let order = keys.indices.sorted { ascending(keys[$0], keys[$1]) }
        orders.withLock { orders in
            if orders[keyType, default: []].count < maxOrdersPerType { orders[keyType, default: []].append((keys, order)) }
        }
        return order
    }

    /// Foundation's key order for `.sortedKeys` (here: `String`'s own order; the tests hold it to Foundation's).
    static func ascending(_ a: String, _ b: String) -> Bool { a < b }

    /// The output buffer and the encoding in progress.
    final class Writer {
        let bytes = ByteSink()
        /// Set when a container the fast path does not write was handed out.
        var refused = false

        /// A container state that fails every write, for what the fast path does not write.
        func refusal() -> ContainerState {
            refused = true
            let state = ContainerState()
            state.kind = .single
            state.count = 1
            return state
        }

        func encodeValue<T: Encodable>(_ value: T) throws {
            // Types compared, not cast: a failed dynamic cast per nested value costs more than writing it.
            if T.self == String.self {
                writeString(unsafeBitCast(value, to: String.self))
            } else if T.self == Int.self {
                writeInteger(unsafeBitCast(value, to: Int.self))
            } else if T.self == Bool.self {
                bytes.append(contentsOf: unsafeBitCast(value, to: Bool.self) ? Self.true : Self.false)
            } else if T.self == Double.self || T.self == Float.self || T.self == Data.self || T.self == Date.self
                || T.self == URL.self || T.self == Decimal.self
            {
                throw Unsupported()  // Foundation writes these its own way
            } else {
                // Other integers come back through a single-value container.
                let state = ContainerState()
                try value.encode(to: ValueEncoder(writer: self, state: state))
                try close(state)
            }
        }

        /// Ends what `state`'s value opened: an object put in key order, an array, or `{}` for a value
        /// that opened nothing (as Foundation writes it).
        func close(_ state: ContainerState) throws {
            switch state.kind {
            case .none: bytes.append(contentsOf: Self.emptyObject)
            case .single: guard state.count == 1 else { throw Unsupported() }
            case .unkeyed: bytes.append(UInt8(ascii: "]"))
            case .keyed:
                let members = state.members
                let order = AnswerEncoder.sortedOrder(members.map(\.key), keyType: state.keyType!)
                for (previous, next) in zip(order, order.dropFirst()) where members[previous].key == members[next].key {
                    throw Unsupported()  // a key written twice: Foundation keeps the last
                }
                let body = bytes.cut(from: state.start)
                for (position, index) in order.enumerated() {
                    if position > 0 { bytes.append(UInt8(ascii: ",")) }
                    let begin = members[index].offset - state.start
                    let end = index + 1 < members.count ? members[index + 1].offset - state.start : body.count
                    bytes.append(contentsOf: body[begin..<end])
                }
                bytes.append(UInt8(ascii: "}"))
            }
        }

        func writeInteger<I: BinaryInteger>(_ value: I) {
            var text = String(value)
            text.withUTF8 { bytes.append(contentsOf: $0) }
        }

        func writeString(_ string: String) {
            var string = string
            // Most strings need no escaping: then one copy between the quotes.
            if string.withUTF8({ bytes.appendQuotedIfPlain($0) }) { return }
            bytes.append(UInt8(ascii: "\""))
            string.withUTF8 { utf8 in
                let bytes = self.bytes
                var runStart = 0
                for index in 0..<utf8.count {
                    let byte = utf8[index]
                    guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                    runStart = index + 1
                    switch byte {
                    case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
                    case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
                    case 0x08: bytes.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                    case 0x0C: bytes.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                    case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                    case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                    case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                    default:
                        bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                        bytes.append(Self.hex[Int(byte >> 4)])
                        bytes.append(Self.hex[Int(byte & 0x0F)])
                    }
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
            }
            bytes.append(UInt8(ascii: "\""))
        }

        static let hex = Array("0123456789abcdef".utf8)
        static let `true` = Array("true".utf8)
        static let `false` = Array("false".utf8)
        static let null = Array("null".utf8)
        static let emptyObject = Array("{}".utf8)
    }

    /// What one value asked its encoder for.
    final class ContainerState {
        enum Kind { case none, single, keyed, unkeyed }
        var kind = Kind.none
        /// Where the object's members begin (after `{`).
        var start = 0
        var members: [(key: String, offset: Int)] = []
        /// The coding-key type of a keyed container, for its key order.
        var keyType: ObjectIdentifier?
        /// Values written: members, elements, or the single value.
        var count = 0

        /// Returns true for the value's first container, false for a second one of the same kind
        /// (the same container again, as Foundation gives it).
        func begin(_ kind: Kind) throws -> Bool {
            guard self.kind == .none else {
                if self.kind == kind, kind != .single { return false }
                throw Unsupported()
            }
            self.kind = kind
            return true
        }
    }

    struct ValueEncoder: Encoder {
        let writer: Writer
        let state: ContainerState
        var codingPath: [any CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            do {
                // A value may ask again, with other keys (a type that writes another's members beside
                // its own): the members go into the same object, sorted together.
                if try state.begin(.keyed) {
                    writer.bytes.append(UInt8(ascii: "{"))
                    state.start = writer.bytes.count
                    state.keyType = ObjectIdentifier(Key.self)
                }
                return KeyedEncodingContainer(Keyed<Key>(writer: writer, state: state, failed: false))
            } catch {
                return KeyedEncodingContainer(Keyed<Key>(writer: writer, state: writer.refusal(), failed: true))
            }
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            do {
                if try state.begin(.unkeyed) { writer.bytes.append(UInt8(ascii: "[")) }
                return Unkeyed(writer: writer, state: state, failed: false)
            } catch {
                return Unkeyed(writer: writer, state: writer.refusal(), failed: true)
            }
        }

        func singleValueContainer() -> any SingleValueEncodingContainer {
            guard (try? state.begin(.single)) != nil else {
                return Single(writer: writer, state: writer.refusal(), failed: true)
            }
            return Single(writer: writer, state: state, failed: false)
        }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let writer: Writer
        let state: ContainerState
        let failed: Bool
        var codingPath: [any CodingKey] { [] }

        func member(_ key: Key) throws {
            if failed { throw Unsupported() }
            state.members.append((key.stringValue, writer.bytes.count))
            state.count += 1
            writer.writeString(key.stringValue)
            writer.bytes.append(UInt8(ascii: ":"))
        }

        mutating func encodeNil(forKey key: Key) throws {
            try member(key)
            writer.bytes.append(contentsOf: Writer.null)
        }
        mutating func encode(_ value: Bool, forKey key: Key) throws {
            try member(key)
            writer.bytes.append(contentsOf: value ? Writer.true : Writer.false)
        }
        mutating func encode(_ value: String, forKey key: Key) throws {
            try member(key)
            writer.writeString(value)
        }
        mutating func encode(_ value: Double, forKey key: Key) throws { throw Unsupported() }
        mutating func encode(_ value: Float, forKey key: Key) throws { throw Unsupported() }
        mutating func encode(_ value: Int, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { try integer(value, key) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try member(key)
            try writer.encodeValue(value)
        }

        private func integer<I: BinaryInteger>(_ value: I, _ key: Key) throws {
            try member(key)
            writer.writeInteger(value)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type, forKey key: Key
        ) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(Keyed<NestedKey>(writer: writer, state: writer.refusal(), failed: true))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            Unkeyed(writer: writer, state: writer.refusal(), failed: true)
        }
        mutating func superEncoder() -> any Encoder { Refused(writer: writer) }
        mutating func superEncoder(forKey key: Key) -> any Encoder { Refused(writer: writer) }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let writer: Writer
        let state: ContainerState
        let failed: Bool
        var codingPath: [any CodingKey] { [] }
        var count: Int { state.count }

        func element() throws {
            if failed { throw Unsupported() }
            if state.count > 0 { writer.bytes.append(UInt8(ascii: ",")) }
            state.count += 1
        }

        mutating func encodeNil() throws {
            try element()
            writer.bytes.append(contentsOf: Writer.null)
        }
        mutating func encode(_ value: Bool) throws {
            try element()
            writer.bytes.append(contentsOf: value ? Writer.true : Writer.false)
        }
        mutating func encode(_ value: String) throws {
            try element()
            writer.writeString(value)
        }
        mutating func encode(_ value: Double) throws { throw Unsupported() }
        mutating func encode(_ value: Float) throws { throw Unsupported() }
        mutating func encode(_ value: Int) throws { try integer(value) }
        mutating func encode(_ value: Int8) throws { try integer(value) }
        mutating func encode(_ value: Int16) throws { try integer(value) }
        mutating func encode(_ value: Int32) throws { try integer(value) }
        mutating func encode(_ value: Int64) throws { try integer(value) }
        mutating func encode(_ value: UInt) throws { try integer(value) }
        mutating func encode(_ value: UInt8) throws { try integer(value) }
        mutating func encode(_ value: UInt16) throws { try integer(value) }
        mutating func encode(_ value: UInt32) throws { try integer(value) }
        mutating func encode(_ value: UInt64) throws { try integer(value) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            try element()
            try writer.encodeValue(value)
        }

        private func integer<I: BinaryInteger>(_ value: I) throws {
            try element()
            writer.writeInteger(value)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(Keyed<NestedKey>(writer: writer, state: writer.refusal(), failed: true))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            Unkeyed(writer: writer, state: writer.refusal(), failed: true)
        }
        mutating func superEncoder() -> any Encoder { Refused(writer: writer) }
    }

    struct Single: SingleValueEncodingContainer {
        let writer: Writer
        let state: ContainerState
        let failed: Bool
        var codingPath: [any CodingKey] { [] }

        func value() throws {
            if failed || state.count > 0 { throw Unsupported() }
            state.count = 1
        }

        mutating func encodeNil() throws {
            try value()
            writer.bytes.append(contentsOf: Writer.null)
        }
        mutating func encode(_ value: Bool) throws {
            try self.value()
            writer.bytes.append(contentsOf: value ? Writer.true : Writer.false)
        }
        mutating func encode(_ value: String) throws {
            try self.value()
            writer.writeString(value)
        }
        mutating func encode(_ value: Double) throws { throw Unsupported() }
        mutating func encode(_ value: Float) throws { throw Unsupported() }
        mutating func encode(_ value: Int) throws { try integer(value) }
        mutating func encode(_ value: Int8) throws { try integer(value) }
        mutating func encode(_ value: Int16) throws { try integer(value) }
        mutating func encode(_ value: Int32) throws { try integer(value) }
        mutating func encode(_ value: Int64) throws { try integer(value) }
        mutating func encode(_ value: UInt) throws { try integer(value) }
        mutating func encode(_ value: UInt8) throws { try integer(value) }
        mutating func encode(_ value: UInt16) throws { try integer(value) }
        mutating func encode(_ value: UInt32) throws { try integer(value) }
        mutating func encode(_ value: UInt64) throws { try integer(value) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            try self.value()
            try writer.encodeValue(value)
        }

        private func integer<I: BinaryInteger>(_ value: I) throws {
            try self.value()
            writer.writeInteger(value)
        }
    }

    /// A growing byte buffer behind a pointer: writes into it are not checked for exclusive access
    /// the way writes into a class's array property are, which would cost more than the writes.
    final class ByteSink {
        private struct Storage {
            var base: UnsafeMutablePointer<UInt8>
            var count: Int
            var capacity: Int
        }

        private let storage: UnsafeMutablePointer<Storage>

        init(capacity: Int = 2048) {
            storage = .allocate(capacity: 1)
            storage.initialize(to: Storage(base: .allocate(capacity: capacity), count: 0, capacity: capacity))
        }

        deinit {
            storage.pointee.base.deallocate()
            storage.deallocate()
        }

        var count: Int { storage.pointee.count }

        var array: [UInt8] { Array(UnsafeBufferPointer(start: storage.pointee.base, count: storage.pointee.count)) }

        private func reserve(_ extra: Int) {
            let needed = storage.pointee.count + extra
            guard needed > storage.pointee.capacity else { return }
            let capacity = max(needed, storage.pointee.capacity * 2)
            let base = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            base.update(from: storage.pointee.base, count: storage.pointee.count)
            storage.pointee.base.deallocate()
            storage.pointee.base = base
            storage.pointee.capacity = capacity
        }

        func append(_ byte: UInt8) {
            reserve(1)
            storage.pointee.base[storage.pointee.count] = byte
            storage.pointee.count += 1
        }

        func append(contentsOf bytes: UnsafeBufferPointer<UInt8>) {
            guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
            reserve(bytes.count)
            (storage.pointee.base + storage.pointee.count).update(from: source, count: bytes.count)
            storage.pointee.count += bytes.count
        }

        /// `"text"` when `text` holds no byte JSON must escape (a control character, `"` or `\\`), and
        /// true; false, having written nothing, otherwise. Checks eight bytes at a time.
        func appendQuotedIfPlain(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
            guard let source = text.baseAddress else {
                append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: "\"")])
                return true
            }
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            /// Whether a byte of `word` is below 0x20, `"` or `\\` (exact for "some byte is").
            func special(_ word: UInt64) -> Bool {
                let below = (word &- ones &* 0x20) & ~word & highs
                let quote = (word ^ (ones &* 0x22)) &- ones & ~(word ^ (ones &* 0x22)) & highs
                let backslash = (word ^ (ones &* 0x5C)) &- ones & ~(word ^ (ones &* 0x5C)) & highs
                return below | quote | backslash != 0
            }
            var index = 0
            while index + 8 <= text.count {
                if special(UnsafeRawPointer(source + index).loadUnaligned(as: UInt64.self)) { return false }
                index += 8
            }
            while index < text.count {
                let byte = source[index]
                if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
                index += 1
            }
            reserve(text.count + 2)
            let start = storage.pointee.base + storage.pointee.count
            start.pointee = UInt8(ascii: "\"")
            (start + 1).update(from: source, count: text.count)
            (start + 1 + text.count).pointee = UInt8(ascii: "\"")
            storage.pointee.count += text.count + 2
            return true
        }

        /// `"key":`, after a comma when `comma`, with one capacity check (a key needs no escaping).
        func appendKey(_ key: UnsafeBufferPointer<UInt8>, comma: Bool) {
            guard let source = key.baseAddress else { return }
            reserve(key.count + 4)
            var next = storage.pointee.base + storage.pointee.count
            if comma {
                next.pointee = UInt8(ascii: ",")
                next += 1
            }
            next.pointee = UInt8(ascii: "\"")
            (next + 1).update(from: source, count: key.count)
            next += key.count + 1
            next.pointee = UInt8(ascii: "\"")
            (next + 1).pointee = UInt8(ascii: ":")
            storage.pointee.count = next + 2 - storage.pointee.base
        }

        func append(contentsOf bytes: [UInt8]) {
            bytes.withUnsafeBufferPointer { append(contentsOf: $0) }
        }

        func append(contentsOf bytes: ArraySlice<UInt8>) {
            bytes.withUnsafeBufferPointer { append(contentsOf: $0) }
        }

        /// Removes and returns the bytes from `start` on.
        func cut(from start: Int) -> [UInt8] {
            let tail = Array(UnsafeBufferPointer(start: storage.pointee.base + start, count: storage.pointee.count - start))
            storage.pointee.count = start
            return tail
        }
    }

    /// The encoder handed out where the fast path gives up: every container it gives fails.
    struct Refused: Encoder {
        let writer: Writer
        var codingPath: [any CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }
        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            KeyedEncodingContainer(Keyed<Key>(writer: writer, state: writer.refusal(), failed: true))
        }
        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            Unkeyed(writer: writer, state: writer.refusal(), failed: true)
        }
        func singleValueContainer() -> any SingleValueEncodingContainer {
            Single(writer: writer, state: writer.refusal(), failed: true)
        }
    }
}

import Messaging

/// Decodes a request body's parsed JSON into a DTO and notes which object members the DTO read, so a
/// member no field asked for is found without encoding the value again. Errors are `DecodingError`s
/// with coding paths, as `JSONDecoder` throws them.
struct StrictDecoder: Decoder {
    /// The objects met while decoding, with the keys the DTO asked for.
    final class Visits {
        var objects: [(path: [any CodingKey], members: [String: JSONValue], asked: Set<String>)] = []

        /// The first member (in key order, outermost object first) that no field asked for; `null`
        /// members are let through, as an explicit null for a field left out.
        func firstUnknown() -> String? {
            for object in objects {
                for key in object.members.keys.sorted() where !object.asked.contains(key) {
                    if case .null = object.members[key] { continue }
                    return StrictJSON.path(object.path + [AnyKey(key)])
                }
            }
            return nil
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init(intValue: Int) {
            stringValue = String(intValue)
            self.intValue = intValue
        }
    }

    let value: JSONValue
    let codingPath: [any CodingKey]
    let visits: Visits
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw DecodingError.typeMismatch(
                [String: Any].self, .init(codingPath: codingPath, debugDescription: "expected an object"))
        }
        visits.objects.append((codingPath, members, []))
        return KeyedDecodingContainer(Keyed<Key>(members: members, index: visits.objects.count - 1, decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else {
            throw DecodingError.typeMismatch([Any].self, .init(codingPath: codingPath, debugDescription: "expected an array"))
        }
        return Unkeyed(items: items, decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(decoder: self) }

    /// Decodes a member or an element, which may not be `null`.
    func decodePresent<T: Decodable>(_ type: T.Type) throws -> T {
        if case .null = value {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "null"))
        }
        return try decode(type)
    }

    /// Decodes `T` here. An object `T` read without opening it (an empty DTO) has every member unknown.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let before = visits.objects.count
        let decoded = try T(from: self)
        if case .object(let members) = value, visits.objects.count == before, !members.isEmpty {
            visits.objects.append((codingPath, members, []))
        }
        return decoded
    }

    func child(_ value: JSONValue, _ key: any CodingKey) -> StrictDecoder {
        StrictDecoder(value: value, codingPath: codingPath + [key], visits: visits)
    }

    func mismatch<T>(_ type: T.Type) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "expected \(type)"))
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let members: [String: JSONValue]
        let index: Int
        let decoder: StrictDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }
        var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool {
            decoder.visits.objects[index].asked.insert(key.stringValue)
            return members[key.stringValue] != nil
        }

        func member(_ key: Key) throws -> JSONValue {
            decoder.visits.objects[index].asked.insert(key.stringValue)
            guard let value = members[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
            }
            return value
        }

        func decodeNil(forKey key: Key) throws -> Bool {
            if case .null = try member(key) { return true }
            return false
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try decoder.child(try member(key), key).decodePresent(type)
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            try decoder.child(try member(key), key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try decoder.child(try member(key), key).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder { decoder }
        func superDecoder(forKey key: Key) throws -> any Decoder { decoder.child(try member(key), key) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let items: [JSONValue]
        let decoder: StrictDecoder
        var currentIndex = 0
        var codingPath: [any CodingKey] { decoder.codingPath }
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        mutating func next() throws -> StrictDecoder {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(
                    Any.self, .init(codingPath: codingPath, debugDescription: "the array has no more elements"))
            }
            defer { currentIndex += 1 }
            return decoder.child(items[currentIndex], AnyKey(intValue: currentIndex))
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, case .null = items[currentIndex] else { return false }
            currentIndex += 1
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try next().decodePresent(type)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            try next().container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
        mutating func superDecoder() throws -> any Decoder { try next() }
    }

    struct Single: SingleValueDecodingContainer {
        let decoder: StrictDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }

        func decodeNil() -> Bool {
            if case .null = decoder.value { return true }
            return false
        }

        func decode(_ type: Bool.Type) throws -> Bool {
            guard case .bool(let value) = decoder.value else { throw decoder.mismatch(type) }
            return value
        }

        func decode(_ type: String.Type) throws -> String {
            guard case .string(let value) = decoder.value else { throw decoder.mismatch(type) }
            // Valid JSON (`\u0000`), but no text of a message, name or id has a NUL, and C-string
            // readers of the log, mails and exports would cut the text there.
            if value.utf8.contains(0) {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: codingPath, debugDescription: "a string with a NUL character"))
            }
            return value
        }

        func decode(_ type: Double.Type) throws -> Double {
            switch decoder.value {
            case .number(let value): return value.doubleValue
            case .integer(let value): return Double(value)
            default: throw decoder.mismatch(type)
            }
        }

        func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

        func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
            let wide: Int64
            switch decoder.value {
            case .integer(let value): wide = value
            case .number(let number):
                // `1.0` and `1e2` are integers; `1.5` and digits beyond a double's precision are not rounded into one.
                guard let exact = number.exactInteger else { throw decoder.mismatch(type) }
                wide = exact
            default: throw decoder.mismatch(type)
            }
            guard let value = T(exactly: wide) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: codingPath, debugDescription: "\(wide) does not fit in \(type)"))
            }
            return value
        }

        func decode(_ type: Int.Type) throws -> Int { try integer(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
        func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

        func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: decoder) }
    }
}

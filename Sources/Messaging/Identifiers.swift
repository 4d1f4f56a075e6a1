import Foundation

/// A string identifier with its own type, so a user id can never be passed where a thread id is expected.
///
/// `CodingKeyRepresentable` makes dictionaries keyed by an identifier encode as JSON objects.
///
/// Identifiers are chosen by callers (or generated outside the domain) and checked by the deciders with
/// ``isValidIdentifier(_:)``: stream names embed them, so the character set is kept narrow.
public protocol Identifier: RawRepresentable, Hashable, Comparable, Sendable, Codable,
    CodingKeyRepresentable, CustomStringConvertible, ExpressibleByStringLiteral
where RawValue == String {
    init(rawValue: String)
}

extension Identifier {
    public init(_ rawValue: String) { self.init(rawValue: rawValue) }
    public init(stringLiteral value: String) { self.init(rawValue: value) }
    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// 1 to 100 characters of ASCII letters, digits, `_`, `-` and `.`; the characters stream names
    /// and the actor field can carry without escaping.
    public var isValid: Bool { isValidIdentifier(rawValue) }
}

public func isValidIdentifier(_ text: String) -> Bool {
    guard (1...100).contains(text.utf8.count) else { return false }
    return text.utf8.allSatisfy(identifierBytes.contains)
}

private let identifierBytes: Set<UInt8> = Set(
    Array(UInt8(ascii: "a")...UInt8(ascii: "z")) + Array(UInt8(ascii: "A")...UInt8(ascii: "Z"))
        + Array(UInt8(ascii: "0")...UInt8(ascii: "9")) + Array("_-.".utf8))

public struct PartyID: Identifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

public struct UserID: Identifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

public struct ServiceID: Identifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

public struct StructureID: Identifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

public struct CategoryID: Identifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

public struct ThreadID: Identifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

/// A role name such as `handler` or `client`; free text, compared exactly.
public struct Role: Identifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The role that receives threads without a category unless settings name others.
    public static let handler: Role = "handler"
    /// The internal role that manages the message templates besides the administrator.
    public static let supervisor: Role = "supervisor"
}

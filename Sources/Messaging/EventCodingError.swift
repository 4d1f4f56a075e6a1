import Foundation

/// A payload that cannot be turned into an event. An infrastructure error, not a domain refusal:
/// a struct whose code set can grow without breaking callers that switch on it.
public struct EventCodingError: Error, Sendable, Hashable, CustomStringConvertible {
    enum Code: Sendable, Hashable {
        case unknownType
        case unsupportedVersion
        case malformedPayload
    }

    let code: Code
    public let type: String
    public let schemaVersion: UInt16
    public let detail: String

    public static func unknownType(_ type: String, schemaVersion: UInt16) -> EventCodingError {
        EventCodingError(code: .unknownType, type: type, schemaVersion: schemaVersion, detail: "")
    }

    static func unsupportedVersion(_ type: String, schemaVersion: UInt16) -> EventCodingError {
        EventCodingError(
            code: .unsupportedVersion, type: type, schemaVersion: schemaVersion, detail: "")
    }

    static func malformed(_ type: String, schemaVersion: UInt16, _ error: any Error)
        -> EventCodingError
    {
        EventCodingError(
            code: .malformedPayload, type: type, schemaVersion: schemaVersion, detail: "\(error)")
    }

    public var isUnknownType: Bool { code == .unknownType }
    public var isUnsupportedVersion: Bool { code == .unsupportedVersion }
    public var isMalformedPayload: Bool { code == .malformedPayload }

    public var description: String {
        switch code {
        case .unknownType: "unknown event type '\(type)' (schema version \(schemaVersion))"
        case .unsupportedVersion: "event type '\(type)' has no schema version \(schemaVersion)"
        case .malformedPayload: "payload of '\(type)' v\(schemaVersion) does not decode: \(detail)"
        }
    }
}

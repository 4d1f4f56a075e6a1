import Foundation

public enum PartyKind: String, Codable, Sendable, CaseIterable {
    /// The operator of the deployment.
    case `internal`
    /// A supplier, client, subcontractor or any other outside organisation.
    case external
}

public enum Priority: String, Codable, Sendable, CaseIterable {
    case low, normal, high, urgent
}

public enum ThreadType: String, Codable, Sendable, CaseIterable {
    case message, task, taskOfTheDay, urgent, clientRemark
}

public enum Importance: String, Codable, Sendable, CaseIterable {
    case low, normal, high
}

/// `new` → `open` → `waiting` → `resolved`, with `closed`; reopening moves a resolved or closed
/// thread back to `open` (it is a transition, not a status of its own).
public enum ThreadStatus: String, Codable, Sendable, CaseIterable {
    case new, open, waiting, resolved, closed
}

/// Why a status changed, kept so the audit trail tells a handler's decision from an automatic move.
public enum StatusChangeReason: String, Codable, Sendable, CaseIterable {
    /// Someone asked for the change.
    case requested
    /// The outside party answered a `waiting` thread.
    case answeredByOutsideParty
    /// A new message reopened a `resolved` thread (settings allow it).
    case reopenedByMessage
    /// A handler's first action (taking the thread, or an answer) on a `new` thread opened it
    /// (schema version 2).
    case handlerAction
}

public enum MessageKind: String, Codable, Sendable, CaseIterable {
    case message, task
}

public enum MessageFormat: String, Codable, Sendable, CaseIterable {
    case plain, markdown
}

/// The business object a thread belongs to, such as `{contract, "C-2024-0042"}`.
public struct Subject: Codable, Sendable, Hashable {
    public var kind: String
    public var ref: String

    public init(kind: String, ref: String) {
        self.kind = kind
        self.ref = ref
    }
}

/// How many threads a subject kind may have; fixed by the outside contract.
public enum SubjectRule: Sendable, Hashable {
    /// One thread per subject: opening another returns the existing one.
    case onePerSubject
    /// The subject is a generated number with this prefix (`TT1`, `TT2`, …).
    case numbered(prefix: String)
    /// Any number of threads.
    case free

    /// Kinds not named by the outside contract are free.
    public init(kind: String) {
        self = Self.known[kind] ?? .free
    }

    static let known: [String: SubjectRule] = ["contract": .onePerSubject, "ticket": .numbered(prefix: "TT")]

    /// Subject kinds are lowercase words: they are part of stream names.
    public static func isValidKind(_ kind: String) -> Bool {
        (1...40).contains(kind.utf8.count)
            && kind.utf8.allSatisfy {
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || $0 == UInt8(ascii: "_")
            }
    }
}

/// Metadata of a file attached to a message; the bytes live in a blob store keyed by `sha256`.
public struct Attachment: Codable, Sendable, Hashable {
    public var name: String
    public var contentType: String
    public var size: Int64
    /// Lowercase hex SHA-256 of the bytes.
    public var sha256: String

    public init(name: String, contentType: String, size: Int64, sha256: String) {
        self.name = name
        self.contentType = contentType
        self.size = size
        self.sha256 = sha256
    }

    var isValid: Bool {
        !name.isEmpty && name.utf8.count <= 255 && !contentType.isEmpty && size >= 0
            && isSHA256Hex(sha256)
    }
}

/// 64 lowercase hex digits: how the domain keeps content and token digests.
public func isSHA256Hex(_ text: String) -> Bool {
    text.utf8.count == 64
        && text.utf8.allSatisfy {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
        }
}

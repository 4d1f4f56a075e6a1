import Foundation

/// Who issues a command. The admin token manages the directory; users act on threads.
public enum Actor: Sendable, Hashable {
    case admin
    case user(UserID)
    case service(ServiceID)

    /// The envelope's `actor` field: a user's id as is; the others carry an `@` that identifiers
    /// cannot contain, so they never collide with a user id.
    public var recordedValue: String {
        switch self {
        case .admin: "@admin"
        case .user(let id): id.rawValue
        case .service(let id): "@service:\(id.rawValue)"
        }
    }

    public init(recordedValue: String) {
        if recordedValue == "@admin" {
            self = .admin
        } else if recordedValue.hasPrefix("@service:") {
            self = .service(ServiceID(rawValue: String(recordedValue.dropFirst("@service:".count))))
        } else {
            self = .user(UserID(rawValue: recordedValue))
        }
    }
}

/// Everything a decision needs from the outside world, passed in so deciders stay pure and
/// repeatable: the clock, the acting principal and a freshly generated id.
public struct CommandContext: Sendable, Hashable {
    /// Milliseconds since 1970 (UTC), as the engine read its clock.
    public var now: Int64
    public var actor: Actor
    /// A fresh identifier for commands that create something without a caller-chosen id
    /// (a thread, a service principal); ignored by the others.
    public var newID: String

    public init(now: Int64, actor: Actor, newID: String = "") {
        self.now = now
        self.actor = actor
        self.newID = newID
    }
}

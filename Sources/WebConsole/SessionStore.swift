import Foundation
import Messaging
import Synchronization

/// A signed-in browser: the user it acts as, the token hash it signed in with (a replaced token ends
/// the session), the CSRF token its forms carry, and when it ends unless used again.
struct ConsoleSession: Sendable {
    var id: String
    var user: UserID
    var tokenHash: String
    var csrf: String
    var expires: Date
    /// Signed in with the admin token: `user` is then no user of the directory.
    var admin = false
}

/// Sessions kept in memory: a restart of the service signs everyone out. Ids are 256 random bits; a
/// session expires after `lifetime` without a request.
final class SessionStore: Sendable {
    private let sessions = Mutex<[String: ConsoleSession]>([:])
    let lifetime: TimeInterval
    private let now: @Sendable () -> Date

    init(lifetime: TimeInterval, now: @escaping @Sendable () -> Date = { Date() }) {
        self.lifetime = lifetime
        self.now = now
    }

    /// The live session with this id, its expiry pushed back; `nil` when unknown or expired.
    func session(_ id: String?) -> ConsoleSession? {
        guard let id, !id.isEmpty else { return nil }
        let now = now()
        return sessions.withLock { sessions in
            guard var session = sessions[id] else { return nil }
            guard session.expires > now else {
                sessions[id] = nil
                return nil
            }
            session.expires = now.addingTimeInterval(lifetime)
            sessions[id] = session
            return session
        }
    }

    func create(user: UserID, tokenHash: String, admin: Bool = false) -> ConsoleSession {
        let now = now()
        let session = ConsoleSession(
            id: Self.randomToken(), user: user, tokenHash: tokenHash, csrf: Self.randomToken(),
            expires: now.addingTimeInterval(lifetime), admin: admin)
        sessions.withLock { sessions in
            // Expired sessions are dropped as new ones come, so the table holds only live ones.
            if sessions.count >= 1024 { sessions = sessions.filter { $0.value.expires > now } }
            sessions[session.id] = session
        }
        return session
    }

    func remove(_ id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    var count: Int { sessions.withLock { $0.count } }

    /// 32 random bytes as 64 hex digits.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }
            .joined()
    }

    /// Compares two secrets in time that does not depend on where they differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        guard a.count == b.count, !a.isEmpty else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

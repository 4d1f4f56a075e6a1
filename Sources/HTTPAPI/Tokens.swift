import Crypto
import Engine
import Foundation
import Messaging
import Synchronization

/// Bearer tokens: random on creation, known to the service only by their SHA-256.
public enum Tokens {
    /// 32 random bytes as 64 hex digits.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return hex((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// Lowercase hex SHA-256 of the token's UTF-8 bytes: what the log and the admin-token file keep.
    public static func hash(_ token: String) -> String {
        var token = token
        return hex(token.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) })
    }

    /// Lowercase hex of the bytes (a digest, an array), written straight into the string.
    static func hex(_ bytes: some ContiguousBytes) -> String {
        bytes.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: bytes.count * 2) { out in
                let digits: StaticString = "0123456789abcdef"
                digits.withUTF8Buffer { digits in
                    for (index, byte) in bytes.enumerated() {
                        out[2 * index] = digits[Int(byte >> 4)]
                        out[2 * index + 1] = digits[Int(byte & 0xF)]
                    }
                }
                return bytes.count * 2
            }
        }
    }
}

/// Who is calling, as far as the route table cares.
struct Caller: Sendable {
    var role: CallerRole
    var actor: Actor?
    /// The hash of the bearer token: the key under which the caller's last write position is kept.
    var tokenHash: String?

    static let anonymous = Caller(role: .anyone, actor: nil, tokenHash: nil)

    var user: UserID? {
        if case .user(let id) = actor { return id }
        return nil
    }
}

/// Token hashes already resolved to their principal, valid while no token is replaced or revoked: a
/// change of the directory's token revision empties the cache, so an old token stops working at once.
/// Only unknown hashes go to the directory.
final class PrincipalCache: Sendable {
    private let known = Mutex<(revision: Int, actors: [String: Actor])>((0, [:]))
    private let capacity = 100_000

    func principal(_ hash: String, revision: Int, orLookUp lookUp: () throws -> Actor?) rethrows -> Actor? {
        let cached: Actor? = known.withLock { known in
            if known.revision != revision {
                known.actors.removeAll(keepingCapacity: true)
                known.revision = revision
            }
            return known.actors[hash]
        }
        if let cached { return cached }
        guard let actor = try lookUp() else { return nil }
        known.withLock { known in
            guard known.revision == revision else { return }
            if known.actors.count >= capacity { known.actors.removeAll(keepingCapacity: true) }
            known.actors[hash] = actor
        }
        return actor
    }
}

import Crypto
import Foundation
import Messaging

/// Per-recipient reply addresses: the configured template with `{token}` where the token names a
/// thread and a user and carries an HMAC-SHA256 under a key kept in the data directory. Verifying a
/// token needs nothing but the key: no table of issued addresses.
///
/// A token is base32 (lowercase, no padding) of `[form][thread][user][mac]`: the thread as its 16 UUID
/// bytes (form 1) or as UTF-8 text with a length byte (form 2), then the user id's UTF-8, then the first
/// 10 bytes (80 bits) of the HMAC over both ids. Mail local parts are compared case-insensitively in
/// practice, hence base32 rather than base64.
public struct ReplyAddresses: Sendable {
    /// The address template, e.g. `reply+{token}@threads.example.com`.
    public let template: String
    private let prefix: String
    private let suffix: String
    /// The key's bytes (`SymmetricKey` is not `Sendable`; one is made for each MAC).
    private let key: [UInt8]

    static let macLength = 10
    public static let keyFileName = "reply-key"

    /// `template` must hold `{token}` once, in the local part; the error says what the setting must be.
    public init(template: String, key: [UInt8]) throws {
        let parts = template.components(separatedBy: "{token}")
        guard parts.count == 2, let at = parts[1].firstIndex(of: "@"), !parts[1][parts[1].index(after: at)...].isEmpty,
            !parts[0].contains("@"), !template.contains(where: { $0 == " " || $0 == "<" || $0 == ">" })
        else {
            throw ReplyAddressError(
                "must be an address with {token} once in its local part, e.g. reply+{token}@threads.example.com"
            )
        }
        self.template = template
        self.prefix = parts[0].lowercased()
        self.suffix = parts[1].lowercased()
        self.key = key
    }

    /// The key in `DIR/reply-key`: 32 random bytes, made on first use with mode 0600. Two processes
    /// making it at once agree: the file is linked into place only if absent, and both read the winner.
    public static func loadKey(directory: String) throws -> [UInt8] {
        let path = directory + "/" + keyFileName
        if let existing = FileManager.default.contents(atPath: path) {
            guard existing.count == 32 else { throw ReplyAddressError("\(path) does not hold a 32-byte key") }
            return Array(existing)
        }
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        let temporary = path + ".\(getpid()).tmp"
        guard
            FileManager.default.createFile(
                atPath: temporary, contents: Data(fresh), attributes: [.posixPermissions: 0o600])
        else { throw ReplyAddressError("cannot write \(temporary)") }
        defer { unlink(temporary) }
        if link(temporary, path) != 0, errno != EEXIST {
            throw ReplyAddressError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        guard let stored = FileManager.default.contents(atPath: path), stored.count == 32 else {
            throw ReplyAddressError("\(path) does not hold a 32-byte key")
        }
        return Array(stored)
    }

    /// The reply address of `user` on `thread`.
    public func address(thread: ThreadID, user: UserID) -> String {
        let parts = template.components(separatedBy: "{token}")
        return parts[0] + token(thread: thread, user: user) + parts[1]
    }

    public func token(thread: ThreadID, user: UserID) -> String {
        var payload: [UInt8]
        if let uuid = UUID(uuidString: thread.rawValue), uuid.uuidString.lowercased() == thread.rawValue {
            payload = [1] + withUnsafeBytes(of: uuid.uuid, Array.init)
        } else {
            let text = Array(thread.rawValue.utf8.prefix(255))
            payload = [2, UInt8(text.count)] + text
        }
        payload += Array(user.rawValue.utf8)
        return Base32.encode(payload + mac(thread: thread, user: user))
    }

    /// The thread and user of a reply address, or `nil` when the address is not of the template's form or
    /// its token does not verify. Case is ignored.
    public func parse(address: String) -> (thread: ThreadID, user: UserID)? {
        var text = address.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("<"), text.hasSuffix(">") { text = String(text.dropFirst().dropLast()) }
        text = text.lowercased()
        guard text.count > prefix.count + suffix.count, text.hasPrefix(prefix), text.hasSuffix(suffix) else {
            return nil
        }
        let token = text.dropFirst(prefix.count).dropLast(suffix.count)
        return parse(token: String(token))
    }

    public func parse(token: String) -> (thread: ThreadID, user: UserID)? {
        guard token.count <= 200, let bytes = Base32.decode(token), bytes.count > Self.macLength + 2 else { return nil }
        let body = bytes.dropLast(Self.macLength)
        let thread: ThreadID
        let rest: ArraySlice<UInt8>
        switch body.first {
        case 1:
            guard body.count > 17 else { return nil }
            let raw = Array(body.dropFirst().prefix(16))
            let uuid = raw.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
            thread = ThreadID(rawValue: uuid.uuidString.lowercased())
            rest = body.dropFirst(17)
        case 2:
            guard body.count > 2 else { return nil }
            let length = Int(body[body.startIndex + 1])
            guard body.count > 2 + length else { return nil }
            guard let text = String(validating: body.dropFirst(2).prefix(length), as: UTF8.self) else { return nil }
            thread = ThreadID(rawValue: text)
            rest = body.dropFirst(2 + length)
        default:
            return nil
        }
        guard !rest.isEmpty, let userText = String(validating: rest, as: UTF8.self) else { return nil }
        let user = UserID(rawValue: userText)
        let expected = mac(thread: thread, user: user)
        // Compared in constant time, so timing tells nothing about a forged token's closeness.
        let given = Array(bytes.suffix(Self.macLength))
        guard zip(expected, given).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { return nil }
        return (thread, user)
    }

    private func mac(thread: ThreadID, user: UserID) -> [UInt8] {
        var message = Array("threadlog-reply\0".utf8)
        message += Array(thread.rawValue.utf8) + [0] + Array(user.rawValue.utf8)
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))).prefix(
            Self.macLength
        ).map { $0 }
    }
}

public struct ReplyAddressError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// RFC 4648 base32 in lowercase without padding.
enum Base32 {
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer = 0
        var bits = 0
        for character in text.utf8 {
            let value: Int
            switch character {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = Int(character - UInt8(ascii: "a"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = Int(character - UInt8(ascii: "A"))
            case UInt8(ascii: "2")...UInt8(ascii: "7"): value = Int(character - UInt8(ascii: "2")) + 26
            default: return nil
            }
            buffer = ((buffer << 5) | value) & 0xFFFF
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> (bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return out
    }
}

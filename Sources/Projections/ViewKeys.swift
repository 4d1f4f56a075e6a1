import Messaging

/// Key layouts of the view tables. Ids never contain a 0 byte, so 0 separates the parts.
public enum ViewKeys {
    public static func thread(_ id: ThreadID) -> [UInt8] { Array(id.rawValue.utf8) }

    public static func userPrefix(_ user: UserID) -> [UInt8] { Array(user.rawValue.utf8) + [0] }

    public static func pair(_ first: String, _ second: String) -> [UInt8] {
        Array(first.utf8) + [0] + Array(second.utf8)
    }

    /// Newest first: the activity time is stored inverted so ascending key order is descending time.
    public static func inbox(user: UserID, activityMillis: Int64, thread: ThreadID) -> [UInt8] {
        var key = userPrefix(user)
        let inverted = UInt64.max - UInt64(max(activityMillis, 0))
        withUnsafeBytes(of: inverted.bigEndian) { key.append(contentsOf: $0) }
        key.append(contentsOf: thread.rawValue.utf8)
        return key
    }

    /// Messages of a thread sort by number under the thread's prefix.
    public static func message(thread: ThreadID, number: Int) -> [UInt8] {
        var key = threadPrefix(thread)
        withUnsafeBytes(of: UInt32(clamping: number).bigEndian) { key.append(contentsOf: $0) }
        return key
    }

    public static func threadPrefix(_ thread: ThreadID) -> [UInt8] { Array(thread.rawValue.utf8) + [0] }

    public static func unread(user: UserID, thread: ThreadID) -> [UInt8] {
        pair(user.rawValue, thread.rawValue)
    }

    /// The part of a key after the first 0 byte, as a string (the thread id of the pair keys).
    public static func secondPart(_ key: UnsafeRawBufferPointer) -> String {
        guard let zero = key.firstIndex(of: 0) else { return "" }
        return String(decoding: UnsafeRawBufferPointer(rebasing: key[(zero + 1)...]), as: UTF8.self)
    }

    public static func encodeCount(_ count: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt32(clamping: count).bigEndian) { Array($0) }
    }

    public static func decodeCount(_ bytes: UnsafeRawBufferPointer) -> Int {
        bytes.count == 4 ? Int(UInt32(bigEndian: bytes.loadUnaligned(as: UInt32.self))) : 0
    }
}

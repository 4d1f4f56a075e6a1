import CLMDB
import Foundation
import Synchronization

// Everything that touches LMDB's C API lives in this file; nothing here is public.

/// The one funnel for LMDB return codes.
@inline(__always)
func lmdbCheck(_ rc: Int32, _ what: @autoclosure () -> String) throws(LMDBFailure) {
    if rc != 0 { throw LMDBFailure(rc: rc, operation: what()) }
}

/// A raw LMDB failure; converted to `EventLogError` before it leaves the module.
struct LMDBFailure: Error, CustomStringConvertible {
    var rc: Int32
    var operation: String
    /// Said instead of LMDB's text for the code, when the failure is found outside LMDB.
    var detail: String? = nil

    var isMapFull: Bool { rc == MDB_MAP_FULL || rc == MDB_TXN_FULL }
    /// The file system refused to grow the file. LMDB reports a write cut short by a full disk as EIO,
    /// so an EIO counts as full when the file system has next to nothing left.
    func isDiskFull(path: String) -> Bool {
        if rc == ENOSPC || rc == EDQUOT { return true }
        return rc == EIO && (availableBytes(path) ?? Int.max) < 1 << 20
    }
    var isMapResized: Bool { rc == MDB_MAP_RESIZED }
    /// LMDB found a page it cannot use, or a value it answered lies outside the file.
    var isDamage: Bool { rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND }

    var description: String {
        if let detail { return "\(operation): \(detail)" }
        let text = mdb_strerror(rc).map { String(cString: $0) } ?? "error \(rc)"
        return "\(operation): \(text)"
    }
}

/// Names a database (table) inside an environment.
struct LMDBDatabase: Sendable, Hashable {
    fileprivate let dbi: MDB_dbi
}

/// One LMDB environment. Write transactions are only begun by the owner's writer thread; read
/// transactions may run on any thread because the environment is opened with `MDB_NOTLS`.
///
/// `@unchecked Sendable`: the handle is thread-safe under LMDB's rules above, and the map size is only
/// changed while `resizeLock` is held exclusively, so no transaction is open in this process then.
final class LMDBEnvironment: @unchecked Sendable {
    private let env: OpaquePointer
    private var resizeLock = pthread_rwlock_t()
    let readOnly: Bool
    let path: String
    /// Where the file is mapped; changes only when the map is resized (under `resizeLock`).
    private let mapping: Mutex<MapRange>
    private let pageSize: Int

    /// Opens (and for writers creates) the environment in the directory `path`.
    /// `durableMeta: false` (the views) syncs once per commit instead of twice: a power loss may undo the
    /// last commit but never breaks the environment (LMDB's `MDB_NOMETASYNC`).
    init(path: String, readOnly: Bool, mapSize: Int, maxDatabases: UInt32, durableMeta: Bool = true) throws(LMDBFailure) {
        var handle: OpaquePointer?
        try lmdbCheck(mdb_env_create(&handle), "mdb_env_create")
        guard let handle else { throw LMDBFailure(rc: EINVAL, operation: "mdb_env_create") }
        do {
            try lmdbCheck(mdb_env_set_maxdbs(handle, maxDatabases), "mdb_env_set_maxdbs")
            try lmdbCheck(mdb_env_set_maxreaders(handle, 512), "mdb_env_set_maxreaders")
            if !readOnly { try lmdbCheck(mdb_env_set_mapsize(handle, mapSize), "mdb_env_set_mapsize") }
            var flags = UInt32(MDB_NOTLS)
            if readOnly { flags |= UInt32(MDB_RDONLY) }
            if !durableMeta { flags |= UInt32(MDB_NOMETASYNC) }
            try lmdbCheck(mdb_env_open(handle, path, flags, 0o644), "mdb_env_open \(path)")
        } catch {
            // A failed open still owns the handle: release it before reporting.
            mdb_env_close(handle)
            throw error
        }
        var stat = MDB_stat()
        mdb_env_stat(handle, &stat)
        self.env = handle
        self.readOnly = readOnly
        self.path = path
        self.pageSize = Int(stat.ms_psize)
        let mapped = MapRange.find(env: handle)
        self.mapping = Mutex(mapped)
        pthread_rwlock_init(&resizeLock, nil)
        DamagedFileGuard.register(mapped)
    }

    deinit {
        DamagedFileGuard.unregister(mapping.withLock { $0 })
        mdb_env_close(env)
        pthread_rwlock_destroy(&resizeLock)
    }

    /// Looks up the map again after LMDB replaced it (a resize).
    private func remapped() {
        let fresh = MapRange.find(env: env)
        let old = mapping.withLock { mapping in
            defer { mapping = fresh }
            return mapping
        }
        DamagedFileGuard.unregister(old)
        DamagedFileGuard.register(fresh)
    }

    /// The bytes a transaction may be shown. A read sees committed pages only: the mapped file up to
    /// the last used page. A write may also read back pages it spilled to the file beyond that, so it
    /// is only held to the map (a value past the file's end there is left to `DamagedFileGuard`).
    private func bounds(readOnly: Bool) -> ValueBounds {
        let mapping = self.mapping.withLock { $0 }
        var usedEnd = mapping.end
        if readOnly {
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            let used = (Int(info.me_last_pgno) + 1) * pageSize
            usedEnd = min(mapping.end, mapping.start &+ UInt(max(0, used)))
        }
        return ValueBounds(
            start: mapping.start, end: mapping.end, usedEnd: usedEnd, known: mapping.end > mapping.start,
            readOnly: readOnly)
    }

    var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    /// Writes a compacted copy of the environment (live pages only, free pages left out) into the
    /// directory `path`, and flushes it to disk.
    func copyCompacted(to path: String) throws {
        try lmdbCheck(mdb_env_copy2(env, path, UInt32(MDB_CP_COMPACT)), "mdb_env_copy2 \(path)")
        let fd = open(path + "/data.mdb", O_RDONLY)
        guard fd >= 0 else { throw LMDBFailure(rc: errno, operation: "open \(path)/data.mdb") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw LMDBFailure(rc: errno, operation: "fsync \(path)/data.mdb") }
    }

    /// Grows the memory map. Waits until no transaction of this process is open.
    func setMapSize(_ size: Int) throws(LMDBFailure) {
        pthread_rwlock_wrlock(&resizeLock)
        defer { pthread_rwlock_unlock(&resizeLock) }
        defer { remapped() }
        try lmdbCheck(mdb_env_set_mapsize(env, size), "mdb_env_set_mapsize")
    }

    /// Opens a named database (`nil`: the main table, which lists the named ones); `create` only in a
    /// writable environment.
    func openDatabase(_ name: String?, create: Bool) throws -> LMDBDatabase {
        // Committed even when read-only: an aborted transaction would close the new handle.
        try withTransaction(readOnly: !create, commit: true) { (txn: borrowing LMDBTransaction) in
            var dbi = MDB_dbi()
            try lmdbCheck(mdb_dbi_open(txn.handle, name, create ? UInt32(MDB_CREATE) : 0, &dbi), "open table \(name ?? "main")")
            return LMDBDatabase(dbi: dbi)
        }
    }

    /// A short read transaction; the bytes it shows are valid only inside `body`.
    func read<R>(_ body: (borrowing LMDBTransaction) throws -> R) throws -> R {
        try withTransaction(readOnly: true, commit: false, body)
    }

    /// A short read transaction, handed to `body` inside the wrapper `wrap` makes of it.
    func read<Wrapper: ~Copyable, R>(
        wrappedIn wrap: (consuming LMDBTransaction) -> Wrapper, _ body: (borrowing Wrapper) throws -> R
    ) throws -> R {
        try withTransaction(readOnly: true, commit: false, wrappedIn: wrap, body)
    }

    /// Opens tables by name in one transaction of their own, so that later transactions only use handles
    /// that already reside in the environment (LMDB forbids opening one table from concurrent transactions).
    func openDatabases(_ names: [String], create: Bool) throws -> [String: LMDBDatabase] {
        try withTransaction(readOnly: !create, commit: true) { (txn: borrowing LMDBTransaction) in
            var opened: [String: LMDBDatabase] = [:]
            for name in names {
                var dbi = MDB_dbi()
                let rc = mdb_dbi_open(txn.handle, name, create ? UInt32(MDB_CREATE) : 0, &dbi)
                if rc == MDB_NOTFOUND { continue }
                try lmdbCheck(rc, "open table \(name)")
                opened[name] = LMDBDatabase(dbi: dbi)
            }
            return opened
        }
    }

    /// A write transaction, committed when `body` returns and aborted when it throws.
    /// Must be called on the writer thread only (LMDB binds write transactions to a thread).
    func write<R>(_ body: (borrowing LMDBTransaction) throws -> R) throws -> R {
        try withTransaction(readOnly: false, commit: true, body)
    }

    /// A write transaction as `write(_:)`, handed to `body` inside the wrapper `wrap` makes of it.
    func write<Wrapper: ~Copyable, R>(
        wrappedIn wrap: (consuming LMDBTransaction) -> Wrapper, _ body: (borrowing Wrapper) throws -> R
    ) throws -> R {
        try withTransaction(readOnly: false, commit: true, wrappedIn: wrap, body)
    }

    private func withTransaction<R>(
        readOnly: Bool, commit: Bool, _ body: (borrowing LMDBTransaction) throws -> R
    ) throws -> R {
        try withTransaction(readOnly: readOnly, commit: commit, wrappedIn: { $0 }, body)
    }

    /// The one place that decides commit or abort. The transaction reaches `body` only borrowed, inside
    /// the wrapper `wrap` makes of it (which takes it over), so neither can outlive this call.
    private func withTransaction<Wrapper: ~Copyable, R>(
        readOnly: Bool, commit: Bool, wrappedIn wrap: (consuming LMDBTransaction) -> Wrapper,
        _ body: (borrowing Wrapper) throws -> R
    ) throws -> R {
        pthread_rwlock_rdlock(&resizeLock)
        defer { pthread_rwlock_unlock(&resizeLock) }
        var raw: OpaquePointer?
        var rc = mdb_txn_begin(env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &raw)
        if rc == MDB_MAP_RESIZED {
            // Another process grew the map: adopt its size (no transaction of ours is open now).
            try lmdbCheck(mdb_env_set_mapsize(env, 0), "mdb_env_set_mapsize")
            remapped()
            rc = mdb_txn_begin(env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &raw)
        }
        try lmdbCheck(rc, "mdb_txn_begin")
        guard let raw else { throw LMDBFailure(rc: EINVAL, operation: "mdb_txn_begin") }
        let txn = wrap(LMDBTransaction(handle: raw, bounds: bounds(readOnly: readOnly)))
        let result: R
        do {
            result = try body(txn)
        } catch {
            mdb_txn_abort(raw)
            throw error
        }
        if commit {
            try lmdbCheck(mdb_txn_commit(raw), "mdb_txn_commit")
        } else {
            mdb_txn_abort(raw)
        }
        return result
    }
}

/// A transaction handle that cannot be copied out of the closure that received it. The bytes it shows
/// are lent to closures only.
struct LMDBTransaction: ~Copyable {
    fileprivate let handle: OpaquePointer
    fileprivate let bounds: ValueBounds

    fileprivate init(handle: OpaquePointer, bounds: ValueBounds) {
        self.handle = handle
        self.bounds = bounds
    }

    /// Calls `body` with the value stored under `key` (`nil` when absent); the bytes are valid only
    /// during the call.
    func get<R>(_ db: LMDBDatabase, _ key: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        let value = try key.withUnsafeBytes { (key) throws -> MDB_val? in
            var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
            var v = MDB_val()
            let rc = mdb_get(handle, db.dbi, &k, &v)
            if rc == MDB_NOTFOUND { return nil }
            try lmdbCheck(rc, "mdb_get")
            return v
        }
        return try body(try value.map { value throws in try bounds.check(value) })
    }

    /// A copy of the value stored under `key`; `nil` when absent.
    func get(_ db: LMDBDatabase, _ key: [UInt8]) throws -> [UInt8]? {
        try get(db, key) { bytes in bytes.map(Array.init) }
    }

    /// Stores `value` under `key`. `append` promises that `key` sorts after every key of the table.
    func put(_ db: LMDBDatabase, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, append: Bool = false) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try lmdbCheck(mdb_put(handle, db.dbi, &k, &v, append ? UInt32(MDB_APPEND) : 0), "mdb_put")
    }

    func put(_ db: LMDBDatabase, _ key: [UInt8], _ value: [UInt8], append: Bool = false) throws {
        try key.withUnsafeBytes { (k) throws in
            try value.withUnsafeBytes { (v) throws in try put(db, k, v, append: append) }
        }
    }

    /// Walks the table in key order from the first key ≥ `start` (or from the first key when `nil`),
    /// until `body` returns false.
    func scan(
        _ db: LMDBDatabase, from start: [UInt8]?,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        var cursor: OpaquePointer?
        try lmdbCheck(mdb_cursor_open(handle, db.dbi, &cursor), "mdb_cursor_open")
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val()
        var v = MDB_val()
        var rc: Int32
        if let start, !start.isEmpty {
            rc = start.withUnsafeBytes { buffer in
                k = MDB_val(mv_size: buffer.count, mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
                return mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
            }
        } else {
            rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
        }
        while rc == 0 {
            let key = try bounds.check(k)
            let value = try bounds.check(v)
            if try !body(key, value) { return }
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
        }
        if rc != MDB_NOTFOUND { try lmdbCheck(rc, "mdb_cursor_get") }
    }

    /// The last key and value of the table, `nil` when it is empty.
    func last<R>(_ db: LMDBDatabase, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> R) throws -> R? {
        var cursor: OpaquePointer?
        try lmdbCheck(mdb_cursor_open(handle, db.dbi, &cursor), "mdb_cursor_open")
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val()
        var v = MDB_val()
        let rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST)
        if rc == MDB_NOTFOUND { return nil }
        try lmdbCheck(rc, "mdb_cursor_get")
        return try body(try bounds.check(k), try bounds.check(v))
    }

    func delete(_ db: LMDBDatabase, _ key: [UInt8]) throws {
        try key.withUnsafeBytes { buffer in
            var k = MDB_val(mv_size: buffer.count, mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
            let rc = mdb_del(handle, db.dbi, &k, nil)
            if rc != MDB_NOTFOUND { try lmdbCheck(rc, "mdb_del") }
        }
    }

    /// Removes every entry of the table (the table itself stays).
    func empty(_ db: LMDBDatabase) throws {
        try lmdbCheck(mdb_drop(handle, db.dbi, 0), "mdb_drop")
    }

    /// Number of entries in the table.
    func count(_ db: LMDBDatabase) throws -> Int {
        var stat = MDB_stat()
        try lmdbCheck(mdb_stat(handle, db.dbi, &stat), "mdb_stat")
        return stat.ms_entries
    }
}

/// A transaction belongs to the thread and the closure that began it.
@available(*, unavailable)
extension LMDBTransaction: Sendable {}

/// What LMDB may hand a transaction: bytes inside the mapped file's used pages, or (in a write
/// transaction) pages of its own outside the map. A damaged page can make LMDB answer a value whose
/// offset or length points past the file; touching it would end the process with SIGBUS or SIGSEGV.
struct ValueBounds {
    let start: UInt
    let end: UInt
    let usedEnd: UInt
    /// False when the map could not be found (no /proc): values are then trusted as before.
    let known: Bool
    let readOnly: Bool

    /// The one funnel every `MDB_val` from LMDB passes before it is read.
    @inline(__always)
    func check(_ value: MDB_val) throws(LMDBFailure) -> UnsafeRawBufferPointer {
        let buffer = UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
        guard known, value.mv_size > 0 else { return buffer }
        let address = UInt(bitPattern: value.mv_data)
        if address >= start && address < end {
            let (last, overflow) = address.addingReportingOverflow(UInt(value.mv_size))
            if !overflow && last <= usedEnd { return buffer }
        } else if !readOnly {
            // A page this write transaction changed lives in memory of its own, outside the map.
            return buffer
        }
        throw LMDBFailure(
            rc: MDB_CORRUPTED, operation: "a page points outside the file",
            detail: "\(value.mv_size) bytes at offset \(Int(bitPattern: address &- start)) of a file of \(usedEnd - start) bytes")
    }
}

/// The address range of an environment's memory map, found in /proc/self/maps by the file's device
/// and inode (LMDB does not tell where it mapped the file).
struct MapRange: Equatable {
    var start: UInt
    var end: UInt

    static let unknown = MapRange(start: 0, end: 0)

    static func find(env: OpaquePointer) -> MapRange {
        var fd: Int32 = -1
        guard mdb_env_get_fd(env, &fd) == 0, fd >= 0 else { return .unknown }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .unknown }
        var envInfo = MDB_envinfo()
        mdb_env_info(env, &envInfo)
        let dev = UInt64(info.st_dev)
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff)
        let minor = (dev & 0xff) | ((dev >> 12) & ~0xff)
        let device = String(major, radix: 16) + ":" + String(minor, radix: 16)
        let inode = String(info.st_ino)
        guard let maps = readProcFile("/proc/self/maps") else { return .unknown }
        var found: [MapRange] = []
        for line in maps.split(separator: "\n") {
            // start-end perms offset dev inode path
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, fields[4] == inode, Self.sameDevice(fields[3], device),
                fields[2].allSatisfy({ $0 == "0" }), !fields[5].hasSuffix("(deleted)")
            else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16),
                end - start == (UInt(envInfo.me_mapsize) + 4095) & ~4095
            else { continue }
            found.append(MapRange(start: start, end: end))
        }
        // Anything but one clear match (a deleted file's inode reused while its map lingers, say) leaves
        // the values unchecked rather than refused for a wrong range.
        return found.count == 1 ? found[0] : .unknown
    }

    /// /proc writes the device as two-digit hex at least ("fd:01"), the computed form may be shorter.
    private static func sameDevice(_ field: Substring, _ device: String) -> Bool {
        let parts = field.split(separator: ":")
        let mine = device.split(separator: ":")
        guard parts.count == 2, mine.count == 2 else { return false }
        return UInt(parts[0], radix: 16) == UInt(mine[0], radix: 16) && UInt(parts[1], radix: 16) == UInt(mine[1], radix: 16)
    }
}

/// The whole text of a /proc file (they report a size of 0, so it is read until the end).
func readProcFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Bytes an unprivileged writer may still use on the file system holding `path`; `nil` when unknown.
func availableBytes(_ path: String) -> Int? {
    var info = statvfs()
    guard statvfs(path, &info) == 0 else { return nil }
    return Int(info.f_bavail) * Int(info.f_frsize)
}

/// The size of the file system holding `path`; `nil` when unknown.
func fileSystemBytes(_ path: String) -> Int? {
    var info = statvfs()
    guard statvfs(path, &info) == 0 else { return nil }
    return Int(info.f_blocks) * Int(info.f_frsize)
}

/// Errors from LMDB that mean "this file is not an LMDB environment we can read".
func isForeignFileError(_ failure: LMDBFailure) -> Bool {
    failure.rc == MDB_INVALID || failure.rc == MDB_VERSION_MISMATCH
}

func isNotFound(_ failure: LMDBFailure) -> Bool { failure.rc == MDB_NOTFOUND }

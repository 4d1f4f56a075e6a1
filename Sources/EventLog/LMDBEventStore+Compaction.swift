import Foundation

extension LMDBEventStore {
    /// Rewrites the log into a compacted copy (free pages, which may still hold erased bytes, are left
    /// out) and swaps it in. Appends wait meanwhile; readers finish on the old copy, whose files are
    /// then deleted. Interrupted at any point, the next open completes or undoes the swap. Returns false,
    /// changing nothing, while another process has the log open (it would go on using the old files).
    @discardableResult
    public func compact() throws -> Bool {
        guard !env.readOnly else { throw EventLogError(.readOnly, "the event log at \(path) is open read-only") }
        guard let processLock else { return false }
        return try processLock.whileAlone { try swapLock.withWriteLock {
            let old = try replaceWithCompactedCopy(env, at: path)
            let replacement = try mapFailure {
                try LMDBEnvironment(path: path, readOnly: false, mapSize: max(options.initialMapSize, env.mapSize), maxDatabases: 8)
            }
            let reopened = try Self.openTables(replacement, directory: path, readOnly: false)
            guard reopened == (events, streams, commands, meta) else {
                throw EventLogError(.storage, "the compacted log at \(path) opened its tables differently; restart the service")
            }
            envRef.withLock { $0 = replacement }
            try? FileManager.default.removeItem(atPath: old)
            logger.info("event log compacted", metadata: ["path": "\(path)"])
        } }
    }

    /// Finishes or undoes a compaction that a crash interrupted: the copy is complete before any rename.
    static func recoverInterruptedCompaction(_ path: String) throws {
        let fm = FileManager.default
        let fresh = path + ".compact"
        let old = path + ".old"
        if !fm.fileExists(atPath: path) {
            if fm.fileExists(atPath: fresh + "/data.mdb") {
                try fm.moveItem(atPath: fresh, toPath: path)
            } else if fm.fileExists(atPath: old) {
                try fm.moveItem(atPath: old, toPath: path)
            }
        }
        try? fm.removeItem(atPath: fresh)
        try? fm.removeItem(atPath: old)
    }
}

/// Writes a compacted copy of `env` beside `path` and renames it into place; returns where the old
/// files went (delete them once the new environment is open). A crash at any point is undone or completed
/// by `LMDBEventStore.recoverInterruptedCompaction` on the next open: the copy is complete before any rename.
func replaceWithCompactedCopy(_ env: LMDBEnvironment, at path: String) throws -> String {
    let fm = FileManager.default
    let fresh = path + ".compact"
    let old = path + ".old"
    try? fm.removeItem(atPath: fresh)
    try? fm.removeItem(atPath: old)
    do {
        try fm.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        try mapFailure { try env.copyCompacted(to: fresh) }
        try fm.moveItem(atPath: path, toPath: old)
        try fm.moveItem(atPath: fresh, toPath: path)
        syncDirectory((path as NSString).deletingLastPathComponent)
    } catch let error as EventLogError {
        throw error
    } catch {
        throw EventLogError(.storage, "cannot compact \(path): \(error.localizedDescription)")
    }
    return old
}

/// Makes renames inside `directory` durable.
func syncDirectory(_ directory: String) {
    let fd = open(directory.isEmpty ? "." : directory, O_RDONLY)
    guard fd >= 0 else { return }
    fsync(fd)
    close(fd)
}

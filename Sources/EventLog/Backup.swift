import Foundation

extension LMDBEventStore {
    /// Writes a consistent copy of the log, as of one moment, into the empty or absent directory
    /// `path` (LMDB's copy inside one read transaction: appends go on meanwhile) and answers the last
    /// position it holds.
    public func backup(to path: String) throws -> UInt64 {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try mapFailure { try env.copyCompacted(to: path) }
        let copy = try LMDBEventStore.openReadOnly(directory: path, logger: logger)
        defer { copy.close() }
        return try copy.lastPosition()
    }
}

extension ViewStore {
    /// Writes a consistent copy of the views, as of one moment, into the empty or absent directory `path`.
    public func backup(to path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        do {
            try env.copyCompacted(to: path)
        } catch let failure as LMDBFailure {
            throw EventLogError(.storage, "cannot copy the views to \(path): \(failure)")
        }
    }
}

import Foundation

/// Options of an LMDB-backed log.
public struct EventLogOptions: Sendable {
    /// The memory map's first size; it grows by doubling whenever a commit needs more.
    public var initialMapSize: Int = 256 << 20
    /// Most events one group commit takes; a single larger append still commits alone.
    public var maxGroupEvents: Int = 8192
    /// How long the writer gathers appends for its next commit while the log is busy (at least
    /// `Committer.busyAppends` appends arrived during the previous commit); zero commits at once.
    /// Fewer, larger commits cost far less per append (each commit writes pages and waits for two
    /// flushes); a quiet log is never delayed.
    public var gatherDelay: Duration = .milliseconds(1)
    /// Appends are refused (`storageFull`) while the file system holding the log has less than this
    /// free, so that the read models and the outbox beside it can still write what the log already
    /// holds. `nil`: 1/64 of the file system, at least 256 KiB and at most 64 MiB; 0: no reserve.
    public var diskReserve: Int? = nil

    public init(
        initialMapSize: Int = 256 << 20, maxGroupEvents: Int = 8192, gatherDelay: Duration = .milliseconds(1),
        diskReserve: Int? = nil
    ) {
        self.initialMapSize = initialMapSize
        self.maxGroupEvents = maxGroupEvents
        self.gatherDelay = gatherDelay
        self.diskReserve = diskReserve
    }

    /// The reserve in bytes for a log at `path`.
    func reserve(at path: String) -> Int {
        if let diskReserve { return max(0, diskReserve) }
        guard let size = fileSystemBytes(path) else { return 0 }
        return min(max(size / 64, 256 << 10), 64 << 20)
    }
}

import Foundation

/// The layout of a Threadlog data directory: `log/` holds the event log, the other stores sit beside it.
public struct DataDirectory: Sendable, Hashable {
    public let root: String

    public var log: String { root + "/log" }
    public var views: String { root + "/views" }
    public var blobs: String { root + "/blobs" }

    /// Where a blob's bytes live: `blobs/ab/cdef…` for SHA-256 `abcdef…`.
    public func blobPath(sha256: String) -> String {
        blobs + "/" + String(sha256.prefix(2)) + "/" + String(sha256.dropFirst(2))
    }

    /// The layout under `root`, checking nothing (a directory about to be written, such as a backup's).
    public init(unchecked root: String) {
        self.root = root
    }

    /// Checks (and with `create`, makes) a data directory. A directory that holds other files but no
    /// Threadlog log is refused rather than written into.
    public init(_ root: String, create: Bool) throws {
        self.root = root
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir) else {
            guard create else { throw EventLogError(.missing, "no Threadlog data directory at \(root)") }
            do {
                try fm.createDirectory(atPath: log, withIntermediateDirectories: true)
            } catch {
                throw EventLogError(.storage, "cannot create \(root): \(error.localizedDescription)")
            }
            return
        }
        guard isDir.boolValue else { throw EventLogError(.foreign, "\(root) is a file, not a Threadlog data directory") }
        if fm.fileExists(atPath: log + "/data.mdb") { return }
        let contents = (try? fm.contentsOfDirectory(atPath: root)) ?? []
        // `serve.lock` may precede the log: a service that stopped before creating it left the lock file.
        let foreign = contents.filter { $0 != "log" && $0 != "serve.lock" && !$0.hasPrefix(".") }
        guard foreign.isEmpty else {
            throw EventLogError(.foreign, "\(root) is not a Threadlog data directory (it holds other files and no log)")
        }
        guard create else { throw EventLogError(.missing, "no Threadlog event log in \(root)") }
    }
}

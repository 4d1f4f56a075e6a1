import ArgumentParser
import Engine
import EventLog
import Foundation

/// The log on PostgreSQL instead of a data directory's: `--store URL` or `THREADLOG_STORE_URL`.
struct StoreOptions: ParsableArguments {
    @Option(
        help: "A log on PostgreSQL, e.g. postgresql://user@127.0.0.1:5432/threadlog (default: $THREADLOG_STORE_URL; without: the log of --data).")
    var store: String?

    /// The store URL in effect: `--store`, else `THREADLOG_STORE_URL` unless `--data` is given.
    func url(data: DataOptions) -> String? {
        if let store { return store }
        guard data.data == nil, let text = ProcessInfo.processInfo.environment["THREADLOG_STORE_URL"], !text.isEmpty
        else { return nil }
        return text
    }

    /// For the commands that keep views in `--data` beside a log elsewhere (`serve`, `project`): `--store`,
    /// else `THREADLOG_STORE_URL`.
    var urlBesideData: String? {
        store ?? ProcessInfo.processInfo.environment["THREADLOG_STORE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The data directory of a node whose log is elsewhere: its views, blobs and admin token, no log.
    /// Without `create`, a directory without views (a node that never served) is a fault that says how
    /// to make them.
    static func nodeDirectory(_ root: String, create: Bool) throws -> DataDirectory {
        if FileManager.default.fileExists(atPath: root + "/views/data.mdb") { return DataDirectory(unchecked: root) }
        guard create else {
            throw ToolFailure(
                "no views in \(root): run `threadlog project rebuild --all --store URL --data \(root)` or start `serve` there first")
        }
        return try DataDirectory(root, create: create)
    }

    func validate(data: DataOptions) throws {
        if store != nil && data.data != nil { throw ValidationError("give either --data or --store, not both") }
    }

    /// The log of a node that keeps its views in `--data` (`project`, `retention`): on PostgreSQL with a
    /// store URL (`urlBesideData`), else the data directory's LMDB log, read-only unless `writable`. A
    /// missing log, a bad URL or an unreachable server is a fault.
    func openLogBesideData(_ data: DataOptions, writable: Bool) throws -> any ErasableLog {
        if let url = urlBesideData { return try Backends.sharedLog(url: url, create: false) }
        return try Backends.localLog(DataDirectory(data.directory, create: false), writable: writable)
    }

    /// A node's log, data directory and views: with a store URL, the log on PostgreSQL and the views of
    /// the node's directory (which holds no log; made, with empty views, when `createViews`); else the
    /// data directory's own log and views.
    func openNode(_ data: DataOptions, writable: Bool, createViews: Bool = false) throws -> Node {
        let directory =
            urlBesideData == nil
            ? try DataDirectory(data.directory, create: false)
            : try Self.nodeDirectory(data.directory, create: createViews)
        let log = try openLogBesideData(data, writable: writable)
        do {
            let views = try ViewStore.open(directory: directory.views)
            return Node(log: log, data: directory, views: views, models: ReadModels(log: log, views: views))
        } catch {
            log.close()
            throw error
        }
    }

    /// The PostgreSQL log when one is named, else the data directory's (read-only). A missing log, a bad
    /// URL or an unreachable server is a fault.
    func openLog(data: DataOptions) throws -> any EventStore {
        guard let url = url(data: data) else { return try data.openLog() }
        return try Backends.sharedLog(url: url, create: false)
    }
}

/// What `StoreOptions.openNode` opens; the caller closes `log`.
struct Node {
    let log: any ErasableLog
    let data: DataDirectory
    let views: ViewStore
    let models: ReadModels
}

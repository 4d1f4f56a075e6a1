import EventLog

extension SerialThread {
    /// The nice value a catch-up thread adds to the process's own.
    static let catchUpNiceness: Int32 = 10

    /// A thread of its own for a projector's catch-up, named `name`. A catch-up runs LMDB transactions
    /// and folds for as long as the log grows, which would hold one of the few threads that serve
    /// requests; on its own thread it takes turns with them through the kernel's scheduler instead.
    ///
    /// The thread runs at a lower priority (a higher nice value) than the request threads: when the
    /// machine is saturated, answering writes comes first and the projector catches up in larger
    /// batches, which cost less per event. When there is spare CPU the priority changes nothing.
    static func catchUp(_ name: String) -> SerialThread {
        SerialThread(name: name, niceness: catchUpNiceness)
    }
}

extension ReadModels {
    /// `catchUp()` for async callers (retention, digests), on a catch-up thread of its own: its batches
    /// wait for the view store's writer lane there, not on a thread of the cooperative pool.
    func catchUpOffPool() async throws {
        _ = try await SerialThread.catchUp("threadlog.catch").run { try self.catchUp() }
    }
}

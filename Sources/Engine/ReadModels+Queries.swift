import EventLog
import Foundation
import Messaging
import Projections

extension ReadModels: ReadQueries {
    /// Reads the current generation's rows; retries once when a rebuild swapped generations in between.
    func withCurrentTables<R>(_ body: (TableNames, borrowing ViewTransaction) throws -> R) throws -> R {
        try preparePointersIfNeeded()
        // One read transaction: the pointers it sees name the tables it reads. Tables not opened yet
        // (a rebuild's new generation) are opened outside it, then the read starts over.
        for _ in 0..<3 {
            var missing: [String] = []
            let result: R? = try views.read { txn in
                let names = TableNames(try pointers(txn))
                missing = names.all.filter { !txn.hasTable($0) }
                guard missing.isEmpty else { return nil }
                return try body(names, txn)
            }
            if let result { return result }
            try views.prepare(tables: missing)
        }
        throw ViewsLagging(wanted: position, reached: position)
    }

    private func preparePointersIfNeeded() throws {
        try views.prepare(tables: [Self.pointersTable])
    }

    var directory: Directory { publishedDirectory }

    func threadState(_ id: ThreadID) throws -> ThreadState? {
        try withCurrentTables { tables, txn in
            try readThread(id, tables: tables, txn)
        }
    }

    public func threadView(_ id: ThreadID, reader: UserID, window: MessageWindow?, minPosition: UInt64) async throws
        -> ThreadView
    {
        try await wait(for: minPosition)
        let directory = self.directory
        guard let state = try threadState(id), Access.canRead(reader, state, directory) else {
            throw DomainError.threadNotFound(id)
        }
        guard !state.isPurged else { throw DomainError.threadPurged(id) }
        return ThreadView(state, for: reader, in: directory, window: window)
    }

    public func inbox(_ query: InboxQuery, reader: UserID, minPosition: UInt64) async throws -> InboxPage {
        try await wait(for: minPosition)
        let limit = max(1, min(query.limit, 200))
        let prefix = ViewKeys.userPrefix(reader)
        var start = prefix
        if let cursor = query.cursor, !Self.isSorted(query) {
            guard let key = Self.decodeCursor(cursor), key.starts(with: prefix) else {
                throw InvalidQuery(message: "the cursor is not one this inbox handed out")
            }
            start = key + [0]  // the first key after the cursor's
        }
        let needle = query.text?.lowercased()
        let directory = self.directory
        if Self.needsThread(query) || Self.isSorted(query) {
            return try searchedInbox(query, reader: reader, start: start, limit: limit, in: directory)
        }
        return try withCurrentTables { tables, txn in
            var items: [InboxItem] = []
            var lastKey: [UInt8]?
            var more = false
            try txn.scan(tables.inbox, prefix: prefix, from: start) { key, value in
                if items.count == limit {
                    more = true
                    return false
                }
                let row = try ViewCodec.decodeInboxRow(value)
                lastKey = Array(key)
                guard Self.matches(row, query, needle: needle, reader: reader, in: directory) else { return true }
                items.append(InboxItem(row, for: reader, in: directory))
                return true
            }
            return InboxPage(items: items, nextCursor: more ? lastKey.map(Self.encodeCursor) : nil)
        }
    }

    /// The inbox for a text or kind search, or in another order: the reader's rows that pass the row
    /// filters, each then checked against the thread as the views hold it (its visible messages and
    /// people under the display policy, nothing of a purged one). In the inbox's own order it pages
    /// with key cursors as the plain inbox does; sorted otherwise, with offset cursors.
    private func searchedInbox(
        _ query: InboxQuery, reader: UserID, start: [UInt8], limit: Int, in directory: Directory
    ) throws -> InboxPage {
        let sorted = Self.isSorted(query)
        let prefix = ViewKeys.userPrefix(reader)
        let needle = query.text?.lowercased()
        return try withCurrentTables { tables, txn in
            var candidates: [(key: [UInt8], row: InboxRow)] = []
            try txn.scan(tables.inbox, prefix: prefix, from: sorted ? prefix : start) { key, value in
                let row = try ViewCodec.decodeInboxRow(value)
                if Self.matches(row, query, needle: nil, reader: reader, in: directory) {
                    candidates.append((Array(key), row))
                }
                return true
            }
            var rows: [(key: [UInt8], row: InboxRow)] = []
            var more = false
            for candidate in candidates {
                if !sorted && rows.count == limit {
                    more = true
                    break
                }
                if Self.needsThread(query) {
                    guard let state = try readThread(candidate.row.thread, tables: tables, txn),
                        Self.threadMatches(state, query, reader: reader, in: directory)
                    else { continue }
                } else if let needle, !candidate.row.title.lowercased().contains(needle) {
                    continue
                }
                rows.append(candidate)
            }
            if sorted {
                var sortedQuery = query
                sortedQuery.limit = limit
                return try Self.offsetPage(rows.map(\.row), sortedQuery, reader: reader, in: directory)
            }
            return InboxPage(
                items: rows.map { InboxItem($0.row, for: reader, in: directory) },
                nextCursor: more ? rows.last.map { Self.encodeCursor($0.key) } : nil)
        }
    }

    /// Whether an inbox row passes the query's filters, for both read sides. A handler the display
    /// policy hides from the reader is not matched by a handler filter.
    public static func matches(
        _ row: InboxRow, _ query: InboxQuery, needle: String?, reader: UserID, in directory: Directory
    ) -> Bool {
        if let status = query.status, row.status.rawValue != status { return false }
        if let priority = query.priority, row.priority.rawValue != priority { return false }
        if let type = query.type, row.type.rawValue != type { return false }
        if let category = query.category, row.category?.rawValue != category { return false }
        if let party = query.party, row.party?.rawValue != party { return false }
        if let handler = query.handler, Access.shown(row.handler, to: reader, in: directory)?.rawValue != handler {
            return false
        }
        if let answered = query.answeredByCustomer, row.answeredByCustomer != answered { return false }
        if let subject = query.subject {
            let parts = subject.split(separator: ":", maxSplits: 1).map(String.init)
            if row.subject.kind != parts.first { return false }
            if parts.count == 2, row.subject.ref != parts[1] { return false }
        }
        // The text search (`q`) also covers what only the thread holds: see `textMatches`.
        if let needle, !row.title.lowercased().contains(needle) { return false }
        if query.unreadOnly && row.unread == 0 { return false }
        return true
    }

    static func encodeCursor(_ key: [UInt8]) -> String {
        Data(key).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    static func decodeCursor(_ text: String) -> [UInt8]? {
        Data(base64Encoded: text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")).map(Array.init)
    }

    public func unread(reader: UserID, minPosition: UInt64) async throws -> UnreadSummary {
        try await wait(for: minPosition)
        return try withCurrentTables { tables, txn in
            var threads: [UnreadThread] = []
            try txn.scan(tables.unread, prefix: ViewKeys.userPrefix(reader)) { key, value in
                threads.append(UnreadThread(id: ViewKeys.secondPart(key), unread: ViewKeys.decodeCount(value)))
                return true
            }
            return UnreadSummary(total: threads.reduce(0) { $0 + $1.unread }, threads: threads)
        }
    }
}

/// A query parameter the read side cannot use (a foreign cursor, say).
public struct InvalidQuery: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

import EventLog
import Foundation
import Messaging
import Projections

extension ReadModels {
    static let pointersTable = "views"

    /// The views' pointers as `txn` sees them. Every query reads them, so the decoded pointer of each
    /// view is kept with its stored bytes and decoded again only when those bytes change (once a batch).
    func pointers(_ txn: borrowing ViewTransaction) throws -> [ViewName: ViewPointer] {
        var out: [ViewName: ViewPointer] = [:]
        for view in ViewName.allCases {
            let cached = try txn.withValue(Self.pointersTable, Self.pointerKeys[view]!) { bytes -> ViewPointer?? in
                guard let bytes else { return .some(nil) }
                return pointerCache.withLock { cache in
                    guard let entry = cache[view], entry.bytes.elementsEqual(bytes) else { return nil }
                    return .some(entry.pointer)
                }
            }
            if let cached {
                out[view] = cached
                continue
            }
            if let bytes = try txn.get(Self.pointersTable, Self.pointerKeys[view]!) {
                let pointer = try JSONDecoder().decode(ViewPointer.self, from: Data(bytes))
                pointerCache.withLock { $0[view] = (bytes, pointer) }
                out[view] = pointer
            }
        }
        return out
    }

    static let pointerKeys: [ViewName: [UInt8]] = Dictionary(
        uniqueKeysWithValues: ViewName.allCases.map { ($0, Array($0.rawValue.utf8)) })

    func setPointer(_ pointer: ViewPointer, for view: ViewName, _ txn: borrowing ViewTransaction) throws {
        try txn.put(Self.pointersTable, Array(view.rawValue.utf8), try Self.encoder.encode(pointer).bytes)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    /// Creates the pointer of every view that has none, and opens the tables of every generation in use.
    func preparePointers() throws {
        try views.prepare(tables: [Self.pointersTable, DirectorySnapshots.table])
        let current = try views.read { txn in try pointers(txn) }
        if current.count < ViewName.allCases.count && !views.readOnly {
            try views.write { txn in
                let now = try pointers(txn)
                for view in ViewName.allCases where now[view] == nil {
                    try setPointer(ViewPointer(version: view.version, generation: 1, checkpoint: 0), for: view, txn)
                }
            }
        }
        let all = try views.read { txn in try pointers(txn) }
        try views.prepare(tables: all.flatMap { view, pointer in view.tables.map { $0.name(generation: pointer.generation) } })
    }
}

import Foundation

extension LMDBEventStore {
    /// Opens the four tables, creating them in a new environment, and checks that this is our log.
    static func openTables(
        _ env: LMDBEnvironment, directory: String, readOnly: Bool
    ) throws -> (LMDBDatabase, LMDBDatabase, LMDBDatabase, LMDBDatabase) {
        let meta: LMDBDatabase
        do {
            meta = try env.openDatabase("meta", create: false)
        } catch let failure as LMDBFailure where isNotFound(failure) {
            let main = try env.openDatabase(nil, create: false)
            let isEmpty = try env.read { txn in try txn.count(main) == 0 }
            guard isEmpty else {
                throw EventLogError(.foreign, "\(directory) holds an LMDB environment that is not a Threadlog event log")
            }
            guard !readOnly else { throw EventLogError(.missing, "no event log at \(directory)") }
            meta = try mapFailure { try env.openDatabase("meta", create: true) }
        } catch let failure as LMDBFailure {
            throw EventLogError(failure)
        }
        let (magic, format) = try mapFailure {
            try env.read { txn in
                (try txn.get(meta, Array("magic".utf8)), try txn.get(meta, Array("format".utf8)))
            }
        }
        if magic == nil && !readOnly {
            // A new log: stamp it.
            try mapFailure {
                try env.write { txn in
                    try txn.put(meta, Array("magic".utf8), Self.magic)
                    try txn.put(meta, Array("format".utf8), withUnsafeBytes(of: formatVersion.bigEndian) { Array($0) })
                }
            }
        } else {
            guard magic == Self.magic, let format, format.count == 4 else {
                throw EventLogError(.foreign, "\(directory) holds an LMDB environment that is not a Threadlog event log")
            }
            let version = format.withUnsafeBytes { Record.loadBE($0, 0, as: UInt32.self) }
            guard version <= formatVersion else {
                throw EventLogError(
                    .newerFormat,
                    "the event log at \(directory) has format \(version); this build reads format \(formatVersion) and older"
                )
            }
        }
        return try mapFailure {
            (
                try env.openDatabase("events", create: !readOnly), try env.openDatabase("streams", create: !readOnly),
                try env.openDatabase("commands", create: !readOnly), meta
            )
        }
    }

    struct Head {
        var position: UInt64
        var chain: [UInt8]
    }

    static let headKey = Array("head".utf8)

    static func storedHead(txn: borrowing LMDBTransaction, meta: LMDBDatabase) throws -> Head {
        try txn.get(meta, headKey) { raw in
            guard let raw else { return Head(position: 0, chain: Record.genesis) }
            guard raw.count == 40 else { throw EventLogError(.corrupt, "the log's head record is damaged") }
            return Head(position: Record.loadBE(raw, 0, as: UInt64.self), chain: Array(raw[8..<40]))
        }
    }
}

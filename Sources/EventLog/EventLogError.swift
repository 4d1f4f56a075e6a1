/// A fault of the log's storage or of its files. The set of codes can grow, so match on `code`
/// with a `default`.
public struct EventLogError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case missing, foreign, newerFormat, corrupt, storage, storageFull, invalidArgument, closed, readOnly, locked
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No log exists where one was expected.
        public static let missing = Code(.missing)
        /// The directory holds something that is not a Threadlog log.
        public static let foreign = Code(.foreign)
        /// The log was written by a newer Threadlog with a format this build cannot read.
        public static let newerFormat = Code(.newerFormat)
        /// A stored record does not decode.
        public static let corrupt = Code(.corrupt)
        /// LMDB or the file system failed.
        public static let storage = Code(.storage)
        /// The disk (or the memory map) holding the store is full: nothing was written; retry once
        /// space returns.
        public static let storageFull = Code(.storageFull)
        /// Another process holds what this one needs alone (a second service on one data directory).
        public static let locked = Code(.locked)
        /// The request itself is malformed (empty stream name, oversized field, …).
        public static let invalidArgument = Code(.invalidArgument)
        /// The log was closed.
        public static let closed = Code(.closed)
        /// A write on a log opened read-only.
        public static let readOnly = Code(.readOnly)

        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension EventLogError {
    init(_ failure: LMDBFailure) {
        if failure.isDamage {
            self.init(.corrupt, "the file is damaged (\(failure))")
        } else {
            self.init(.storage, failure.description)
        }
    }

    /// A failure of the store at `path`, naming a full disk as such.
    init(_ failure: LMDBFailure, path: String) {
        if failure.isDiskFull(path: path) {
            self.init(.storageFull, "the disk holding \(path) is full (\(failure))")
        } else {
            self.init(failure)
        }
    }
}

/// Converts LMDB failures into `EventLogError` at the module's edge.
func mapFailure<R>(_ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let failure as LMDBFailure {
        throw EventLogError(failure)
    }
}

import EventLog
import Foundation
import Messaging
import Projections

/// The directory folded from the log's directory events: the one fold of the directory, used by the
/// command handler's cache (`DirectoryCache`) and by the projectors when they start from a snapshot
/// (`DirectorySnapshots`). The same rule for erased records as `ThreadFold`: they are skipped.
public struct DirectoryFold: Sendable {
    public private(set) var directory: Directory
    /// The log position the fold stands for.
    public private(set) var position: UInt64

    /// Starts from `directory` as of `position`.
    public init(_ directory: Directory = Directory(), at position: UInt64 = 0) {
        self.directory = directory
        self.position = position
    }

    /// Folds the directory events after `position` up to `limit` (the log's head by default), visited
    /// in place (only directory events are decoded) in short reads of at most 4096 events.
    public mutating func advance(in log: any EventStore, upTo limit: UInt64 = .max) throws {
        var directory = self.directory
        var position = self.position
        defer { (self.directory, self.position) = (directory, position) }
        while position < limit {
            var seen = 0
            try log.forEachDirectoryEvent(from: position + 1) { at, recorded in
                guard at <= limit else { return false }
                try Self.visit(at, recorded, &directory, &position)
                seen += 1
                return seen < 4096
            }
            DirectoryFolds.count(seen)
            if seen < 4096 { break }
        }
    }

    /// `advance(in:upTo:)` for async callers: the same fold, over pages of at most 4096 positions
    /// whose reads are awaited.
    public mutating func advance(awaiting log: any EventStore, upTo limit: UInt64 = .max) async throws {
        var directory = self.directory
        var position = self.position
        defer { (self.directory, self.position) = (directory, position) }
        while position < limit {
            let page = try await log.fetch(from: position + 1, limit: 4096, ofTypes: EventType.directoryTypeNames)
            var seen = 0
            for (at, recorded) in page {
                guard at <= limit else { break }
                try Self.visit(at, recorded, &directory, &position)
                seen += 1
            }
            DirectoryFolds.count(seen)
            if seen < 4096 { break }
        }
    }

    /// One visited position: a directory event that was not erased changes the directory.
    private static func visit(
        _ at: UInt64, _ recorded: RecordedEvent?, _ directory: inout Directory, _ position: inout UInt64
    ) throws {
        if let recorded, let decoded = try recorded.decodedUnlessPurged() {
            directory = Directory.evolve(directory, decoded)
        }
        position = at
    }

    /// The directory as of `position`: `initial` (as of `start`) with the directory events after
    /// `start` up to `position` folded in.
    static func directory(
        _ log: any EventStore, from initial: Directory = Directory(), after start: UInt64 = 0, upTo position: UInt64
    ) throws -> Directory {
        var fold = DirectoryFold(initial, at: start)
        try fold.advance(in: log, upTo: position)
        return fold.directory
    }
}

extension EventStore {
    /// Visits events from `position` on in one short read, handing `body` each event's position and,
    /// for directory events only, the event.
    func forEachDirectoryEvent(from position: UInt64, _ body: (UInt64, RecordedEvent?) throws -> Bool) throws {
        try forEach(from: position, ofTypes: EventType.directoryTypeNames, body)
    }
}

extension EventType {
    /// The UTF-8 names of the directory events.
    static let directoryTypeNames: [[UInt8]] = allCases.filter(\.isDirectory).map { Array($0.rawValue.utf8) }
}

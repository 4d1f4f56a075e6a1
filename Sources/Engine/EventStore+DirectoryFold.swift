import EventLog
import Foundation
import Messaging
import Projections

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

/// The directory as of a log position: `initial` (the directory as of `start`) with the directory
/// events after `start` up to `position` folded in.
func foldDirectory(
    _ log: any EventStore, from initial: Directory = Directory(), after start: UInt64 = 0, upTo position: UInt64
) throws -> Directory {
    var directory = initial
    var next: UInt64 = start + 1
    while next <= position {
        var seen = 0
        try log.forEachDirectoryEvent(from: next) { at, recorded in
            guard at <= position else { return false }
            if let recorded, !recorded.isPurged { directory = Directory.evolve(directory, try recorded.decoded()) }
            next = at + 1
            seen += 1
            return seen < 50_000
        }
        DirectoryFolds.count(seen)
        if seen == 0 { break }
    }
    return directory
}

import Foundation

/// An event as the log recorded it, with the envelope fields the folds need: join positions and
/// message visibility are global log positions, message times come from the envelope.
public struct Recorded<E>: Sendable where E: Sendable {
    /// Global, gapless log position (from 1).
    public var position: UInt64
    /// Number of the event inside its stream (from 1).
    public var version: UInt64
    /// Milliseconds since 1970 (UTC).
    public var timeMillis: Int64
    /// The envelope's actor, see ``Actor/recordedValue``.
    public var actor: String
    public var event: E

    public init(position: UInt64, version: UInt64, timeMillis: Int64, actor: String, event: E) {
        self.position = position
        self.version = version
        self.timeMillis = timeMillis
        self.actor = actor
        self.event = event
    }
}

extension Recorded: Equatable where E: Equatable {}
extension Recorded: Hashable where E: Hashable {}

import EventLog
import Messaging

/// A stored event whose payload does not decode as the domain event its type names.
public struct UndecodableEvent: Error, Sendable, CustomStringConvertible {
    public var position: UInt64
    public var type: String
    public var reason: String

    public var description: String { "event at position \(position) (\(type)) does not decode: \(reason)" }
}

extension RecordedEvent {
    /// The domain event with its metadata; upcasters run before decoding.
    public func decoded() throws -> Recorded<Event> {
        do {
            let event = try EventCodec.decode(type: type, schemaVersion: schemaVersion, data: data)
            return Recorded(position: position, version: version, timeMillis: timeMillis, actor: actor, event: event)
        } catch {
            throw UndecodableEvent(position: position, type: type, reason: String(describing: error))
        }
    }

    /// The domain event, or `nil` for a record whose payload retention erased (folds skip those; the
    /// `thread.purged` record that follows carries what remains).
    public func decodedUnlessPurged() throws -> Recorded<Event>? {
        isPurged ? nil : try decoded()
    }
}

extension ProposedEvent {
    init(_ event: Event, context: CommandContext, correlationID: String) {
        let encoded = EventCodec.encode(event)
        self.init(
            type: encoded.type, schemaVersion: encoded.schemaVersion, actor: context.actor.recordedValue,
            correlationID: correlationID, timeMillis: context.now, data: encoded.data)
    }
}

/// The hash chain and the payload digest of the log, for every backend: an event's chain hash is the
/// one its LMDB record would carry (see `Record`), so a log copied between backends verifies unchanged.
public enum EventChain {
    /// The chain hash before the first event.
    public static var genesis: [UInt8] { Record.genesis }

    /// The payload digest and the chain hash of a new event at `position`, linked to `previous`.
    public static func link(
        previous: [UInt8], position: UInt64, stream: String, version: UInt64, previousInStream: UInt64,
        event: ProposedEvent, timeMillis: Int64, commandID: String
    ) -> (digest: [UInt8], chain: [UInt8]) {
        var buffer: [UInt8] = []
        let chain = Record.encode(
            into: &buffer, position: position, stream: stream, version: version, previousInStream: previousInStream,
            event: event, timeMillis: timeMillis, commandID: commandID, previousChain: previous)
        return (Array(buffer[44..<76]), chain)
    }

    /// The chain hash a stored event must carry after `previous`; its payload digest stands in for the
    /// payload, so an erased event still verifies.
    public static func chainHash(of event: RecordedEvent, previous: [UInt8]) -> [UInt8] {
        var buffer: [UInt8] = []
        let envelope = ProposedEvent(
            type: event.type, schemaVersion: event.schemaVersion, actor: event.actor, correlationID: event.correlationID,
            data: [])
        _ = Record.encode(
            into: &buffer, position: event.position, stream: event.stream, version: event.version,
            previousInStream: event.previousInStream, event: envelope, timeMillis: event.timeMillis,
            commandID: event.commandID, previousChain: previous)
        // The payload length is outside the chain: the record of an empty payload hashes like the original.
        return buffer.withUnsafeBytes { raw in
            Record.chainHash(
                previous: previous, position: event.position, record: raw, stringsEnd: buffer.count,
                digest: event.payloadDigest)
        }
    }

    /// SHA-256 of a payload, as stored beside each event.
    public static func digest(_ payload: [UInt8]) -> [UInt8] {
        payload.withUnsafeBytes { Record.sha256($0) }
    }
}

extension AppendRequest {
    /// Refuses a malformed append (empty or oversized names, a stream twice, no events) with
    /// `EventLogError.invalidArgument`; every backend checks before it writes anything.
    public func validate() throws {
        try LMDBEventStore.validate(self)
    }
}

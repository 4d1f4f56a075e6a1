import Foundation

/// An event in its stored form: the envelope's `type` and `schemaVersion` and the JSON payload.
public struct EncodedEvent: Sendable, Hashable {
    public var type: String
    public var schemaVersion: UInt16
    public var data: [UInt8]

    public init(type: String, schemaVersion: UInt16, data: [UInt8]) {
        self.type = type
        self.schemaVersion = schemaVersion
        self.data = data
    }
}

/// Turns events into payload bytes and back. Writes the latest schema version of each type with
/// sorted keys (the bytes of an event never vary); reads any version it has upcasters for.
public enum EventCodec {
    public static func encode(_ event: Event) -> EncodedEvent {
        let type = event.type
        if let direct = encodeDirect(event) {
            return EncodedEvent(type: type.rawValue, schemaVersion: type.latestSchemaVersion, data: direct)
        }
        let data: Data
        do {
            data = try encodePayload(of: event)
        } catch {
            // Every payload is a tree of strings, numbers, booleans, arrays and string-keyed objects,
            // which JSONEncoder always encodes.
            preconditionFailure("event payload failed to encode: \(error)")
        }
        return EncodedEvent(
            type: type.rawValue, schemaVersion: type.latestSchemaVersion, data: Array(data))
    }

    public static func decode(type: String, schemaVersion: UInt16, data: [UInt8])
        throws(EventCodingError) -> Event
    {
        guard let eventType = EventType(rawValue: type) else {
            throw .unknownType(type, schemaVersion: schemaVersion)
        }
        let latest = eventType.latestSchemaVersion
        guard schemaVersion >= 1, schemaVersion <= latest else {
            throw .unsupportedVersion(type, schemaVersion: schemaVersion)
        }
        if schemaVersion == latest, hasFastPath(eventType), let event = decodeDirect(eventType, data) {
            return event
        }
        do {
            var bytes = Data(data)
            if schemaVersion < latest {
                // This module's reader and writer, not Foundation's: numbers keep the form they were
                // stored in (`1.0` stays `1.0`) through the rewrite.
                var json = try JSONValue(parsing: data)
                for version in schemaVersion..<latest {
                    guard let step = Upcasters.step(eventType, from: version) else {
                        throw EventCodingError.unsupportedVersion(type, schemaVersion: version)
                    }
                    json = step(json)
                }
                bytes = Data(json.serialized())
            }
            return try decodePayload(eventType, from: bytes)
        } catch let error as EventCodingError {
            throw error
        } catch {
            throw .malformed(type, schemaVersion: schemaVersion, error)
        }
    }

    public static func decode(_ encoded: EncodedEvent) throws(EventCodingError) -> Event {
        try decode(type: encoded.type, schemaVersion: encoded.schemaVersion, data: encoded.data)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func encodePayload(of event: Event) throws -> Data {
        let encoder = encoder
        return switch event {
        case .partyCreated(let e): try encoder.encode(e)
        case .userCreated(let e): try encoder.encode(e)
        case .serviceTokenCreated(let e): try encoder.encode(e)
        case .userTokenReplaced(let e): try encoder.encode(e)
        case .serviceTokenRevoked(let e): try encoder.encode(e)
        case .structureCreated(let e): try encoder.encode(e)
        case .structureMemberAdded(let e): try encoder.encode(e)
        case .structureMemberRemoved(let e): try encoder.encode(e)
        case .categoryCreated(let e): try encoder.encode(e)
        case .settingsChanged(let e): try encoder.encode(e)
        case .threadOpened(let e): try encoder.encode(e)
        case .subjectClaimed(let e): try encoder.encode(e)
        case .ticketNumbered(let e): try encoder.encode(e)
        case .messagePosted(let e): try encoder.encode(e)
        case .readMarkerMoved(let e): try encoder.encode(e)
        case .handlerAssigned(let e): try encoder.encode(e)
        case .threadStatusChanged(let e): try encoder.encode(e)
        case .threadBlocked(let e): try encoder.encode(e)
        case .threadUnblocked(let e): try encoder.encode(e)
        case .messageKindChanged(let e): try encoder.encode(e)
        case .categoryRetentionSet(let e): try encoder.encode(e)
        case .legalHoldPlaced(let e): try encoder.encode(e)
        case .legalHoldReleased(let e): try encoder.encode(e)
        case .threadPurged(let e): try encoder.encode(e)
        case .digestScheduled(let e): try encoder.encode(e)
        case .digestSent(let e): try encoder.encode(e)
        case .blobUploaded(let e): try encoder.encode(e)
        case .subjectDeclared(let e): try encoder.encode(e)
        case .threadAttributesChanged(let e): try encoder.encode(e)
        case .notePosted(let e): try encoder.encode(e)
        case .userUpdated(let e): try encoder.encode(e)
        case .userDeactivated(let e): try encoder.encode(e)
        }
    }

    /// The payload through Foundation's `JSONDecoder` only, never the hand-written fast path: the
    /// baseline of the release benchmark (`threadlog-bench json`).
    @_spi(Benchmarks)
    public static func decodeWithJSONDecoder(_ type: EventType, data: [UInt8]) throws -> Event {
        try decodePayload(type, from: Data(data))
    }

    /// Decodes a payload already in the type's latest schema version.
    static func decodePayload(_ type: EventType, from data: Data) throws -> Event {
        let decoder = JSONDecoder()
        return switch type {
        case .partyCreated: .partyCreated(try decoder.decode(PartyCreated.self, from: data))
        case .userCreated: .userCreated(try decoder.decode(UserCreated.self, from: data))
        case .serviceTokenCreated:
            .serviceTokenCreated(try decoder.decode(ServiceTokenCreated.self, from: data))
        case .userTokenReplaced: .userTokenReplaced(try decoder.decode(UserTokenReplaced.self, from: data))
        case .serviceTokenRevoked: .serviceTokenRevoked(try decoder.decode(ServiceTokenRevoked.self, from: data))
        case .structureCreated: .structureCreated(try decoder.decode(StructureCreated.self, from: data))
        case .structureMemberAdded:
            .structureMemberAdded(try decoder.decode(StructureMemberAdded.self, from: data))
        case .structureMemberRemoved:
            .structureMemberRemoved(try decoder.decode(StructureMemberRemoved.self, from: data))
        case .categoryCreated: .categoryCreated(try decoder.decode(CategoryCreated.self, from: data))
        case .settingsChanged: .settingsChanged(try decoder.decode(SettingsPatch.self, from: data))
        case .threadOpened: .threadOpened(try decoder.decode(ThreadOpened.self, from: data))
        case .subjectClaimed: .subjectClaimed(try decoder.decode(SubjectClaimed.self, from: data))
        case .ticketNumbered: .ticketNumbered(try decoder.decode(TicketNumbered.self, from: data))
        case .messagePosted: .messagePosted(try decoder.decode(MessagePosted.self, from: data))
        case .readMarkerMoved: .readMarkerMoved(try decoder.decode(ReadMarkerMoved.self, from: data))
        case .handlerAssigned: .handlerAssigned(try decoder.decode(HandlerAssigned.self, from: data))
        case .threadStatusChanged:
            .threadStatusChanged(try decoder.decode(ThreadStatusChanged.self, from: data))
        case .threadBlocked: .threadBlocked(try decoder.decode(ThreadBlocked.self, from: data))
        case .threadUnblocked: .threadUnblocked(try decoder.decode(ThreadUnblocked.self, from: data))
        case .messageKindChanged: .messageKindChanged(try decoder.decode(MessageKindChanged.self, from: data))
        case .categoryRetentionSet: .categoryRetentionSet(try decoder.decode(CategoryRetentionSet.self, from: data))
        case .legalHoldPlaced: .legalHoldPlaced(try decoder.decode(LegalHoldPlaced.self, from: data))
        case .legalHoldReleased: .legalHoldReleased(try decoder.decode(LegalHoldReleased.self, from: data))
        case .threadPurged: .threadPurged(try decoder.decode(ThreadPurged.self, from: data))
        case .digestScheduled: .digestScheduled(try decoder.decode(DigestScheduled.self, from: data))
        case .digestSent: .digestSent(try decoder.decode(DigestSent.self, from: data))
        case .blobUploaded: .blobUploaded(try decoder.decode(BlobUploaded.self, from: data))
        case .subjectDeclared: .subjectDeclared(try decoder.decode(SubjectDeclared.self, from: data))
        case .notePosted: .notePosted(try decoder.decode(NotePosted.self, from: data))
        case .threadAttributesChanged:
            .threadAttributesChanged(try decoder.decode(ThreadAttributesChanged.self, from: data))
        case .userUpdated: .userUpdated(try decoder.decode(UserUpdated.self, from: data))
        case .userDeactivated: .userDeactivated(try decoder.decode(UserDeactivated.self, from: data))
        }
    }
}

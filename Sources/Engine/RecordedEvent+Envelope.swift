import EventLog
import Messaging

extension RecordedEvent {
    /// The envelope of the outside contract as one line of JSON, written by hand: the payload is spliced
    /// in as stored, never decoded and re-encoded. Keys keep one fixed order.
    /// A purged event carries `"data": null` and `"purged": true`.
    public func envelopeJSON() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + stream.utf8.count + data.count)
        appendEnvelope(to: &out)
        return out
    }

    public func appendEnvelope(to out: inout [UInt8]) {
        out.append(contentsOf: #"{"position":"#.utf8)
        out.append(contentsOf: String(position).utf8)
        out.append(contentsOf: #","stream":"#.utf8)
        JSONText.appendString(stream, to: &out)
        out.append(contentsOf: #","version":"#.utf8)
        out.append(contentsOf: String(version).utf8)
        out.append(contentsOf: #","type":"#.utf8)
        JSONText.appendString(type, to: &out)
        out.append(contentsOf: #","schemaVersion":"#.utf8)
        out.append(contentsOf: String(schemaVersion).utf8)
        out.append(contentsOf: #","time":""#.utf8)
        out.append(contentsOf: ISOTime.format(millis: timeMillis).utf8)
        out.append(contentsOf: #"","actor":"#.utf8)
        JSONText.appendString(actor, to: &out)
        out.append(contentsOf: #","correlationId":"#.utf8)
        JSONText.appendString(correlationID, to: &out)
        if isPurged {
            out.append(contentsOf: #","purged":true,"data":null}"#.utf8)
        } else {
            out.append(contentsOf: #","data":"#.utf8)
            out.append(contentsOf: data.isEmpty ? Array("null".utf8) : data)
            out.append(UInt8(ascii: "}"))
        }
    }
}

extension RecordedEvent {
    /// The event time in the envelope's format, e.g. `2026-11-23T10:00:00.000Z`.
    public var time: String { ISOTime.format(millis: timeMillis) }
}

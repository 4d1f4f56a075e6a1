/// What `verify` found.
public struct VerifyReport: Sendable, Hashable {
    /// Events checked (the log's length when the check began, up to the first fault).
    public var checked: UInt64
    public var streams: Int
    /// The first fault, `nil` when the log is whole.
    public var fault: VerifyFault?

    public init(checked: UInt64, streams: Int, fault: VerifyFault?) {
        self.checked = checked
        self.streams = streams
        self.fault = fault
    }
}

/// The first thing wrong in a log: where, and what.
public struct VerifyFault: Sendable, Hashable, CustomStringConvertible {
    /// The first bad position; `nil` for a fault in an index rather than in an event.
    public var position: UInt64?
    public var reason: String

    public init(position: UInt64?, reason: String) {
        self.position = position
        self.reason = reason
    }

    public var description: String {
        if let position { return "position \(position): \(reason)" }
        return reason
    }
}

/// A log that can check its own integrity (`threadlog replay --verify`).
public protocol VerifiableLog {
    /// Checks the whole log as it was when the check began; `progress` hears of the events checked.
    func verify(progress: (_ checked: UInt64, _ total: UInt64) -> Void) throws -> VerifyReport
}

extension LMDBEventStore: VerifiableLog {
    /// Checks the whole log as it was when the check began: positions gapless from 1, every record
    /// decodes, payload digests and the hash chain, stream versions and back-links, the stream heads, the
    /// command index and the head record. Reads in short transactions, so a live log keeps appending.
    public func verify(progress: (_ checked: UInt64, _ total: UInt64) -> Void = { _, _ in }) throws -> VerifyReport {
        let total = try lastPosition()
        var expected: UInt64 = 1
        var chain = Record.genesis
        var heads: [String: StreamHead] = [:]
        var fault: VerifyFault?
        let chunk = 16_384

        func report() -> VerifyReport {
            VerifyReport(checked: expected - 1, streams: heads.count, fault: fault)
        }

        while expected <= total && fault == nil {
            do { try mapFailure {
                try env.read { txn in
                    var seen = 0
                    try txn.scan(events, from: Record.key(expected)) { key, value in
                        guard let position = Record.position(ofKey: key) else {
                            fault = VerifyFault(position: expected, reason: "a key is not an 8-byte position")
                            return false
                        }
                        if position > total { return false }
                        if position != expected {
                            let reason = position < expected
                                ? "keys out of order (found \(position) after \(expected - 1))"
                                : "position missing (the next stored position is \(position))"
                            fault = VerifyFault(position: expected, reason: reason)
                            return false
                        }
                        if let problem = Self.check(record: value, position: position, chain: &chain, heads: &heads) {
                            fault = VerifyFault(position: position, reason: problem)
                            return false
                        }
                        expected += 1
                        seen += 1
                        return seen < chunk
                    }
                    if fault == nil && seen == 0 && expected <= total {
                        fault = VerifyFault(position: expected, reason: "position missing (the log ends early)")
                    }
                }
            } } catch let error as EventLogError where error.code == .corrupt {
                // A damaged page (its record pointers, say) is named by the first position it hides.
                fault = VerifyFault(position: expected, reason: error.message)
            }
            progress(expected - 1, total)
        }
        if fault == nil {
            do {
                fault = try checkIndexes(total: total, chain: chain, heads: heads)
            } catch let error as EventLogError where error.code == .corrupt {
                fault = VerifyFault(position: nil, reason: "an index: \(error.message)")
            }
        }
        return report()
    }

    /// Checks one record against the chain and its stream; returns what is wrong, or `nil`.
    private static func check(
        record raw: UnsafeRawBufferPointer, position: UInt64, chain: inout [UInt8], heads: inout [String: StreamHead]
    ) -> String? {
        guard let view = RecordView(raw) else { return "the record does not decode (bad format byte or lengths)" }
        guard view.flags & ~Record.purgedFlag == 0 else { return "unknown flags \(view.flags)" }
        guard view.reservedIsZero else { return "reserved header bytes are not zero" }
        if view.isPurged {
            guard view.payloadLength == 0 else { return "marked purged but still holds a payload" }
        } else if !Record.sha256(view.payload).elementsEqual(view.digest) {
            return "the payload does not match its digest"
        }
        let computed = Record.chainHash(
            previous: chain, position: position, record: raw, stringsEnd: view.stringsEnd, digest: view.digest)
        guard computed.elementsEqual(view.chain) else { return "the chain hash does not match (envelope altered)" }
        chain = computed
        let stream = view.stream
        let previous = heads[stream]
        let wanted = (previous?.version ?? 0) + 1
        guard view.version == wanted else { return "stream '\(stream)' has version \(view.version), expected \(wanted)" }
        guard view.previousInStream == (previous?.lastPosition ?? 0) else {
            return "stream '\(stream)' links back to \(view.previousInStream), expected \(previous?.lastPosition ?? 0)"
        }
        heads[stream] = StreamHead(version: view.version, lastPosition: position)
        return nil
    }

    /// The head record, the stream heads and the command index against what the scan saw.
    private func checkIndexes(total: UInt64, chain: [UInt8], heads: [String: StreamHead]) throws -> VerifyFault? {
        try mapFailure {
            try env.read { txn in
                let headFault: VerifyFault? = try txn.get(meta, Self.headKey) { raw in
                    guard let raw else {
                        return total > 0 ? VerifyFault(position: nil, reason: "the head record is missing") : nil
                    }
                    guard raw.count == 40 else { return VerifyFault(position: nil, reason: "the head record is damaged") }
                    let position = Record.loadBE(raw, 0, as: UInt64.self)
                    if position < total {
                        return VerifyFault(position: nil, reason: "the head record says \(position) but the log holds \(total)")
                    }
                    if position == total && !chain.elementsEqual(raw[8..<40]) {
                        return VerifyFault(position: nil, reason: "the head record's chain hash does not match the log")
                    }
                    return nil
                }
                if let headFault { return headFault }
                var fault: VerifyFault?
                var matched = 0
                try txn.scan(streams, from: nil) { key, value in
                    let name = String(decoding: key, as: UTF8.self)
                    guard value.count == 16 else {
                        fault = VerifyFault(position: nil, reason: "the head of stream '\(name)' is damaged")
                        return false
                    }
                    let stored = StreamHead(
                        version: Record.loadBE(value, 0, as: UInt64.self), lastPosition: Record.loadBE(value, 8, as: UInt64.self))
                    if stored.lastPosition > total { return true }  // appended after the check began
                    guard heads[name] == stored else {
                        fault = VerifyFault(
                            position: nil,
                            reason: "the stream index says '\(name)' is at version \(stored.version) (position \(stored.lastPosition)); the log says \(heads[name].map { "version \($0.version) (position \($0.lastPosition))" } ?? "no such stream")")
                        return false
                    }
                    matched += 1
                    return true
                }
                if let fault { return fault }
                let moved = heads.count - matched
                if moved > 0 {
                    // Streams whose head moved past the snapshot are fine; any other missing head is a fault.
                    for (name, head) in heads {
                        let stored: (version: UInt64, position: UInt64)? = try txn.get(streams, Array(name.utf8)) { raw in
                            guard let raw, raw.count == 16 else { return nil }
                            return (Record.loadBE(raw, 0, as: UInt64.self), Record.loadBE(raw, 8, as: UInt64.self))
                        }
                        guard let stored else {
                            return VerifyFault(position: nil, reason: "stream '\(name)' is missing from the stream index")
                        }
                        if stored.position <= total && stored.version != head.version {
                            return VerifyFault(position: nil, reason: "the stream index disagrees with the log for '\(name)'")
                        }
                    }
                }
                try txn.scan(commands, from: nil) { key, value in
                    let id = String(decoding: key, as: UTF8.self)
                    guard value.count == 16 else {
                        fault = VerifyFault(position: nil, reason: "the command index entry '\(id)' is damaged")
                        return false
                    }
                    let first = Record.loadBE(value, 0, as: UInt64.self)
                    let last = Record.loadBE(value, 8, as: UInt64.self)
                    if last > total { return true }
                    for position in [first, last] {
                        guard first <= last, first >= 1,
                            try txn.get(events, Record.key(position), { raw in
                                raw.flatMap { RecordView($0) }?.recorded(position: position).commandID == id
                            })
                        else {
                            fault = VerifyFault(position: position, reason: "the command index entry '\(id)' does not match the log")
                            return false
                        }
                    }
                    return true
                }
                return fault
            }
        }
    }
}

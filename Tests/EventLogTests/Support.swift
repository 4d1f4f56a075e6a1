import EventLog
import Foundation
import TestSupport
import Testing

/// The backends the conformance suite runs against.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case lmdb

    var testDescription: String { rawValue }

    /// A new, empty store; the directory lives as long as the returned handle.
    func make() throws -> (store: any EventStore, keepAlive: TempDirectory) {
        switch self {
        case .lmdb:
            let dir = try TempDirectory()
            return (try LMDBEventStore.open(directory: dir.sub("log")), dir)
        }
    }
}

func event(_ type: String = "test.happened", _ text: String = "hello", actor: String = "user-1") -> ProposedEvent {
    ProposedEvent(type: type, actor: actor, correlationID: "corr-1", data: Array(#"{"text":"\#(text)"}"#.utf8))
}


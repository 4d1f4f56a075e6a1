import EventLog
import Foundation
import Messaging
import Synchronization

/// Who may use each blob, folded from the log on demand (every look first reads what the log gained
/// since the last one): its uploaders (`blob.uploaded`) and the threads whose messages reference it
/// (`message.posted`), with the content type each message gave it.
final class BlobIndex: Sendable {
    struct Reference: Sendable, Hashable {
        var thread: ThreadID
        var position: UInt64
        var contentType: String
        var name: String
    }

    struct Entry: Sendable {
        var uploaders: [UserID] = []
        var references: [Reference] = []
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var position: UInt64 = 0
    }

    private let store: any EventStore
    private let state = Mutex(State())

    init(store: any EventStore) {
        self.store = store
    }

    /// Only messages and uploads are built; other events pass as their position.
    private static let types = [EventType.messagePosted, .blobUploaded].map { Array($0.rawValue.utf8) }

    func entry(for sha256: String) throws -> Entry {
        try state.withLock { state in
            var full = true
            while full {
                var seen = 0
                try store.forEach(from: state.position + 1, ofTypes: Self.types) { at, recorded in
                    seen += 1
                    state.position = at
                    guard let recorded, !recorded.isPurged else { return seen < 4096 }
                    switch try recorded.decoded().event {
                    case .messagePosted(let posted):
                        for attachment in posted.attachments {
                            state.entries[attachment.sha256, default: Entry()].references.append(
                                Reference(
                                    thread: posted.thread, position: at, contentType: attachment.contentType,
                                    name: attachment.name))
                        }
                    case .blobUploaded(let uploaded):
                        state.entries[uploaded.sha256, default: Entry()].uploaders.append(uploaded.uploader)
                    default: break
                    }
                    return seen < 4096
                }
                full = seen == 4096
            }
            return state.entries[sha256] ?? Entry()
        }
    }
}

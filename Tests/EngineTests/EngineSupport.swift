import Engine
import EventLog
import Foundation
import Messaging

/// A command handler over a real LMDB log in a temporary directory.
final class EngineFixture: Sendable {
    let path: String
    let store: LMDBEventStore
    let engine: CommandHandler

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("threadlog-engine-\(UUID().uuidString)").path
        store = try LMDBEventStore.open(directory: path + "/log")
        engine = CommandHandler(store: store)
    }

    deinit {
        store.close()
        try? FileManager.default.removeItem(atPath: path)
    }

    static let hash = String(repeating: "a", count: 64)

    @discardableResult
    func admin(_ command: Command) async throws -> CommandOutcome {
        try await engine.handle(command, actor: .admin)
    }

    @discardableResult
    func user(_ id: String, _ command: Command, commandID: String? = nil) async throws -> CommandOutcome {
        try await engine.handle(command, actor: .user(UserID(id)), commandID: commandID)
    }

    func party(_ id: String, _ kind: PartyKind) async throws {
        try await admin(.createParty(id: PartyID(id), name: id.capitalized, kind: kind))
    }

    func member(_ id: String, party: String, roles: [Role] = []) async throws {
        try await admin(
            .createUser(id: UserID(id), name: id.capitalized, email: "\(id)@example.com", party: PartyID(party), roles: roles, tokenHash: Self.hash))
    }

    func state(_ thread: ThreadID) throws -> ThreadState {
        guard let state = try engine.threadState(thread) else { throw FixtureError.missingThread(thread) }
        return state
    }

    enum FixtureError: Error { case missingThread(ThreadID) }
}

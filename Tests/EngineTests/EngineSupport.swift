import Engine
import EventLog
import Foundation
import Messaging
import TestSupport

/// A command handler over a real LMDB log in a temporary directory.
final class EngineFixture: Sendable {
    let directory: TempDirectory
    let store: LMDBEventStore
    let engine: CommandHandler

    init() throws {
        directory = try TempDirectory()
        store = try LMDBEventStore.open(directory: directory.sub("log"))
        engine = CommandHandler(store: store)
    }

    /// The directory goes after the store is closed: stored properties are released after `deinit` runs.
    deinit { store.close() }

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

import Engine
import EventLog
import Foundation
import Messaging
import Projections
import TestSupport

/// A real log and a real view store in a temporary directory, with a command handler and the runner.
final class ViewsFixture: Sendable {
    let dir: TempDirectory
    let data: DataDirectory
    let log: LMDBEventStore
    let views: ViewStore
    let engine: CommandHandler
    let models: ReadModels

    init(batchSize: Int = 2000, commitInterval: Duration? = nil, viewsMapSize: Int = 256 << 20) throws {
        dir = try TempDirectory()
        data = try DataDirectory(dir.sub("data"), create: true)
        log = try LMDBEventStore.open(directory: data.log)
        views = try ViewStore.open(directory: data.views, initialMapSize: viewsMapSize)
        engine = CommandHandler(store: log)
        models = ReadModels(log: log, views: views, batchSize: batchSize, commitInterval: commitInterval)
    }

    deinit { log.close() }

    static let hash = String(repeating: "b", count: 64)

    @discardableResult
    func admin(_ command: Command) async throws -> CommandOutcome {
        try await engine.handle(command, actor: .admin)
    }

    @discardableResult
    func user(_ id: String, _ command: Command) async throws -> CommandOutcome {
        try await engine.handle(command, actor: .user(UserID(id)))
    }

    /// An operator (acme) with two handlers and an HR handler; a supplier with two users and a circle;
    /// a subcontractor.
    func world() async throws {
        try await admin(.createParty(id: "acme", name: "Acme", kind: .internal))
        try await admin(.createParty(id: "supplier", name: "Supplier Ltd", kind: .external))
        try await admin(.createParty(id: "sub", name: "Subco", kind: .external))
        for (id, party, roles) in [
            ("hana", "acme", [Role.handler]), ("hugo", "acme", [Role.handler]), ("helga", "acme", [Role("hr")]),
            ("sam", "supplier", []), ("sue", "supplier", []), ("otto", "sub", []),
        ] {
            try await admin(
                .createUser(id: UserID(id), name: id.capitalized, email: "\(id)@example.com", party: PartyID(party), roles: roles, tokenHash: Self.hash))
        }
        try await admin(.createStructure(id: "circle", name: "Supplier circle", party: "supplier", shareHistory: false))
        try await admin(.addStructureMember(structure: "circle", user: "sue"))
        try await admin(.createCategory(id: "hr", name: "HR", handlerRoles: [Role("hr")], structures: [], defaultRecipients: []))
        // Contract C-1 is sam's alone (a structure of one): declared so that outside users may open it.
        try await admin(.createStructure(id: "c1-team", name: "C-1 team", party: "supplier", shareHistory: true))
        try await admin(.addStructureMember(structure: "c1-team", user: "sam"))
        try await admin(.declareSubject(Subject(kind: "contract", ref: "C-1"), parties: [], structures: ["c1-team"]))
    }

    /// Every row of every current view table, by table: what "the views" are, for comparisons.
    func dump() throws -> [String: [[UInt8]: [UInt8]]] { try Self.dump(views) }

    static func dump(_ views: ViewStore) throws -> [String: [[UInt8]: [UInt8]]] {
        try views.prepare(tables: ["views"])
        let pointers: [ViewName: ViewPointer] = try views.read { txn in
            var out: [ViewName: ViewPointer] = [:]
            for view in ViewName.allCases {
                if let bytes = try txn.get("views", Array(view.rawValue.utf8)) {
                    out[view] = try JSONDecoder().decode(ViewPointer.self, from: Data(bytes))
                }
            }
            return out
        }
        let names = Table.allCases.map { ($0, $0.name(generation: pointers[$0.view]?.generation ?? 1)) }
        try views.prepare(tables: names.map(\.1))
        return try views.read { txn in
            var out: [String: [[UInt8]: [UInt8]]] = [:]
            for (table, name) in names {
                var rows: [[UInt8]: [UInt8]] = [:]
                try txn.scan(name, prefix: []) { key, value in
                    rows[Array(key)] = Array(value)
                    return true
                }
                out[table.rawValue] = rows
            }
            return out
        }
    }
}

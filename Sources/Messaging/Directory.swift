import Foundation

public struct Party: Sendable, Hashable, Codable {
    public var id: PartyID
    public var name: String
    public var kind: PartyKind
}

public struct User: Sendable, Hashable, Codable {
    public var id: UserID
    public var name: String
    public var email: String
    public var party: PartyID
    public var roles: [Role]
    public var tokenHash: String
}

/// A reader of the event stream (a downstream service); known only by its token hash.
public struct ServicePrincipal: Sendable, Hashable, Codable {
    public var id: ServiceID
    public var name: String
    public var tokenHash: String
}

public struct Structure: Sendable, Hashable, Codable {
    public var id: StructureID
    public var name: String
    public var party: PartyID
    public var shareHistory: Bool
    /// Each member with the log position of the event that added them.
    public var members: [UserID: UInt64]
}

public struct Category: Sendable, Hashable, Codable {
    public var id: CategoryID
    public var name: String
    public var handlerRoles: [Role]
    public var structures: [StructureID]
    public var defaultRecipients: [UserID]
    /// Overrides the deployment's retention period for this category's threads.
    public var retentionDays: Int? = nil
}

/// The parties and structures a declared subject belongs to (`subject.declared`).
public struct SubjectBinding: Sendable, Hashable, Codable {
    public var parties: [PartyID]
    public var structures: [StructureID]

    public init(parties: [PartyID], structures: [StructureID]) {
        self.parties = parties
        self.structures = structures
    }
}

/// Who exists and who belongs where: folded from every directory event in log order
/// (``EventType/isDirectory``). Thread deciders and the access functions read it; it is never written
/// to by them. Codable so that the view store can keep it as of a position (a start then folds only
/// what came after).
public struct Directory: Sendable, Hashable, Codable {
    public var parties: [PartyID: Party] = [:]
    public var users: [UserID: User] = [:]
    public var services: [ServiceID: ServicePrincipal] = [:]
    public var structures: [StructureID: Structure] = [:]
    public var categories: [CategoryID: Category] = [:]
    public var settings = Settings()
    /// The declared subjects: who their threads belong to besides the usual readers.
    public var subjects: [Subject: SubjectBinding] = [:]
    /// The position of the last event folded in.
    public var position: UInt64 = 0
    /// How many tokens were replaced or revoked so far: a principal resolved from a token at one
    /// revision may be stale at a later one.
    public var tokenRevision = 0

    public init() {}
}

extension Directory {
    public func isInternal(_ user: UserID) -> Bool {
        guard let party = users[user]?.party else { return false }
        return parties[party]?.kind == .internal
    }

    /// The principal a bearer token's hash belongs to (linear: the directory is small).
    public func principal(withTokenHash hash: String) -> Actor? {
        if let user = users.values.first(where: { $0.tokenHash == hash }) { return .user(user.id) }
        if let service = services.values.first(where: { $0.tokenHash == hash }) {
            return .service(service.id)
        }
        return nil
    }

    /// Structures the user belongs to, in id order.
    public func structures(of user: UserID) -> [Structure] {
        structures.values.filter { $0.members[user] != nil }.sorted { $0.id < $1.id }
    }
}

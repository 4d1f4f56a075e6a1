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
    /// False once deactivated: the token stops working, the name stays on what they wrote.
    public var active = true

    init(id: UserID, name: String, email: String, party: PartyID, roles: [Role], tokenHash: String) {
        self.id = id
        self.name = name
        self.email = email
        self.party = party
        self.roles = roles
        self.tokenHash = tokenHash
    }

    enum CodingKeys: String, CodingKey { case id, name, email, party, roles, tokenHash, active }

    /// Directories stored before deactivation existed hold active users.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(UserID.self, forKey: .id), name: try c.decode(String.self, forKey: .name),
            email: try c.decode(String.self, forKey: .email), party: try c.decode(PartyID.self, forKey: .party),
            roles: try c.decode([Role].self, forKey: .roles), tokenHash: try c.decode(String.self, forKey: .tokenHash))
        active = try c.decodeIfPresent(Bool.self, forKey: .active) ?? true
    }
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
    /// Whether a user holds the role, a category routes to it or it is a default handler role.
    public func knows(_ role: Role) -> Bool {
        settings.defaultHandlerRoles.contains(role) || users.values.contains { $0.roles.contains(role) }
            || categories.values.contains { $0.handlerRoles.contains(role) }
    }

    public func isInternal(_ user: UserID) -> Bool {
        guard let party = users[user]?.party else { return false }
        return parties[party]?.kind == .internal
    }

    /// Whether two users speak for the same side of a conversation: the operator's users together, an
    /// outside party's users together. A subcontractor sharing a client's threads through a structure
    /// is on another side than the client.
    public func sameSide(_ user: UserID, _ other: UserID) -> Bool {
        let internalUser = isInternal(user)
        guard internalUser == isInternal(other) else { return false }
        return internalUser || users[user]?.party == users[other]?.party
    }

    /// The principal a bearer token's hash belongs to (linear: the directory is small).
    public func principal(withTokenHash hash: String) -> Actor? {
        if let user = users.values.first(where: { $0.tokenHash == hash && $0.active }) { return .user(user.id) }
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

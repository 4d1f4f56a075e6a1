import Foundation

extension Decider {
    static func createParty(
        id: PartyID, name: String, kind: PartyKind, context: CommandContext, directory: Directory,
        loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        try requireAdmin(context)
        try validID(id)
        let name = try validName(name)
        guard loaded.version(of: StreamName.party(id)) == 0, directory.parties[id] == nil else {
            throw .duplicateID(id.rawValue)
        }
        return [.partyCreated(PartyCreated(id: id, name: name, kind: kind))]
    }

    static func createUser(
        _ proposed: UserCreated, context: CommandContext, directory: Directory, loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        try requireAdmin(context)
        try validID(proposed.id)
        var user = proposed
        user.name = try validName(proposed.name)
        guard isEmail(proposed.email) else { throw .invalidEmail(proposed.email) }
        guard directory.parties[proposed.party] != nil else { throw .unknownParty(proposed.party) }
        for role in proposed.roles { try validID(role) }
        user.roles = unique(proposed.roles)
        try validTokenHash(proposed.tokenHash)
        guard loaded.version(of: StreamName.user(proposed.id)) == 0, directory.users[proposed.id] == nil
        else {
            throw .duplicateID(proposed.id.rawValue)
        }
        return [.userCreated(user)]
    }

    static func createServiceToken(
        name: String, tokenHash: String, context: CommandContext, loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        try requireAdmin(context)
        let id = ServiceID(context.newID)
        try validID(id)
        let name = try validName(name)
        try validTokenHash(tokenHash)
        guard loaded.version(of: StreamName.service(id)) == 0 else { throw .duplicateID(id.rawValue) }
        return [.serviceTokenCreated(ServiceTokenCreated(id: id, name: name, tokenHash: tokenHash))]
    }

    static func replaceUserToken(
        user: UserID, tokenHash: String, context: CommandContext, directory: Directory
    ) throws(DomainError) -> [Event] {
        try requireAdmin(context)
        guard directory.users[user] != nil else { throw .unknownUser(user) }
        try validTokenHash(tokenHash)
        return [.userTokenReplaced(UserTokenReplaced(id: user, tokenHash: tokenHash))]
    }

    /// Changing nothing writes nothing.
    static func updateUser(
        _ id: UserID, name: String?, email: String?, roles: [Role]?, context: CommandContext, directory: Directory
    ) throws(DomainError) -> [Event] {
        try requireAdmin(context)
        guard let user = directory.users[id] else { throw .unknownUser(id) }
        var updated = UserUpdated(id: id, name: user.name, email: user.email, roles: user.roles)
        if let name { updated.name = try validName(name) }
        if let email {
            guard isEmail(email) else { throw .invalidEmail(email) }
            updated.email = email
        }
        if let roles {
            for role in roles { try validID(role) }
            updated.roles = unique(roles)
        }
        guard updated.name != user.name || updated.email != user.email || updated.roles != user.roles else { return [] }
        return [.userUpdated(updated)]
    }

    /// Deactivating twice writes nothing the second time.
    static func deactivateUser(_ id: UserID, context: CommandContext, directory: Directory) throws(DomainError)
        -> [Event]
    {
        try requireAdmin(context)
        guard let user = directory.users[id] else { throw .unknownUser(id) }
        return user.active ? [.userDeactivated(UserDeactivated(id: id))] : []
    }

    static func revokeServiceToken(
        _ id: ServiceID, context: CommandContext, directory: Directory
    ) throws(DomainError) -> [Event] {
        try requireAdmin(context)
        guard directory.services[id] != nil else { throw .unknownService(id) }
        return [.serviceTokenRevoked(ServiceTokenRevoked(id: id))]
    }

    static func createStructure(
        _ proposed: StructureCreated, context: CommandContext, directory: Directory,
        loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        try requireAdmin(context)
        try validID(proposed.id)
        var structure = proposed
        structure.name = try validName(proposed.name)
        guard directory.parties[proposed.party] != nil else { throw .unknownParty(proposed.party) }
        guard loaded.version(of: StreamName.structure(proposed.id)) == 0,
            directory.structures[proposed.id] == nil
        else { throw .duplicateID(proposed.id.rawValue) }
        return [.structureCreated(structure)]
    }

    /// Adding a member twice writes nothing: the first join position stays the one that counts.
    static func addStructureMember(
        structure: StructureID, user: UserID, context: CommandContext, directory: Directory
    ) throws(DomainError) -> [Event] {
        try requireAdmin(context)
        guard let found = directory.structures[structure] else { throw .unknownStructure(structure) }
        guard directory.users[user] != nil else { throw .unknownUser(user) }
        guard found.members[user] == nil else { return [] }
        return [.structureMemberAdded(StructureMemberAdded(structure: structure, user: user))]
    }

    static func removeStructureMember(
        structure: StructureID, user: UserID, context: CommandContext, directory: Directory
    ) throws(DomainError) -> [Event] {
        try requireAdmin(context)
        guard let found = directory.structures[structure] else { throw .unknownStructure(structure) }
        guard found.members[user] != nil else { throw .notAMember(structure: structure, user: user) }
        return [.structureMemberRemoved(StructureMemberRemoved(structure: structure, user: user))]
    }

    static func createCategory(
        _ proposed: CategoryCreated, context: CommandContext, directory: Directory,
        loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        try requireAdmin(context)
        try validID(proposed.id)
        var category = proposed
        category.name = try validName(proposed.name)
        for role in proposed.handlerRoles { try validID(role) }
        for structure in proposed.structures where directory.structures[structure] == nil {
            throw .unknownStructure(structure)
        }
        for user in proposed.defaultRecipients where directory.users[user] == nil {
            throw .unknownUser(user)
        }
        category.handlerRoles = unique(proposed.handlerRoles)
        category.structures = unique(proposed.structures)
        category.defaultRecipients = unique(proposed.defaultRecipients)
        guard loaded.version(of: StreamName.category(proposed.id)) == 0,
            directory.categories[proposed.id] == nil
        else { throw .duplicateID(proposed.id.rawValue) }
        return [.categoryCreated(category)]
    }

    /// An empty patch writes nothing.
    static func changeSettings(_ patch: SettingsPatch, context: CommandContext) throws(DomainError)
        -> [Event]
    {
        try requireAdmin(context)
        var patch = patch
        // A digest naming no field changes nothing.
        if patch.digest == DigestPatch() { patch.digest = nil }
        guard !patch.isEmpty else { return [] }
        if let policy = patch.displayPolicy { try validDisplayPolicy(policy, field: "displayPolicy") }
        for (party, policy) in patch.partyDisplayPolicies ?? [:] {
            try validDisplayPolicy(policy, field: "partyDisplayPolicies.\(party)")
        }
        if let digest = patch.digest { try validDigest(digest) }
        for (name, text) in patch.messageTemplates ?? [:] { try validTemplate(name: name, text: text) }
        if let days = patch.retentionDays, !(1...36_500).contains(days) {
            throw .invalidSetting(field: "retentionDays", reason: "must be between 1 and 36500 days")
        }
        if let limit = patch.messageSizeLimit, !(1...Settings.maximumMessageSizeLimit).contains(limit) {
            throw .invalidSetting(
                field: "messageSizeLimit",
                reason: "must be between 1 and \(Settings.maximumMessageSizeLimit) bytes")
        }
        for (index, rule) in (patch.notifications ?? []).enumerated() {
            let field = "notifications[\(index)]"
            guard !rule.to.isEmpty else {
                throw .invalidSetting(field: "\(field).to", reason: "needs a recipient")
            }
            guard !rule.subjectTemplate.isEmpty, !rule.bodyTemplate.isEmpty else {
                throw .invalidSetting(field: field, reason: "subject and body templates must not be empty")
            }
            for address in rule.bcc where !isEmail(address) {
                throw .invalidSetting(
                    field: "\(field).bcc", reason: "'\(address)' is not an e-mail address")
            }
        }
        if let roles = patch.defaultHandlerRoles {
            guard !roles.isEmpty, roles.allSatisfy(\.isValid) else {
                throw .invalidSetting(field: "defaultHandlerRoles", reason: "needs at least one valid role")
            }
        }
        return [.settingsChanged(patch)]
    }

    static func validDigest(_ digest: DigestPatch) throws(DomainError) {
        if let time = digest.time, !isTimeOfDay(time) {
            throw .invalidSetting(field: "digest.time", reason: "use HH:MM")
        }
        if let subject = digest.subjectTemplate, subject.trimmingCharacters(in: .whitespaces).isEmpty {
            throw .invalidSetting(field: "digest.subjectTemplate", reason: "must not be empty")
        }
        if let body = digest.bodyTemplate, body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw .invalidSetting(field: "digest.bodyTemplate", reason: "must not be empty")
        }
        if let audience = digest.audience {
            let sides = DigestAudience.allCases.map(\.rawValue)
            guard !audience.isEmpty, audience.allSatisfy(sides.contains), Set(audience).count == audience.count else {
                throw .invalidSetting(
                    field: "digest.audience",
                    reason:
                        "name each of \(sides.joined(separator: ", ")) at most once, at least one (enabled: false sends none)"
                )
            }
        }
    }

    static func validDisplayPolicy(_ policy: DisplayPolicy, field: String) throws(DomainError) {
        switch policy.mode {
        case .custom:
            guard let text = policy.text, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw .invalidSetting(field: field, reason: "custom mode needs a text")
            }
        case .none, .workgroup, .fullName:
            break
        }
    }

    static func isTimeOfDay(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let hours = Int(parts[0]),
            let minutes = Int(parts[1])
        else { return false }
        return (0...23).contains(hours) && (0...59).contains(minutes)
    }
}

/// The elements in first-seen order without repeats.
func unique<T: Hashable>(_ items: [T]) -> [T] {
    var seen = Set<T>()
    return items.filter { seen.insert($0).inserted }
}

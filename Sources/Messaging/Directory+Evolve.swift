import Foundation

extension Directory {
    /// Folds one recorded event in. Never fails: events that do not concern the directory, or that
    /// name something unknown (which the deciders prevent), leave it as it was.
    public static func evolve(_ state: Directory, _ recorded: Recorded<Event>) -> Directory {
        var directory = state
        directory.position = max(directory.position, recorded.position)
        switch recorded.event {
        case .partyCreated(let e):
            directory.parties[e.id] = Party(id: e.id, name: e.name, kind: e.kind)
        case .userCreated(let e):
            directory.users[e.id] = User(
                id: e.id, name: e.name, email: e.email, party: e.party, roles: e.roles,
                tokenHash: e.tokenHash)
        case .serviceTokenCreated(let e):
            directory.services[e.id] = ServicePrincipal(id: e.id, name: e.name, tokenHash: e.tokenHash)
        case .userUpdated(let e):
            directory.users[e.id]?.name = e.name
            directory.users[e.id]?.email = e.email
            directory.users[e.id]?.roles = e.roles
        case .userDeactivated(let e):
            directory.users[e.id]?.active = false
            directory.tokenRevision += 1
        case .userTokenReplaced(let e):
            directory.users[e.id]?.tokenHash = e.tokenHash
            directory.tokenRevision += 1
        case .serviceTokenRevoked(let e):
            directory.services[e.id] = nil
            directory.tokenRevision += 1
        case .structureCreated(let e):
            directory.structures[e.id] = Structure(
                id: e.id, name: e.name, party: e.party, shareHistory: e.shareHistory, members: [:])
        case .structureMemberAdded(let e):
            // A repeated add keeps the first join position: visibility must not shrink.
            if directory.structures[e.structure]?.members[e.user] == nil {
                directory.structures[e.structure]?.members[e.user] = recorded.position
            }
        case .structureMemberRemoved(let e):
            directory.structures[e.structure]?.members[e.user] = nil
        case .categoryCreated(let e):
            directory.categories[e.id] = Category(
                id: e.id, name: e.name, handlerRoles: e.handlerRoles, structures: e.structures,
                defaultRecipients: e.defaultRecipients)
        case .settingsChanged(let patch):
            directory.settings = directory.settings.applying(patch)
        case .categoryRetentionSet(let e):
            directory.categories[e.category]?.retentionDays = e.days
        case .subjectDeclared(let e):
            directory.subjects[e.subject] = SubjectBinding(parties: e.parties, structures: e.structures)
        case .threadOpened, .subjectClaimed, .ticketNumbered, .messagePosted, .readMarkerMoved,
            .handlerAssigned,
            .threadStatusChanged, .threadBlocked, .threadUnblocked, .messageKindChanged, .legalHoldPlaced, .legalHoldReleased,
            .threadPurged, .digestScheduled, .digestSent, .blobUploaded, .threadAttributesChanged, .notePosted:
            break
        }
        return directory
    }

    /// The directory after `records`, in log order.
    public static func fold(
        _ records: some Sequence<Recorded<Event>>, from initial: Directory = Directory()
    )
        -> Directory
    {
        records.reduce(initial, evolve)
    }
}

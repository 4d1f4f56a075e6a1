import Messaging

/// Who may see a thread, computed from a few candidates instead of every user: participants, members of
/// its structures and the internal holders of its handler roles, each checked with `Access`.
public struct Audience: Sendable {
    /// Internal users by role, rebuilt when the directory changes.
    private var holders: [Role: [UserID]] = [:]

    public init(directory: Directory) {
        for user in directory.users.values where directory.isInternal(user.id) {
            for role in user.roles { holders[role, default: []].append(user.id) }
        }
    }

    public func users(of thread: ThreadState, in directory: Directory) -> [UserID] {
        // A purged thread leaves every inbox; only its audit trail remains.
        guard !thread.isPurged else { return [] }
        var candidates = Set(thread.participants)
        candidates.insert(thread.openedBy)
        for structure in thread.structures {
            if let members = directory.structures[structure]?.members.keys { candidates.formUnion(members) }
        }
        for role in Access.handlerRoles(of: thread, in: directory) {
            candidates.formUnion(holders[role] ?? [])
        }
        return candidates.filter { Access.canRead($0, thread, directory) }.sorted()
    }
}

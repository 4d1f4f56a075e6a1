import Messaging

/// Who may see a thread, computed from a few candidates instead of every user: participants, members of
/// its structures and the internal holders of its handler roles, each checked with `Access`.
public struct Audience: Sendable {
    /// Internal users by role, rebuilt when the directory changes.
    private var holders: [Role: [UserID]] = [:]
    /// Users by party, for the parties declared subjects belong to.
    private var partyUsers: [PartyID: [UserID]] = [:]

    public init(directory: Directory) {
        let bound = Set(directory.subjects.values.flatMap(\.parties))
        for user in directory.users.values {
            if bound.contains(user.party) { partyUsers[user.party, default: []].append(user.id) }
            guard directory.isInternal(user.id) else { continue }
            for role in user.roles { holders[role, default: []].append(user.id) }
        }
    }

    public func users(of thread: ThreadState, in directory: Directory) -> [UserID] {
        // A purged thread leaves every inbox; only its audit trail remains.
        guard !thread.isPurged else { return [] }
        // A handful of candidates: gathered in an array and sorted, so repeats end up side by side and
        // no identifier is hashed.
        var candidates = thread.participants
        candidates.append(thread.openedBy)
        let binding = directory.subjects[thread.subject]
        for structure in thread.structures + (binding?.structures ?? []) {
            if let members = directory.structures[structure]?.members.keys { candidates.append(contentsOf: members) }
        }
        for party in binding?.parties ?? [] { candidates.append(contentsOf: partyUsers[party] ?? []) }
        for role in Access.handlerRoles(of: thread, in: directory) {
            candidates.append(contentsOf: holders[role] ?? [])
        }
        candidates.sort()
        var users: [UserID] = []
        users.reserveCapacity(candidates.count)
        for (index, user) in candidates.enumerated() where index == 0 || candidates[index - 1] != user {
            if Access.canRead(user, thread, directory) { users.append(user) }
        }
        return users
    }
}

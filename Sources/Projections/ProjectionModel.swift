import Messaging

/// The state the projectors keep while they read the log: the directory and the threads touched so
/// far, and what changed since the last flush. Pure: it neither reads nor writes storage; the runner
/// loads threads it does not hold and writes the rows `flush` describes.
public struct ProjectionModel: Sendable {
    public private(set) var directory = Directory()
    public private(set) var position: UInt64 = 0
    public private(set) var audience = Audience(directory: Directory())
    public var threads: [ThreadID: ThreadState] = [:]
    /// How many of each cached thread's messages the views already hold (new messages are appended; a message whose kind changed is written again, see `changedMessages`).
    public var persistedMessages: [ThreadID: Int] = [:]
    /// Messages the views already hold that changed since (their kind): rewritten at the next flush.
    public var changedMessages: [ThreadID: Set<Int>] = [:]
    /// The unread counts of the cached threads' inbox rows, by thread and user, extended as they grow.
    public var unreadTallies: [ThreadID: [UserID: Access.UnreadTally]] = [:]
    /// Threads whose rows must be rewritten.
    public private(set) var dirty: Set<ThreadID> = []
    /// Directory changes that may change who sees existing threads: the runner adds their threads
    /// (from the fan-out tables) to `dirty` before flushing.
    public private(set) var fanOut: [FanOut] = []

    public enum FanOut: Sendable, Hashable {
        case structure(StructureID)
        case category(CategoryID?)
        case subject(Subject)
        /// Threads opened with the role among their extra handler roles.
        case role(Role)
    }

    public init(directory: Directory = Directory(), position: UInt64 = 0) {
        self.directory = directory
        self.position = position
        self.audience = Audience(directory: directory)
    }

    /// The thread an event belongs to, when it is a thread event.
    public static func thread(of event: Event) -> ThreadID? { event.threadID }

    /// Applies one event. A thread event needs its thread loaded in `threads` first (or absent when new).
    /// Applying an event at or before a thread's last position does nothing, so replays overlap safely.
    public mutating func apply(_ recorded: Recorded<Event>) {
        defer { position = max(position, recorded.position) }
        if let id = Self.thread(of: recorded.event) {
            if let last = threads[id]?.lastPosition, recorded.position <= last { return }
            // Removed before evolving so the state is uniquely owned and grows in place.
            threads[id] = ThreadState.evolve(threads.removeValue(forKey: id), recorded)
            if case .messageKindChanged(let e) = recorded.event { changedMessages[id, default: []].insert(e.number) }
            dirty.insert(id)
            return
        }
        guard recorded.event.type.isDirectory else { return }
        let rolesBefore: [Role] = if case .userUpdated(let e) = recorded.event { directory.users[e.id]?.roles ?? [] } else { [] }
        directory = Directory.evolve(directory, recorded)
        switch recorded.event {
        case .structureMemberAdded(let e): fanOut(joiningOrLeaving: e.structure)
        case .structureMemberRemoved(let e): fanOut(joiningOrLeaving: e.structure)
        case .userCreated(let e):
            // A new holder of a handler role sees the threads routed to that role.
            for category in directory.categories.values where !Set(category.handlerRoles).isDisjoint(with: e.roles) {
                fanOut.append(.category(category.id))
            }
            if !Set(directory.settings.defaultHandlerRoles).isDisjoint(with: e.roles) { fanOut.append(.category(nil)) }
            if directory.isInternal(e.id) { fanOut.append(contentsOf: Set(e.roles).sorted().map(FanOut.role)) }
            // A new user of a party that subjects belong to sees those subjects' threads.
            for (subject, binding) in directory.subjects where binding.parties.contains(e.party) {
                fanOut.append(.subject(subject))
            }
        case .subjectDeclared(let e):
            fanOut.append(.subject(e.subject))
        case .userUpdated(let e) where Set(rolesBefore) != Set(e.roles):
            // Roles gained or lost change which routed threads the user handles, and so sees.
            let changed = Set(rolesBefore).symmetricDifference(e.roles)
            for category in directory.categories.values where !changed.isDisjoint(with: category.handlerRoles) {
                fanOut.append(.category(category.id))
            }
            if !changed.isDisjoint(with: directory.settings.defaultHandlerRoles) { fanOut.append(.category(nil)) }
            fanOut.append(contentsOf: changed.sorted().map(FanOut.role))
        case .settingsChanged:
            // The default handler roles may have changed: uncategorized threads change hands.
            fanOut.append(.category(nil))
        case .partyCreated, .serviceTokenCreated, .userTokenReplaced, .serviceTokenRevoked, .userUpdated, .userDeactivated,
            .structureCreated, .categoryCreated, .threadOpened,
            .messagePosted, .readMarkerMoved, .handlerAssigned, .threadStatusChanged, .threadBlocked,
            .threadUnblocked, .messageKindChanged, .subjectClaimed, .ticketNumbered, .categoryRetentionSet, .legalHoldPlaced,
            .legalHoldReleased, .threadPurged, .digestScheduled, .digestSent, .blobUploaded,
            .threadAttributesChanged, .notePosted:
            break
        }
        audience = Audience(directory: directory)
    }

    /// A member who joins or leaves a structure changes who sees its threads: those naming it, and
    /// those of the subjects declared with it.
    private mutating func fanOut(joiningOrLeaving structure: StructureID) {
        fanOut.append(.structure(structure))
        for (subject, binding) in directory.subjects where binding.structures.contains(structure) {
            fanOut.append(.subject(subject))
        }
    }

    public mutating func markDirty(_ thread: ThreadID) { dirty.insert(thread) }

    /// Takes the pending work: the dirty threads and the fan-outs still to resolve.
    public mutating func takeChanges() -> (dirty: Set<ThreadID>, fanOut: [FanOut]) {
        defer {
            dirty.removeAll(keepingCapacity: true)
            fanOut.removeAll(keepingCapacity: true)
        }
        return (dirty, fanOut)
    }

    /// Forgets cached threads (they reload from the threads view); keeps the directory.
    public mutating func evictThreads() {
        threads.removeAll(keepingCapacity: true)
        persistedMessages.removeAll(keepingCapacity: true)
        changedMessages.removeAll(keepingCapacity: true)
        unreadTallies.removeAll(keepingCapacity: true)
    }
}

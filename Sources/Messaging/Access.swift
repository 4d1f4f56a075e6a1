import Foundation

/// From where a user may see a thread's messages.
public enum Visibility: Sendable, Hashable {
    /// The user may not see the thread at all; it must look as if it did not exist.
    case hidden
    /// Messages recorded at or after this log position (a structure member who joined late).
    case from(position: UInt64)
    /// The whole thread.
    case everything

    public func includes(position: UInt64) -> Bool {
        switch self {
        case .hidden: false
        case .from(let start): position >= start
        case .everything: true
        }
    }

    /// The wider of two grants.
    func union(_ other: Visibility) -> Visibility {
        switch (self, other) {
        case (.everything, _), (_, .everything): .everything
        case (.hidden, let grant), (let grant, .hidden): grant
        case (.from(let a), .from(let b)): .from(position: min(a, b))
        }
    }
}

/// Someone who can see a thread, as listed on it.
public struct Contact: Sendable, Hashable {
    public var user: UserID
    public var name: String
    public var party: PartyID
    public var partyName: String
    public var isInternal: Bool

    public init(user: UserID, name: String, party: PartyID, partyName: String, isInternal: Bool) {
        self.user = user
        self.name = name
        self.party = party
        self.partyName = partyName
        self.isInternal = isInternal
    }
}

/// How an author is shown to a reader.
public struct AuthorDisplay: Sendable, Hashable {
    /// `nil` when the display policy hides who wrote the message.
    public var id: UserID?
    /// `nil` when the policy shows nothing at all.
    public var name: String?

    public init(id: UserID?, name: String?) {
        self.id = id
        self.name = name
    }
}

/// Who may see and do what. Pure functions of the thread and the directory: the directory folded up
/// to a log position answers as of that position.
public enum Access {
    /// The roles whose internal holders handle the thread: its category's, else the defaults, and the
    /// roles added to it when it was opened.
    public static func handlerRoles(of thread: ThreadState, in directory: Directory) -> [Role] {
        var roles = directory.settings.defaultHandlerRoles
        if let category = thread.category, let found = directory.categories[category] { roles = found.handlerRoles }
        for role in thread.roles where !roles.contains(role) { roles.append(role) }
        return roles
    }

    /// An internal user holding one of the thread's handler roles.
    public static func isHandler(_ user: UserID, of thread: ThreadState, in directory: Directory)
        -> Bool
    {
        guard directory.isInternal(user), let roles = directory.users[user]?.roles else { return false }
        let handlerRoles = handlerRoles(of: thread, in: directory)
        return roles.contains { handlerRoles.contains($0) }
    }

    public static func visibility(of thread: ThreadState, for user: UserID, in directory: Directory)
        -> Visibility
    {
        guard directory.users[user] != nil else { return .hidden }
        if thread.participants.contains(user) || isHandler(user, of: thread, in: directory) {
            return .everything
        }
        let binding = directory.subjects[thread.subject]
        if let binding, let party = directory.users[user]?.party, binding.parties.contains(party) { return .everything }
        var grant = Visibility.hidden
        for structureID in thread.structures + (binding?.structures ?? []) {
            guard let structure = directory.structures[structureID], let joined = structure.members[user]
            else {
                continue
            }
            grant = grant.union(structure.shareHistory ? .everything : .from(position: joined))
        }
        return grant
    }

    /// Whether the user may see the thread; with `atPosition`, whether they may see what was recorded
    /// on it at that log position.
    public static func canRead(
        _ user: UserID, _ thread: ThreadState, _ directory: Directory,
        atPosition position: UInt64? = nil
    ) -> Bool {
        let visibility = visibility(of: thread, for: user, in: directory)
        guard let position else { return visibility != .hidden }
        return visibility.includes(position: position)
    }

    /// Whether the user may open a thread on the subject: the internal side always; on a declared
    /// subject also the users of its parties and the members of its structures; on an undeclared
    /// subject of a one-thread-per-subject kind nobody else. Depends on the subject alone, never on
    /// whether it has a thread, so a refusal reveals nothing.
    public static func mayOpen(_ subject: Subject, rule: SubjectRule, user: UserID, in directory: Directory) -> Bool {
        if directory.isInternal(user) { return true }
        guard let binding = directory.subjects[subject] else {
            if case .onePerSubject = rule { return false }
            return true
        }
        if let party = directory.users[user]?.party, binding.parties.contains(party) { return true }
        return binding.structures.contains { directory.structures[$0]?.members[user] != nil }
    }

    /// Whether the user may post now; status rules (closed, resolved) are the decider's.
    public static func canWrite(
        _ user: UserID, _ thread: ThreadState, _ directory: Directory,
        atPosition position: UInt64? = nil
    ) -> Bool {
        canRead(user, thread, directory, atPosition: position)
            && (!thread.blocked || directory.isInternal(user))
    }

    /// The messages the user may see, in order.
    public static func visibleMessages(
        of thread: ThreadState, for user: UserID, in directory: Directory
    )
        -> [PostedMessage]
    {
        let visibility = visibility(of: thread, for: user, in: directory)
        return thread.messages.filter { visibility.includes(position: $0.position) }
    }

    /// How many of the thread's messages the user may see (a late structure member: those from their
    /// joining on).
    public static func visibleMessageCount(of thread: ThreadState, for user: UserID, in directory: Directory) -> Int {
        let visible = visibility(of: thread, for: user, in: directory)
        if visible == .everything { return thread.messageCount }
        return thread.messages.reduce(0) { $0 + (visible.includes(position: $1.position) ? 1 : 0) }
    }

    /// "Answered by customer": the outside party answered the thread while it waited on them, and no
    /// handler has acted since (an action clears `answeredAtPosition`; an internal answer after the
    /// outside one counts as acting).
    public static func answeredByCustomer(_ thread: ThreadState, in directory: Directory) -> Bool {
        guard let answered = thread.answeredAtPosition else { return false }
        for message in thread.messages.reversed() {
            guard message.position > answered else { break }
            if directory.isInternal(message.author) { return false }
        }
        return true
    }

    /// Visible messages after the user's read marker, written by others.
    public static func unreadCount(of thread: ThreadState, for user: UserID, in directory: Directory)
        -> Int
    {
        unreadTail(
            of: thread.messages[...], marker: thread.readMarker(of: user),
            visibility: visibility(of: thread, for: user, in: directory), for: user)
    }

    /// Messages are in number and position order: the unread ones are a tail (of the thread, and so of
    /// any slice that ends with it), counted from the end without copying any.
    private static func unreadTail(
        of messages: ArraySlice<PostedMessage>, marker: Int, visibility: Visibility, for user: UserID
    ) -> Int {
        var count = 0
        var index = messages.endIndex
        while index > messages.startIndex {
            index -= 1
            guard messages[index].number > marker, visibility.includes(position: messages[index].position) else { break }
            if messages[index].author != user { count += 1 }
        }
        return count
    }

    /// An unread count with what it was counted from, so that a later count of the same thread only
    /// looks at the messages added since.
    public struct UnreadTally: Sendable, Hashable {
        public var count: Int
        var marker: Int
        var visibility: Visibility
        /// How many messages the thread had, and the number of the last of them.
        var counted: Int
        var lastNumber: Int
    }

    /// `unreadCount`, extending `previous` (a tally of the same thread for the same user) when the
    /// user's marker and visibility are unchanged and the thread only grew since; counting again
    /// otherwise.
    public static func unreadTally(
        of thread: ThreadState, for user: UserID, in directory: Directory, extending previous: UnreadTally?
    ) -> UnreadTally {
        let marker = thread.readMarker(of: user)
        let visibility = visibility(of: thread, for: user, in: directory)
        let messages = thread.messages
        var tally = UnreadTally(
            count: 0, marker: marker, visibility: visibility, counted: messages.count, lastNumber: messages.last?.number ?? 0)
        if let previous, previous.marker == marker, previous.visibility == visibility, previous.counted <= messages.count,
            previous.counted == 0 || messages[previous.counted - 1].number == previous.lastNumber
        {
            // The added messages' unread tail (if it stops short of them, no earlier message counted).
            tally.count =
                previous.count
                + unreadTail(of: messages[previous.counted...], marker: marker, visibility: visibility, for: user)
        } else {
            tally.count = unreadTail(of: messages[...], marker: marker, visibility: visibility, for: user)
        }
        return tally
    }

    /// Everyone who can see the thread, internal and external, in id order.
    public static func contacts(of thread: ThreadState, in directory: Directory) -> [Contact] {
        directory.users.values
            .filter { visibility(of: thread, for: $0.id, in: directory) != .hidden }
            .sorted { $0.id < $1.id }
            .map { user in
                let party = directory.parties[user.party]
                return Contact(
                    user: user.id, name: user.name, party: user.party,
                    partyName: party?.name ?? user.party.rawValue,
                    isInternal: party?.kind == .internal)
            }
    }

    /// Whether `reader` may learn who `user` is (id and name): always, except for an internal user
    /// shown to an outside reader whose party's display policy is not `fullName`.
    public static func revealsIdentity(of user: UserID, to reader: UserID, in directory: Directory) -> Bool {
        guard user != reader, directory.isInternal(user), !directory.isInternal(reader),
            let readerParty = directory.users[reader]?.party
        else { return true }
        return directory.settings.displayPolicy(forReaderOf: readerParty).mode == .fullName
    }

    /// `user` if `reader` may learn who they are, else `nil`.
    public static func shown(_ user: UserID?, to reader: UserID, in directory: Directory) -> UserID? {
        guard let user, revealsIdentity(of: user, to: reader, in: directory) else { return nil }
        return user
    }

    /// The contacts of the thread as `reader` may see them: internal users hidden by the display
    /// policy appear as the policy shows authors (workgroup or custom text, without id, each name
    /// once) or not at all (`none`).
    public static func contacts(of thread: ThreadState, for reader: UserID, in directory: Directory) -> [(
        contact: Contact, display: AuthorDisplay
    )] {
        var out: [(contact: Contact, display: AuthorDisplay)] = []
        var maskedNames = Set<String>()
        for contact in contacts(of: thread, in: directory) {
            let display = authorDisplay(author: contact.user, reader: reader, thread: thread, in: directory)
            if display.id == nil {
                guard let name = display.name, maskedNames.insert(name).inserted else { continue }
            }
            out.append((contact, display))
        }
        return out
    }

    /// What `reader` sees as the author of a message by `author`. Outside readers see an internal
    /// author through the display policy of their party; everyone else sees the author as is.
    public static func authorDisplay(
        author: UserID, reader: UserID, thread: ThreadState, in directory: Directory
    ) -> AuthorDisplay {
        authorDisplay(author: author, reader: reader, threadStructures: thread.structures, in: directory)
    }

    /// ``authorDisplay(author:reader:thread:in:)`` for a thread known by its structures only.
    public static func authorDisplay(
        author: UserID, reader: UserID, threadStructures: [StructureID], in directory: Directory
    ) -> AuthorDisplay {
        let authorName = directory.users[author]?.name ?? author.rawValue
        let asIs = AuthorDisplay(id: author, name: authorName)
        guard author != reader, directory.isInternal(author), !directory.isInternal(reader),
            let readerParty = directory.users[reader]?.party
        else { return asIs }
        let policy = directory.settings.displayPolicy(forReaderOf: readerParty)
        switch policy.mode {
        case .none:
            return AuthorDisplay(id: nil, name: nil)
        case .workgroup:
            return AuthorDisplay(id: nil, name: workgroupName(of: author, threadStructures: threadStructures, in: directory))
        case .fullName:
            return asIs
        case .custom:
            return AuthorDisplay(id: nil, name: policy.text ?? "")
        }
    }

    /// The author's structure on the thread, else their first structure, else their party.
    static func workgroupName(of author: UserID, threadStructures: [StructureID], in directory: Directory)
        -> String
    {
        let own = directory.structures(of: author)
        if let onThread = own.first(where: { threadStructures.contains($0.id) }) {
            return onThread.name
        }
        if let first = own.first { return first.name }
        let party = directory.users[author]?.party
        return party.flatMap { directory.parties[$0]?.name } ?? ""
    }
}

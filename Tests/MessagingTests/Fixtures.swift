import Messaging

/// A small deployment: an operator with handlers, a client company with a circle, a subcontractor.
enum World {
    static let hash = String(repeating: "ab", count: 32)

    static let op: PartyID = "op"
    static let acme: PartyID = "acme"
    static let sub: PartyID = "sub"

    static let handler: UserID = "h1"
    static let handler2: UserID = "h2"
    static let supervisor: UserID = "sup"
    static let payroll: UserID = "pay"
    static let client: UserID = "c1"
    static let client2: UserID = "c2"
    static let subcontractor: UserID = "s1"

    static let circle: StructureID = "acme-circle"
    static let payrollCategory: CategoryID = "payroll"
    static let thread: ThreadID = "t1"

    static func user(_ id: UserID, _ name: String, _ party: PartyID, _ roles: [Role]) -> Event {
        .userCreated(
            UserCreated(
                id: id, name: name, email: "\(id)@example.com", party: party, roles: roles, tokenHash: hash)
        )
    }

    static let directory: [Event] = [
        .partyCreated(PartyCreated(id: op, name: "Operator", kind: .internal)),
        .partyCreated(PartyCreated(id: acme, name: "Acme Supplies", kind: .external)),
        .partyCreated(PartyCreated(id: sub, name: "Subco", kind: .external)),
        user(handler, "Hanna Handler", op, [.handler]),
        user(handler2, "Hugo Handler", op, [.handler]),
        user(supervisor, "Sue Supervisor", op, ["supervisor"]),
        user(payroll, "Paul Payroll", op, ["payroll"]),
        user(client, "Clara Client", acme, ["client"]),
        user(client2, "Carl Client", acme, ["client"]),
        user(subcontractor, "Sam Sub", sub, ["supplier"]),
        .structureCreated(
            StructureCreated(id: circle, name: "Acme circle", party: acme, shareHistory: false)),
        .structureMemberAdded(StructureMemberAdded(structure: circle, user: client)),
        .categoryCreated(
            CategoryCreated(
                id: payrollCategory, name: "Payroll", handlerRoles: ["payroll"], structures: [],
                defaultRecipients: [supervisor])),
    ]

    /// A request thread opened by the client, shared with their circle, with one message.
    static let opened: [Event] = [
        .threadOpened(
            ThreadOpened(
                thread: thread, subject: Subject(kind: "request", ref: "D-1187"), title: "Invoice question",
                category: nil, priority: .normal, type: .message, importance: .normal, openedBy: client,
                participants: [client], structures: [circle])),
        .messagePosted(MessagePosted(thread: thread, number: 1, author: client, text: "Hello")),
    ]

    static func status(
        _ from: ThreadStatus, _ to: ThreadStatus, _ reason: StatusChangeReason = .requested
    ) -> Event {
        .threadStatusChanged(ThreadStatusChanged(thread: thread, from: from, to: to, reason: reason))
    }

    static func post(_ number: Int, by author: UserID, _ text: String = "Text") -> Event {
        .messagePosted(MessagePosted(thread: thread, number: number, author: author, text: text))
    }

    static func message(_ text: String) -> NewMessage { NewMessage(text: text) }
}

import Messaging

/// What the inbox's filters offer a reader: the categories; the handlers, to internal readers only
/// (outside readers see handlers only as the display policy shows them); and the parties a thread
/// can be opened by: all of them for an internal reader, else the reader's own and the operator's.
struct InboxChoices {
    let directory: Directory
    let categories: [CategoryID]
    let handlers: [UserID]
    let parties: [PartyID]

    init(_ directory: Directory, reader: UserID) {
        self.directory = directory
        categories = directory.categories.values.sorted { ($0.name, $0.id) < ($1.name, $1.id) }.map(\.id)
        let internalReader = directory.isInternal(reader)
        handlers =
            internalReader
            ? directory.users.values.filter { $0.active && directory.isInternal($0.id) }
                .sorted { ($0.name, $0.id) < ($1.name, $1.id) }.map(\.id) : []
        let own = directory.users[reader]?.party
        parties = directory.parties.values.filter { internalReader || $0.kind == .internal || $0.id == own }
            .sorted { ($0.name, $0.id) < ($1.name, $1.id) }.map(\.id)
    }

    func categoryOptions(selected: String?) -> [[String: Any]] {
        categories.map { id in
            [
                "value": id.rawValue, "label": directory.categories[id]?.name ?? id.rawValue,
                "selected": id.rawValue == selected,
            ] as [String: Any]
        }
    }

    func handlerOptions(selected: String?) -> [[String: Any]] {
        handlers.map { id in
            [
                "value": id.rawValue, "label": directory.users[id]?.name ?? id.rawValue,
                "selected": id.rawValue == selected,
            ] as [String: Any]
        }
    }

    func partyOptions(selected: String?) -> [[String: Any]] {
        parties.map { id in
            [
                "value": id.rawValue, "label": directory.parties[id]?.name ?? id.rawValue,
                "selected": id.rawValue == selected,
            ] as [String: Any]
        }
    }
}
